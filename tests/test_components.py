"""The issue-7 components: generators (cvae, gmm, rtf), label modes, per-batch replay, and their
memory accounting. Real runs on sklearn's digits (seconds each), no mocks."""

import pytest
import torch

from gr_bench.config import ConfigError, RunConfig, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.models import (
    ClassGaussians,
    ReplayThroughFeedback,
    build_vae,
    check_generator,
    generator_memory,
    n_params,
    replay_labels,
)
from gr_bench.models.gaussian import gmm_floats
from gr_bench.trainer import PHASES, PhaseTimer, run

SMALL = ["epochs=2", "vae_epochs=2", "vae_hidden=32,16", "schedule=linear:200"]


@pytest.fixture(scope="module")
def digits():
    return make_benchmark(load_dataset("digits"))


def cfg(*pairs: str) -> RunConfig:
    return with_overrides(RunConfig(), [*SMALL, *pairs])


def test_conditional_vae_adds_the_one_hot_to_both_inputs():
    plain = build_vae(input_dim=784, hidden=(512, 256), latent=2)
    cvae = build_vae(input_dim=784, hidden=(512, 256), latent=2, n_classes=10)
    assert n_params(cvae) - n_params(plain) == 10 * 512 + 10 * 256  # first encoder and decoder layers
    seen = torch.zeros(10, dtype=torch.bool)
    seen[[3, 7]] = True
    x, y = cvae.sample(500, torch.Generator().manual_seed(0), seen)
    assert x.shape == (500, 784) and set(y.tolist()) == {3, 7}  # only classes seen so far
    assert torch.isfinite(cvae.loss(torch.rand(8, 784), torch.randint(10, (8,))))


def test_gaussian_mixture_fits_each_class_and_samples_it():
    g = torch.Generator().manual_seed(0)
    centres = torch.zeros(2, 20)
    centres[0, :10], centres[1, 10:] = 0.8, 0.8  # two classes on different pixels
    y = torch.arange(2).repeat_interleave(300)
    x = (centres[y] + 0.05 * torch.randn(600, 20, generator=g)).clamp(0, 1)
    gen = ClassGaussians(input_dim=20, pca_dim=5, components=2)
    gen.fit_task(x, y + 4, torch.Generator().manual_seed(1))  # labels 4 and 5
    xs, ys = gen.sample(1000, torch.Generator().manual_seed(2))
    assert set(ys.tolist()) == {4, 5} and xs.min() >= 0 and xs.max() <= 1
    for k in (0, 1):  # samples of each label sit at that class's centre
        assert (xs[ys == 4 + k].mean(0) - centres[k]).abs().max() < 0.05
    assert gen.memory_bytes() == 4 * 2 * gmm_floats(20, 5, 2)
    again, _ = gen.sample(1000, torch.Generator().manual_seed(2))
    assert torch.equal(xs, again)  # sampling is seeded by the run's generator only


def test_replay_through_feedback_is_one_model_that_classifies_and_generates():
    torch.manual_seed(0)
    m = ReplayThroughFeedback(64, (32, 16), 4, n_outputs=10)
    x = torch.rand(5, 64)
    logits, elbo = m.logits_and_elbo(x)
    assert logits.shape == (5, 10) and torch.equal(m(x), logits) and torch.isfinite(elbo)
    xs, ys = m.sample(9, torch.Generator().manual_seed(0))
    assert xs.shape == (9, 64) and ys is None


def test_label_modes_resolve_and_reject_impossible_combinations():
    assert replay_labels(RunConfig()) == "hard"  # the generator registry resolves labels=auto
    assert replay_labels(with_overrides(RunConfig(), ["generator=cvae"])) == "generator"
    assert replay_labels(with_overrides(RunConfig(), ["generator=gmm", "labels=soft"])) == "soft"
    with pytest.raises(ConfigError, match="conditional generator"):
        check_generator(with_overrides(RunConfig(), ["generator=vae", "labels=generator"]))
    with pytest.raises(ConfigError, match="replay_mode"):
        with_overrides(RunConfig(), ["replay_mode=sometimes"])


