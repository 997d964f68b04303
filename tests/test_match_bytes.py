"""buffer_bytes=match-generator: a buffer holding, within one image, the bytes generative replay keeps."""

from __future__ import annotations

import pytest

from gr_bench.config import ConfigError, RunConfig, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.trainer import run

SHORT = {"iters": 3, "vae_iters": 3, "batch_size": 32}
SMALL_VAE = {"vae_hidden": (32, 16), "latent": 4}


def _pair(bench, extra: dict, ratio: str = "match-generator"):
    gen = run(with_overrides(RunConfig(), {**SHORT, **extra}), bench)
    buf = run(with_overrides(RunConfig(), {**SHORT, **extra, "strategy": "buffer", "buffer_bytes": ratio}), bench)
    return gen, buf


@pytest.mark.parametrize("extra", [SMALL_VAE, {"generator": "gmm", "pca_dim": 4, "gmm_components": 1},
                                   {**SMALL_VAE, "labels": "soft"}],
                         ids=["small-vae", "gmm", "small-vae-soft"])
def test_buffer_matches_generator_bytes_on_digits(extra):
    bench = make_benchmark(load_dataset("digits"))
    gen, buf = _pair(bench, extra)
    per_example = bench.input_dim + 2
    assert gen.generator_bytes == gen.memory_bytes and buf.generator_bytes == gen.memory_bytes
    assert 0 <= gen.memory_bytes - buf.memory_bytes < per_example


def test_ratio_and_the_cap_of_the_data_seen():
    bench = make_benchmark(load_dataset("digits"))
    gen, half = _pair(bench, SMALL_VAE, "match-generator:0.5")
    assert 0 <= gen.memory_bytes / 2 - half.memory_bytes < bench.input_dim + 2
    # The seed's VAE is larger than all of digits: the buffer keeps every example, and the row says so.
    seed_gen = run(with_overrides(RunConfig(), SHORT), bench)
    seed_buf = run(with_overrides(RunConfig(), {**SHORT, "strategy": "buffer", "buffer_bytes": "match-generator"}), bench)
    assert seed_buf.memory_bytes == sum(len(t.y_train) for t in bench.tasks) * (bench.input_dim + 2)
    assert seed_buf.generator_bytes == seed_gen.memory_bytes > seed_buf.memory_bytes


@pytest.mark.parametrize("extra", [{}, SMALL_VAE], ids=["seed-preset", "small-vae"])
def test_buffer_matches_generator_bytes_on_full_mnist(extra):
    try:
        ds = load_dataset("mnist", download=False)
    except Exception:
        pytest.skip("full MNIST not fetched (gr-bench datasets fetch mnist)")
    gen, buf = _pair(make_benchmark(ds), extra)
    assert 0 <= gen.memory_bytes - buf.memory_bytes < 786
    if not extra:
        assert gen.memory_bytes == 4_454_720 and buf.memory_bytes == 5_667 * 786  # the report's Table 1


@pytest.mark.parametrize("bad", ["match", "match-generator:", "match-generator:-1", "match-generator:x", "5000"])
def test_bad_buffer_bytes_is_refused(bad):
    with pytest.raises(ConfigError, match="buffer_bytes"):
        with_overrides(RunConfig(), [f"buffer_bytes={bad}"])
