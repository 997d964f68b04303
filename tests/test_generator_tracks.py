"""Generator tracks: runs that differ only in the classifier's lr train their generator once, and
the run that restores it ends bit-identical to the same run trained alone."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from gr_bench.config import RunConfig, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.generator_tracks import FOLDER, GeneratorTrack, shareable, sharing
from gr_bench.trainer import run

GR = str(Path(sys.executable).with_name("gr-bench"))
BASE = ["dataset=digits", "strategy=generative", "n_tasks=5", "epochs=2", "vae_epochs=2", "hidden=32",
        "vae_hidden=64", "schedule=proportional:1.0", "threads=1"]


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(load_dataset("digits"), n_tasks=5, scenario="class", class_order="default", seed=0)


def _cfg(*pairs: str) -> RunConfig:
    return with_overrides(RunConfig(), BASE + list(pairs))


def _track(folder: Path, cfg: RunConfig) -> GeneratorTrack:
    track = GeneratorTrack.for_run(folder, cfg, "test", "data-sha", "code")
    assert track is not None
    return track


def _same_run(a, b) -> None:
    assert a.accuracy == b.accuracy and a.curves == b.curves
    assert (a.samples, a.flops_train, a.memory_bytes, a.train_sizes) == (b.samples, b.flops_train, b.memory_bytes,
                                                                        b.train_sizes)


@pytest.mark.parametrize("extra", [[], ["replay_mode=per-batch"], ["optimizer_state=keep"],
                                   ["generator=cvae"]], ids=["per-task", "per-batch", "adam-kept", "cvae"])
def test_a_run_that_restores_its_generator_equals_the_run_trained_alone(bench, tmp_path, extra):
    first = _cfg("lr=0.002", *extra)
    second = _cfg("lr=0.0005", "lr_decay=0.7", "lr_schedule=cosine", *extra)
    trained = run(first, bench, track=_track(tmp_path, first))
    assert len(list((tmp_path / FOLDER).glob("*/task*.pt"))) == 5  # one kept phase per task
    alone = run(second, bench)
    restored = run(second, bench, track=_track(tmp_path, second))
    _same_run(restored, alone)
    assert restored.accuracy != trained.accuracy  # the classifiers did differ
    assert restored.generator_from == first.run_id() and alone.generator_from == "" == trained.generator_from
    # its generator's cost is the cost measured where it was trained (the restore is in its total)
    kept = [torch.load(f, weights_only=True)["phase"] for f in (tmp_path / FOLDER).glob("*/task*.pt")]
    assert restored.times["generator"] >= sum(p["seconds"] for p in kept) > 0
    assert restored.cpu_s >= sum(p["cpu_s"] for p in kept) > 0
    assert "generator_from" in restored.summary_row()



def test_the_tracks_own_work_is_outside_the_generator_phase(bench, tmp_path, monkeypatch):
    """Hashing, keeping and restoring made slow: the generator phase's seconds stay its training
    (the kept phases' seconds where trained, exactly those where restored); the run's total has the rest."""
    def slow(f):
        def slowed(*args, **kwargs):
            time.sleep(0.05)
            return f(*args, **kwargs)
        return slowed

    monkeypatch.setattr(GeneratorTrack, "fingerprint", staticmethod(slow(GeneratorTrack.fingerprint)))
    monkeypatch.setattr(GeneratorTrack, "keep", slow(GeneratorTrack.keep))
    monkeypatch.setattr(GeneratorTrack, "restore", slow(GeneratorTrack.restore))
    first, second = _cfg("lr=0.002"), _cfg("lr=0.0005")
    trained = run(first, bench, track=_track(tmp_path, first))
    restored = run(second, bench, track=_track(tmp_path, second))
    assert restored.generator_from == first.run_id()
    kept = sum(torch.load(f, weights_only=True)["phase"]["seconds"] for f in (tmp_path / FOLDER).glob("*/task*.pt"))
    assert kept <= trained.times["generator"] < kept + 0.2  # 5 tasks x (hash + keep) = 0.5 s outside it
    assert restored.times["generator"] == pytest.approx(kept, rel=1e-9)
    assert restored.times["total"] >= kept + 5 * 2 * 0.05  # 5 tasks x (hash + restore)

def test_other_inputs_are_never_restored(bench, tmp_path):
    """The same track folder, but a run whose random stream differs (3 classifier epochs draw more
    orders): every fingerprint differs, so it trains its own generator."""
    first = _cfg("lr=0.002")
    run(first, bench, track=_track(tmp_path, first))
    other = _cfg("lr=0.0005", "epochs=3")
    alone = run(other, bench)
    forced = run(other, bench, track=_track(tmp_path, first))  # first's folder, other's inputs
    _same_run(forced, alone)
    assert forced.generator_from == ""


@pytest.mark.parametrize("pairs, expected", [
    ([], True), (["generator=cvae"], True), (["generator=cvae", "labels=hard"], False), (["generator=gmm"], False),
    (["generator=rtf"], False), (["strategy=buffer"], False), (["strategy=none"], False)])
def test_only_generators_that_ignore_the_classifier_share(pairs, expected):
    assert shareable(_cfg(*pairs)) is expected


def test_sharing_groups_configurations_that_differ_in_classifier_lr_only():
    configs = {"best": _cfg("schedule=sqrt:300", "lr=0.002"), "ref": _cfg("schedule=linear:100"),
               "best-schedule@ref": _cfg("schedule=sqrt:300"), "best-lr@ref": _cfg("schedule=linear:100", "lr=0.002"),
               "other": _cfg("schedule=linear:100", "vae_lr=0.01")}
    assert sharing(configs) == {"best": "best", "best-schedule@ref": "best", "ref": "ref", "best-lr@ref": "ref"}


def test_followers_are_queued_one_seed_late():
    from gr_bench.orchestration import Setup, get_spec, planned_points

    spec = get_spec("replay_schedule", quick=True)
    setup = Setup(study="replay_schedule", study_name="s", storage_url="", results_dir="", eval_seeds=(1, 2, 3))
    points = planned_points(spec, setup, "final", ["a", "r", "b", "c"], followers=frozenset({"b", "c"}))
    assert [(p["config"], p["seed"]) for p in points] == [
        ("a", 1), ("r", 1), ("a", 2), ("r", 2), ("b", 1), ("c", 1), ("a", 3), ("r", 3), ("b", 2), ("c", 2),
        ("b", 3), ("c", 3)]
    assert sorted((p["config"], p["seed"]) for p in points) == sorted((c, s) for c in "arbc" for s in (1, 2, 3))


STUDY_FILE = '''
from gr_bench.orchestration import StudySpec


def space(trial, n_tasks):
    return {"lr": trial.suggest_float("lr", 2e-3, 3e-3, log=True)}


STUDY = StudySpec(name="lronly", summary="a search over the classifier lr only", base={"strategy": "generative",
                  "val_fraction": 0.1, "epochs": 2, "vae_epochs": 2, "n_tasks": 2, "schedule": "linear:50",
                  "hidden": "20", "vae_hidden": "32"},
                  space=space, prune=False, seeds=1, trials=1, top=1, eval_seeds=2,
                  reference={"ref": {"lr": 0.001}})
'''


@pytest.mark.slow  # a whole study: tens of seconds
def test_a_final_stage_trains_each_shared_generator_once_and_removes_the_tracks(tmp_path):
    (tmp_path / "lronly.py").write_text(STUDY_FILE)
    env = {**os.environ, "GR_BENCH_STUDIES": str(tmp_path)}
    ran = subprocess.run([GR, "study", "lronly", "--dataset", "digits", "--results", str(tmp_path / "r"),
                          "--workers", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr
    folder = tmp_path / "r" / "lronly-digits"
    runs = pd.read_csv(folder / "runs.csv", dtype={"generator_from": str}).fillna({"generator_from": ""})
    final = runs[runs.stage == "final"]
    assert len(final) == 4
    trained = final[final.generator_from == ""]
    restored = final[final.generator_from != ""]
    # the best is queued first, so it trains; the reference of each seed restores the best's generator
    assert list(trained.label) == ["best-1", "best-1"] and list(restored.label) == ["ref", "ref"]
    assert set(restored.generator_from) == set(trained.run_id)
    assert not (folder / FOLDER).exists()
    assert "restored their generator" in (folder / "report.md").read_text()
