"""pytest-benchmark suite (not in the default test run): `pytest benchmarks --benchmark-only`.

Each benchmark records, beside its timing, the achieved GFLOP/s as a percentage of the
single-thread sgemm rate of the same shapes measured in the same run (extra_info), so results are
ratios, comparable across machines; nothing here asserts a time.
"""

import pytest
import torch

from gr_bench.bench import forward_flops, linear_shapes, sgemm_gflops, train_flops
from gr_bench.models import build_classifier, build_vae
from gr_bench.optim import make_optimizer

BATCH = 64


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _record(benchmark, flops_per_call: float, shapes, batch: int) -> None:
    """Achieved GFLOP/s of the benchmarked call beside same-shape single-thread sgemm."""
    sgemm = sgemm_gflops(shapes, batch)
    gflops = flops_per_call / benchmark.stats["mean"] / 1e9
    benchmark.extra_info.update(sgemm_gflops=sgemm, gflops=gflops, pct_of_sgemm=100 * gflops / sgemm)


def _train_step(model, loss_fn, x):
    opt = make_optimizer("adam", model, 1e-3)

    def step():
        loss = loss_fn(model, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


@pytest.mark.parametrize("batch", [64, 128])
def test_vae_train_step(benchmark, batch):
    torch.manual_seed(0)
    vae = build_vae(input_dim=784, hidden=(512, 256), latent=2)
    x = torch.rand(batch, 784)
    step = _train_step(vae, lambda m, xb: m.loss(xb), x)
    benchmark(step)
    _record(benchmark, batch * train_flops(vae), linear_shapes(vae), batch)


def test_classifier_train_step(benchmark):
    torch.manual_seed(0)
    clf = build_classifier(input_dim=784, hidden=(50, 50, 50), n_outputs=10)
    x, y = torch.rand(BATCH, 784), torch.randint(0, 10, (BATCH,))
    step = _train_step(clf, lambda m, xb: torch.nn.functional.cross_entropy(m(xb), y), x)
    benchmark(step)
    _record(benchmark, BATCH * train_flops(clf), linear_shapes(clf), BATCH)


def test_replay_generation(benchmark):
    torch.manual_seed(0)
    vae = build_vae(input_dim=784, hidden=(512, 256), latent=2)
    clf = build_classifier(input_dim=784, hidden=(50, 50, 50), n_outputs=10)
    g = torch.Generator().manual_seed(0)

    def generate():
        x, _ = vae.sample(4096, g)
        with torch.no_grad():
            clf(x).argmax(1)

    benchmark(generate)
    _record(benchmark, 4096 * (forward_flops(vae.decoder) + forward_flops(clf)), linear_shapes(vae.decoder), 4096)
