"""End-to-end runs on real data (the bundled MNIST subset and sklearn digits), no mocks."""

import math

import pytest
import torch

from gr_bench.config import RunConfig, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.result import RunResult
from gr_bench.strategies import BufferReplay
from gr_bench.trainer import run

QUICK = ["epochs=5", "vae_epochs=3", "schedule=linear:500"]


@pytest.fixture(scope="module")
def mnist5k():
    return make_benchmark(load_dataset("mnist-5k"))


@pytest.fixture(scope="module")
def digits():
    return make_benchmark(load_dataset("digits"))


def cfg(*pairs: str) -> RunConfig:
    return with_overrides(RunConfig(), [*QUICK, *pairs])


@pytest.fixture(scope="module")
def finals(mnist5k):
    """Final average accuracy per strategy, same seed (paired)."""
    out = {}
    for strategy in ("none", "joint", "buffer", "generative"):
        out[strategy] = run(cfg(f"strategy={strategy}", "buffer=1000"), mnist5k)
    return out


def test_sanity_floors_on_mnist5k(finals):
    acc = {k: r.metrics()["final_avg_acc"] for k, r in finals.items()}
    assert acc["none"] < 0.35, acc  # forgets: only the last task is remembered
    assert acc["joint"] > 0.85, acc
    assert acc["buffer"] >= acc["none"] + 0.25, acc
    assert acc["generative"] >= acc["none"] + 0.25, acc


def test_run_records_everything(finals):
    r = finals["generative"]
    T = 5
    assert len(r.accuracy) == T and all(len(row) == T for row in r.accuracy)
    assert len(r.curves) == T * 5 * T  # every task after every epoch of every task
    assert r.replay_sizes == [0, 500, 1000, 1500, 2000]
    assert r.train_sizes == [800 + n for n in r.replay_sizes]
    assert r.samples == {"classifier": 5 * sum(r.train_sizes), "generator": 3 * sum(r.train_sizes)}
    assert r.memory_bytes == (44_860 + 1_068_820) * 4
    assert r.times["generator"] > 0 and r.times["total"] >= sum(r.times[p] for p in ("generator", "replay", "classifier", "eval")) * 0.99
    assert r.peak_rss_bytes > 0 and r.peak_rss_method
    # the last epoch's curve values are the accuracy matrix
    last = {(t, j): a for t, e, j, a in r.curves if e == 5}
    assert all(last[(i, j)] == r.accuracy[i][j] for i in range(T) for j in range(T))
    row = r.summary_row()
    for col in ("strategy", "dataset", "scenario", "seed", "final_avg_acc", "avg_forgetting", "bwt", "fwt",
                "time_total_s", "time_generator_s", "time_replay_s", "time_classifier_s", "time_eval_s",
                "memory_bytes", "peak_rss_bytes", "lr", "schedule"):
        assert col in row
    assert row["dataset"] == "mnist-5k"
    assert finals["buffer"].memory_bytes == 1000 * (784 + 2)
    assert finals["none"].memory_bytes == 0


def test_result_round_trips_through_json(finals):
    import json

    r = finals["buffer"]
    back = RunResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.accuracy == r.accuracy and back.config == r.config and back.summary_row() == r.summary_row()


def test_same_seed_same_matrix(digits):
    c = with_overrides(RunConfig(), ["dataset=digits", "epochs=2", "vae_epochs=2", "vae_hidden=32,16",
                                     "schedule=constant:200", "labels=soft"])
    a, b = run(c, digits), run(c, digits)
    assert a.accuracy == b.accuracy and a.curves == b.curves
    other = run(with_overrides(c, ["seed=1"]), digits)
    assert other.accuracy != a.accuracy


