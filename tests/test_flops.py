"""flops_train counts every model's training and every generator's sampling, a closed-form
generator's fits included (docs/methods.md, "What `flops_train` counts")."""

from __future__ import annotations

import pytest
import torch

from gr_bench.config import RunConfig, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.models import build_classifier, build_vae, classifier_for, forward_flops, train_flops
from gr_bench.models.gaussian import (
    HELDOUT_FRACTION,
    ClassGaussians,
    draw_flops,
    em_flops,
    fit_flops,
    score_flops,
    svd_flops,
)
from gr_bench.trainer import run

TINY = {"vae_hidden": (32, 16), "latent": 4, "batch_size": 32}


@pytest.fixture(scope="module")
def digits():
    return make_benchmark(load_dataset("digits"))


def test_gmm_formulas_on_hand_computed_numbers():
    assert svd_flops(10, 4) == 6 * 10 * 16 + 20 * 64 == 2240
    assert svd_flops(4, 10) == 2240  # the count of the tall orientation either way
    assert svd_flops(6000, 784) == 31_765_422_080  # a full MNIST class
    assert em_flops(100, 2, 3, 5) == 6 * (2 * 3 * 100 * 2) * 5 == 36_000  # (I + 1) 2 K n d (2 d + 1)
    assert em_flops(100, 2, 3, 0) == 6_000  # the k-means labels' M-step and the final E-step
    assert fit_flops(100, 8, 2, 3, 5) == (6 * 100 * 64 + 20 * 512) + 2 * 100 * 8 * 2 + 36_000 == 87_840
    assert score_flops(10, 8, 2, 3) == 320 + 320 + 3 * 10 * 4 == 760
    assert score_flops(10, 2, 2, 1) == 80 + 0 + 40 == 120  # d = D: no residual
    assert draw_flops(784, 32) == 2 * 32 * 32 + 2 * 784 * 32 == 52_224


def _recording(gen: ClassGaussians, calls: list):
    """Wrap the instance's EM fit to record (points, dims, components, sklearn's n_iter_)."""
    real = gen._mixture

    def mixture(z, k, seed):
        gm = real(z, k, seed)
        calls.append((z.shape[0], z.shape[1], k, gm.n_iter_))
        return gm

    gen._mixture = mixture


def test_fixed_fit_counts_svd_projection_and_the_em_iterations_sklearn_ran(digits):
    task = digits.tasks[0]
    x, y = task.x_train.float() / 255, task.y_train
    gen = ClassGaussians(64, 32, 3)
    calls = []
    _recording(gen, calls)
    gen.fit_task(x, y, torch.Generator().manual_seed(0))
    assert gen.em_iters == [c[3] for c in calls] and len(calls) == 2
    expected = 0
    for label, (n, d, k, iters) in zip(sorted(set(y.tolist())), calls):
        assert n == int((y == label).sum()) > 64 and (d, k) == (32, 3)
        expected += 6 * n * 64**2 + 20 * 64**3 + 2 * n * 64 * 32 + (iters + 1) * 2 * 3 * n * 32 * 65
    assert gen.flops == expected
    assert gen.sample_flops() == 2 * 32 * 32 + 2 * 64 * 32


def test_heldout_fit_counts_every_candidate_and_the_refit(digits):
    task = digits.tasks[0]
    label = int(task.y_train[0])
    x = task.x_train[task.y_train == label].float() / 255
    y = torch.full((len(x),), label)
    gen = ClassGaussians(64, 16, 2, select="heldout")
    calls = []
    _recording(gen, calls)
    gen.fit_task(x, y, torch.Generator().manual_seed(0))
    n = len(x)
    n_held = int(HELDOUT_FRACTION * n)
    n_fit = n - n_held
    *candidates, final = calls
    assert [(d, k) for _, d, k, _ in candidates] == [(8, 1), (8, 2), (16, 1), (16, 2)]
    assert all(c[0] == n_fit for c in candidates) and final[0] == n
    expected = 6 * n_fit * 64**2 + 20 * 64**3  # one SVD shared by the candidates
    for _, d, k, iters in candidates:
        expected += (2 * n_fit * 64 * d + (iters + 1) * 2 * k * n_fit * d * (2 * d + 1)
                     + 2 * n_held * 64 * d + 2 * n_held * 64 * d + k * n_held * d * d)
    _, d, k, iters = final
    expected += 6 * n * 64**2 + 20 * 64**3 + 2 * n * 64 * d + (iters + 1) * 2 * k * n * d * (2 * d + 1)
    assert gen.flops == expected and gen.em_iters == [iters]


def test_a_gmm_runs_flops_include_its_fits(digits):
    cfg = with_overrides(RunConfig(), {"generator": "gmm", "epochs": 1, "schedule": "constant:50"})
    r = run(cfg, digits)
    # the classifier 64-50-50-50-10: F = 2 (64*50 + 50*50 + 50*50 + 50*10) = 17,400, T = 3F - 2*64*50
    assert train_flops(build_classifier(input_dim=64, hidden=(50, 50, 50), n_outputs=10)) == 45_800
    training = r.samples["classifier"] * 45_800
    assert r.samples["generator"] == 0
    chosen, iters = r.generator_info["chosen"], r.generator_info["em_iters"]
    assert len(chosen) == len(iters) == 10 and all(1 <= i <= 100 for i in iters)
    fits, g = 0, 0
    for task in digits.tasks:
        for label in sorted(set(task.y_train.tolist())):
            n = int((task.y_train == label).sum())
            d, k = min(32, n - 1, 64), min(3, n // 2)
            assert chosen[g] == [label, d, k] and n > 64
            fits += 6 * n * 64**2 + 20 * 64**3 + 2 * n * 64 * d + (iters[g] + 1) * 2 * k * n * d * (2 * d + 1)
            g += 1
    replayed = sum(r.replay_sizes)
    assert replayed == 4 * 50
    sampling = replayed * (2 * 32 * 32 + 2 * 64 * 32)  # every class has d = 32
    assert r.flops_train == training + sampling + fits
    assert fits > training  # the fits are most of a gmm run's cost here


@pytest.mark.parametrize("generator", ["cvae", "rtf"])
def test_gradient_generators_count_training_and_sampling(digits, generator):
    cfg = with_overrides(RunConfig(), {**TINY, "generator": generator, "epochs": 1, "vae_epochs": 1,
                                       "schedule": "constant:50"})
    r = run(cfg, digits)
    replayed = sum(r.replay_sizes)
    assert replayed == 4 * 50
    model = classifier_for(cfg, input_dim=64, n_outputs=10)
    if generator == "rtf":  # one model: trained as a whole, samples decoded and labelled by itself
        assert r.samples["generator"] == 0
        per_sample = forward_flops(model.decoder) + forward_flops(model.encoder) + forward_flops(model.head)
        assert r.flops_train == r.samples["classifier"] * train_flops(model) + replayed * per_sample
    else:  # its own labels: decoding only, no old classifier
        cvae = build_vae(input_dim=64, hidden=(32, 16), latent=4, n_classes=10)
        assert r.samples["generator"] > 0
        assert r.flops_train == (r.samples["classifier"] * train_flops(model)
                                 + r.samples["generator"] * train_flops(cvae) + replayed * forward_flops(cvae.decoder))