def test_memory_table_matches_what_runs_keep(digits):
    rows = {r["generator"]: r for r in generator_memory(RunConfig())}
    assert rows["vae"]["kept_bytes"] == 4_454_720 and rows["vae"]["images"] == 5682  # the seed's Table 1
    assert rows["vae"]["buffer_examples"] == 5667
    assert rows["cvae"]["classifier_copy_bytes"] == 0  # its own labels: no old classifier kept
    assert rows["gmm"]["kept_bytes"] < rows["vae"]["kept_bytes"] / 3
    small = cfg()
    table = {r["generator"]: r for r in generator_memory(small, input_dim=64, n_outputs=10, n_groups=10)}
    for name in ("vae", "cvae", "gmm", "rtf"):
        r = run(with_overrides(small, [f"generator={name}"]), digits)
        assert r.status == "ok", r.reason
        assert r.memory_bytes == table[name]["kept_bytes"], name  # gmm: all 10 classes once the last task is fitted


@pytest.mark.parametrize("combo", [["generator=cvae"], ["generator=gmm"], ["generator=rtf"],
                                   ["replay_mode=per-batch"], ["replay_mode=per-batch", "labels=soft"],
                                   ["generator=gmm", "replay_mode=per-batch"], ["strategy=buffer", "replay_mode=per-batch"]])
def test_every_component_runs_and_is_deterministic(digits, combo):
    a, b = run(cfg(*combo), digits), run(cfg(*combo), digits)
    assert a.status == "ok", a.reason
    assert a.accuracy == b.accuracy
    assert sum(a.times[p] for p in PHASES) <= a.times["total"] * 1.001


def test_per_batch_replay_draws_a_fresh_batch_every_step(digits):
    r = run(cfg("replay_mode=per-batch", "batch_size=32"), digits)
    own = sum(len(t.y_train) for t in digits.tasks)
    assert r.replay_sizes == [0] * 5  # no replay set: the replay is drawn inside the steps
    # task 0 has nothing to replay; every later step replays as many samples as its batch holds
    replayed = 2 * sum(len(t.y_train) for t in digits.tasks[1:])
    assert r.samples["classifier"] == 2 * own + replayed
    assert r.samples["generator"] == 2 * own + replayed
    assert r.times["replay"] > 0


def test_rtf_trains_no_separate_generator(digits):
    r = run(cfg("generator=rtf"), digits)
    assert r.samples["generator"] == 0 and r.times["generator"] == 0
    assert r.params["classifier"] == n_params(ReplayThroughFeedback(64, (32, 16), 2, 10))


def test_nested_phases_are_counted_once(monkeypatch):
    import gr_bench.trainer as trainer

    clock = iter([0.0, 2.0, 7.0, 8.0])  # enter classifier, enter replay, leave replay, leave classifier
    monkeypatch.setattr(trainer.time, "perf_counter", lambda: next(clock))
    timer = PhaseTimer()
    with timer("classifier"):
        with timer("replay"):
            pass
    assert timer.seconds == {"classifier": 3.0, "replay": 5.0}  # 2 s before + 1 s after the replay


def test_generator_batch_size_is_its_own_setting(digits):
    with pytest.raises(ConfigError, match="vae_batch_size"):
        with_overrides(RunConfig(), ["vae_batch_size=0"])
    assert with_overrides(RunConfig(), ["vae_batch_size=none"]).train.vae_batch_size is None
    same, bigger = run(cfg(), digits), run(cfg("vae_batch_size=256"), digits)
    assert bigger.status == "ok" and bigger.samples == same.samples  # same samples, fewer and larger steps
    assert bigger.accuracy != same.accuracy  # an algorithmic change: it is not an engine setting