@pytest.mark.parametrize("scenario", ["task", "domain"])
def test_other_scenarios(mnist5k, scenario):
    bench = make_benchmark(load_dataset("mnist-5k"), scenario=scenario)
    assert bench.n_outputs == (10 if scenario == "task" else 2)
    c = with_overrides(RunConfig(), ["epochs=5", "vae_epochs=2", "vae_hidden=128,64", "latent=8",
                                     "schedule=constant:500", f"scenario={scenario}"])
    for labels in ("hard", "soft"):
        r = run(with_overrides(c, [f"labels={labels}"]), bench)
        assert r.status == "ok"
        # each task is learnt as a 2-way problem (chance 0.5) right after training it
        assert min(r.accuracy[i][i] for i in range(5)) > 0.9, r.accuracy
        if scenario == "task":  # task identity given: far better than class-incremental's ~0.2 floor
            assert r.metrics()["final_avg_acc"] > 0.6, r.accuracy


def test_validation_split_is_used_for_tuning(digits):
    bench = make_benchmark(load_dataset("digits"), val_fraction=0.2)
    c = with_overrides(RunConfig(), ["strategy=none", "epochs=1"])
    assert run(c, bench, split="val").split == "val"
    from gr_bench.config import ConfigError

    with pytest.raises(ConfigError, match="val"):
        run(c, digits, split="val")


def test_divergence_ends_the_run_as_failed(digits):
    r = run(with_overrides(RunConfig(), ["epochs=2", "vae_epochs=1", "vae_lr=1e6", "vae_hidden=32,16",
                                         "optimizer=sgd", "schedule=constant:100"]), digits)
    assert r.status == "failed" and "generator, task" in r.reason
    assert math.isnan(r.metrics()["final_avg_acc"])


def test_buffer_class_balanced_and_reservoir(mnist5k):
    g = torch.Generator().manual_seed(0)
    buf = BufferReplay(capacity=1000, selection="class-balanced", input_dim=784)
    for t in mnist5k.tasks[:3]:
        buf.after_task(t, None, g)
    counts = torch.bincount(buf.y.long(), minlength=10)
    assert len(buf.y) == 1000 and counts[:6].tolist() == [167, 167, 167, 167, 166, 166]
    res = BufferReplay(capacity=1000, selection="reservoir", input_dim=784)
    for t in mnist5k.tasks:
        res.after_task(t, None, g)
    counts = torch.bincount(res.y.long(), minlength=10).float()
    assert len(res.y) == 1000 and res.n_seen == 4000
    assert counts.min() > 60 and counts.max() < 140  # each class ~100 (uniform over the stream)


def test_learning_rate_schedules_within_a_task():
    import torch

    from gr_bench.optim import SGD, within_task

    model = torch.nn.Linear(2, 2)
    # 2 epochs of 2 steps: the lr used at each of the task's 4 steps
    for kind, expected in (("cosine", [1.0, 0.854, 0.5, 0.146]), ("restarts", [1.0, 0.5, 1.0, 0.5])):
        opt = SGD(model.parameters(), lr=1.0)
        sched = within_task(kind, opt, steps_per_epoch=2, epochs=2)
        seen = []
        for _ in range(4):
            seen.append(round(opt.lr, 3))
            sched.step()
        assert seen == expected, (kind, seen)
    assert within_task("constant", SGD(model.parameters(), lr=1.0), 2, 2) is None


@pytest.mark.parametrize("schedule", ["cosine", "restarts"])
def test_runs_with_a_schedule_within_tasks(digits, schedule):
    r = run(with_overrides(RunConfig(), ["strategy=buffer", "epochs=2", f"lr_schedule={schedule}"]), digits)
    assert r.status == "ok" and r.metrics()["final_avg_acc"] > 0.2


# Tiny generative runs on digits for the two checks below (about a second each).
TINY_GR = ["strategy=generative", "epochs=2", "vae_epochs=2", "batch_size=32", "vae_hidden=32,16", "latent=4",
           "hidden=32", "schedule=linear:100"]


@pytest.mark.parametrize("combo", [
    ["replay_mode=per-task", "labels=hard"], ["replay_mode=per-task", "labels=soft"],
    ["replay_mode=per-batch", "labels=hard"], ["replay_mode=per-batch", "labels=soft"],
    ["replay_mode=per-batch", "labels=hard", "generator=cvae"]],
    ids=["per-task-hard", "per-task-soft", "per-batch-hard", "per-batch-soft", "per-batch-cvae-hard"])
def test_skipping_labels_nothing_reads_leaves_results_bit_identical(digits, monkeypatch, combo):
    """The unconditional VAE's own per-batch replay is no longer labelled by the old classifier;
    runs whose training reads labels (the classifier always, a cvae's) give the same R, curves and
    sample counts, bit for bit, as with every draw labelled (labelling draws nothing random). The
    code before the change gave these same matrices (compared once, by hand, on this machine); the
    flops_train literals below are that code's counts."""
    from gr_bench.strategies.generative import GenerativeReplay

    cfg_ = with_overrides(RunConfig(), [*TINY_GR, *combo])
    real = GenerativeReplay.fresh_replay
    asked = []

    def recording(self, n, rng, labels=True):
        asked.append(labels)
        r = real(self, n, rng, labels)
        assert r is None or (r.y is None) == (not labels and self.labels != "generator")
        return r

    monkeypatch.setattr(GenerativeReplay, "fresh_replay", recording)
    skipped = run(cfg_, digits)
    monkeypatch.setattr(GenerativeReplay, "fresh_replay", lambda self, n, rng, labels=True: real(self, n, rng, True))
    labelled = run(cfg_, digits)
    assert skipped.status == labelled.status == "ok"
    assert skipped.accuracy == labelled.accuracy and skipped.curves == labelled.curves
    assert skipped.samples == labelled.samples and skipped.initial_acc == labelled.initial_acc
    if "replay_mode=per-batch" in combo:
        # the classifier's draws are labelled; the generator's only where it reads them (cvae)
        assert True in asked and (False in asked) == ("generator=cvae" not in combo)
    # flops_train as counted before the change (integers, the same on every machine), less the old
    # classifier's forward pass (4,736 FLOPs for 64-32-10) for each of the VAE's own replay draws
    before = {"vae": 242_684_928, "cvae": 255_786_368} if "replay_mode=per-batch" in combo else \
        {"vae": 195_028_992, "cvae": 206_289_152}
    kind = "cvae" if "generator=cvae" in combo else "vae"
    own = 2 * sum(len(t.y_train) for t in digits.tasks)  # vae_epochs=2 over each task's own data
    per_batch_vae = "replay_mode=per-batch" in combo and kind == "vae"
    unlabelled = skipped.samples["generator"] - own if per_batch_vae else 0  # its per-batch draws
    assert skipped.flops_train == before[kind] - unlabelled * 4736
    assert (unlabelled > 0) == per_batch_vae


@pytest.mark.parametrize("extra", [[], ["replay_mode=per-batch"], ["strategy=buffer"], ["iters=30"]])
def test_eval_every_task_gives_the_same_matrix_and_a_shorter_curve(digits, extra):
    every_pass = run(with_overrides(RunConfig(), [*TINY_GR, *extra]), digits)
    calls = []
    per_task = run(with_overrides(RunConfig(), [*TINY_GR, *extra, "eval_every=task"]), digits,
                   on_epoch=lambda t, e, accs: calls.append((t, e)))
    assert per_task.accuracy == every_pass.accuracy and per_task.initial_acc == every_pass.initial_acc
    T = digits.n_tasks
    last = {t: max(e for tt, e, _, _ in every_pass.curves if tt == t) for t in range(T)}
    assert calls == [(t, last[t]) for t in range(T)]  # one evaluation per task, after its last pass
    assert per_task.curves == [c for c in every_pass.curves if c[1] == last[c[0]]]
    assert len(per_task.curves) == T * T < len(every_pass.curves)
