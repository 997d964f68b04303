"""Studies end to end: real worker processes on a real SQLite storage, tiny real data (digits)."""

import csv
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from gr_bench.config import RunConfig, with_overrides
from gr_bench.models import model_memory
from gr_bench.storage import open_storage, redact
from gr_bench.orchestration import Setup, as_pairs, get_spec, make_config, planned_points, study_names

GR = str(Path(sys.executable).parent / "gr-bench")


def gr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}  # wide tables: labels are not cut
    return subprocess.run([GR, *args], capture_output=True, text=True, timeout=timeout, env=env)


def rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", study_names(listed_only=False))
@pytest.mark.parametrize("quick", [False, True])
def test_every_study_declares_valid_configs(name, quick):
    spec = get_spec(name, quick)
    assert spec.summary and "\n" not in spec.summary
    setup = Setup(study=name, study_name=name, storage_url="", results_dir="", seeds=(0, 1), eval_seeds=(1000,),
                  trials=spec.trials)
    if spec.kind == "grid":
        points = planned_points(spec, setup, "search")
        n = 1
        for labels in spec.grid.values():
            n *= len(labels)
        assert len(points) == 2 * n and len({tuple(sorted(p.items())) for p in points}) == len(points)
        for p in points:  # every grid point is a valid config
            pairs = [q for axis, labels in spec.stored_grid().items() for q in as_pairs(labels[p[axis]])]
            make_config(spec, setup, pairs, p["seed"])
    else:  # sampled search points are valid configs (e.g. manual schedules get n_tasks - 1 sizes)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(30):
            trial = study.ask()
            cfg = make_config(spec, setup, [f"{k}={v}" for k, v in spec.space(trial, 5).items()], 0)
            assert cfg.data.val_fraction > 0  # searches tune on validation data, never on test
            study.tell(trial, 0.0)


def test_buffer_in_baselines_has_the_generators_bytes():
    from gr_bench.strategies import matched_bytes
    from gr_bench.studies.baselines import STUDY

    cfg = with_overrides(RunConfig(), STUDY.grid["method"]["buffer-equal-bytes"])
    bench = SimpleNamespace(input_dim=784, n_outputs=10, n_tasks=5, scenario="class")
    generator_bytes = model_memory(RunConfig())[-1]["bytes"]  # VAE + frozen classifier, as stored
    assert matched_bytes(cfg, bench) == generator_bytes == 4_454_720  # the report's Table 1


@pytest.mark.slow
def test_grid_study_two_workers_exact_resumable_and_exports_stable(tmp_path):
    args = ["study", "baselines", "--quick", "--seeds", "2", "--dataset", "digits", "--workers", "2",
            "--results", str(tmp_path), "--set", "vae_hidden=32,16"]
    p = gr(*args)
    assert p.returncode == 0, p.stderr
    assert "database is locked" not in p.stderr + p.stdout and "Traceback" not in p.stderr
    assert "generative" in p.stdout and "buffer-equal-bytes" in p.stdout, p.stdout
    folder = tmp_path / "baselines-digits-quick"
    trials, runs = rows(folder / "trials.csv"), rows(folder / "runs.csv")
    assert len(trials) == 8 and {t["state"] for t in trials} == {"COMPLETE"}
    keys = [(r["label"], r["seed"]) for r in runs]
    assert len(keys) == 8 and len(set(keys)) == 8  # every (configuration, seed) exactly once
    assert {r["dataset"] for r in runs} == {"digits"} and {r["split"] for r in runs} == {"test"}
    # paired: every method ran on the same seeds
    assert {r["seed"] for r in runs if r["label"] == "none"} == {r["seed"] for r in runs if r["label"] == "generative"}
    acc = rows(folder / "accuracy.csv")
    assert {"trial", "seed", "after_task", "eval_task", "epoch", "acc"} <= set(acc[0])

    before = {f: (folder / f).read_bytes() for f in ("trials.csv", "runs.csv", "accuracy.csv", "manifest.json")}
    again = gr(*args)  # resume: the budget is reached, nothing runs twice
    assert again.returncode == 0, again.stderr
    assert len(rows(folder / "trials.csv")) == 8
    e = gr("export", "baselines-digits-quick", "--results", str(tmp_path))
    assert e.returncode == 0, e.stderr
    assert {f: (folder / f).read_bytes() for f in before} == before  # exports are reproducible

    # the storage alone holds every result: a real SQLite file
    study = optuna.load_study(study_name="baselines-digits-quick",
                              storage=open_storage(f"sqlite:///{folder / 'study.db'}"))
    assert all(any(k.startswith("run:") for k in t.user_attrs) for t in study.trials)


@pytest.mark.slow
def test_search_study_has_a_final_test_stage_on_new_seeds(tmp_path):
    # --set n_tasks=2: the search space (manual schedules: one size) and the pruner follow it
    p = gr("study", "replay_schedule", "--quick", "--trials", "3", "--seeds", "1", "--dataset", "digits",
           "--workers", "2", "--results", str(tmp_path), "--set", "vae_hidden=32,16", "--set", "epochs=1",
           "--set", "vae_epochs=1", "--set", "n_tasks=2")
    assert p.returncode == 0, p.stderr
    assert "Best configurations" in p.stdout and "report-linear:1000" in p.stdout
    folder = tmp_path / "replay_schedule-digits-quick"
    assert {t["state"] for t in rows(folder / "trials.csv")} <= {"COMPLETE", "PRUNED"}  # no failed trial
    runs = rows(folder / "runs.csv")
    assert {r["n_tasks"] for r in runs} == {"2"}
    search = [r for r in runs if r["stage"] == "search"]
    final = [r for r in runs if r["stage"] == "final"]
    assert {r["split"] for r in search} == {"val"} and {r["split"] for r in final} == {"test"}
    # the search tunes on a validation split; the final stage trains on the whole training split
    assert {r["val_fraction"] for r in search} == {"0.1"} and {r["val_fraction"] for r in final} == {"0.0"}
    assert {r["seed"] for r in search} == {"0"} and {r["seed"] for r in final} == {"1000", "1001"}
    labels = {r["label"] for r in final}
    study = optuna.load_study(study_name="replay_schedule-digits-quick:final",
                              storage=open_storage(f"sqlite:///{folder / 'study.db'}"))
    entries = {e["group"]: e for e in study.user_attrs["attribution"] if e.get("kind") != "compute"}
    assert set(entries) == {"schedule", "lr"} and all(e["b"] == "report-linear:1000" for e in entries.values())
    swaps = {e["a"] for e in entries.values()} - {None} - {e["best"] for e in entries.values()}
    assert swaps <= {"best-schedule@report-linear:1000-lr", "best-lr@report-linear:1000-schedule"}
    # the compute-matched control: the reference with as many classifier samples as the best
    controls = {e["control"] for e in study.user_attrs["attribution"] if e.get("kind") == "compute"}
    assert controls <= {"report-linear:1000@best-samples"}
    assert labels == {"report-linear:1000"} | {lab for lab in labels if lab.startswith("best-")} | swaps | controls
    assert len(labels - swaps - controls) == 2  # the best + the seed's linear schedule
    assert len(final) == 2 * len(labels)
    report = (folder / "report.md").read_text()
    # every comparison names the fields in which its arms differ; each attribution group has its verdict
    assert "## What each comparison changes" in report and "## Attribution" in report and "## Power" in report
    changes = report.split("## What each comparison changes", 1)[1].split("\n## ", 1)[0].splitlines()
    if "best-schedule@report-linear:1000-lr" in swaps:
        assert "| best-schedule@report-linear:1000-lr | report-linear:1000 | `schedule` " in report
        line = next(x for x in changes if x.startswith("| best-schedule@report-linear:1000-lr |"))
        assert "`lr`" not in line
    if "best-lr@report-linear:1000-schedule" in swaps:
        line = next(x for x in changes if x.startswith("| best-lr@report-linear:1000-schedule |"))
        assert "`schedule`" not in line and "`lr`" in line
    assert "schedule effect (schedule:" in p.stdout and "lr effect (lr, lr_decay:" in p.stdout


@pytest.mark.slow
def test_failed_runs_are_recorded_and_the_study_goes_on(tmp_path):
    p = gr("study", "baselines", "--quick", "--seeds", "1", "--dataset", "digits", "--workers", "1",
           "--results", str(tmp_path), "--set", "vae_lr=1e6", "--set", "optimizer=sgd", "--set", "vae_hidden=32,16")
    assert p.returncode == 0, p.stderr
    trials = rows(tmp_path / "baselines-digits-quick" / "trials.csv")
    failed = [t for t in trials if t["state"] == "FAIL"]
    assert len(trials) == 4 and len(failed) == 1
    assert failed[0]["label"] == "generative" and "generator, task" in failed[0]["reason"]
    assert "(1 failed)" in p.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["study", "nosuch"], "unknown study"),
        (["study"], "name a study"),
        (["study", "baselines", "--storage", "mysql://u:pw@localhost/x"], "sqlite"),
        (["study", "baselines", "--storage", "sqlite://relative"], "sqlite:///"),
        (["study", "baselines", "--study-name", "../escape"], "study name"),
        (["study", "baselines", "--study-name", "a/b"], "study name"),
        (["study", "baselines", "--trials", "0"], "--trials"),
        (["study", "baselines", "--workers", "-1"], "--workers"),
        (["study", "baselines", "--timeout", "0"], "--timeout"),
        (["study", "baselines", "--seeds", "x"], "--seeds"),
        (["study", "baselines", "--seeds", "1,1"], "--seeds"),
        (["study", "baselines", "--dataset", "nope"], "nope"),
        (["study", "baselines", "--set", "lr=-1"], "lr"),
        (["study", "baselines", "--multi-objective"], "multi-objective"),
        (["export", "never-ran"], "no study"),
    ],
)
def test_bad_study_input_is_one_line_exit_2(args, needle, tmp_path):
    from gr_bench.cli import main

    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        code = main([*args, "--results", str(tmp_path)])
    text = err.getvalue()
    assert code == 2 and text.count("\n") == 1 and text.startswith("gr-bench: error:") and needle in text, text
    assert "pw@" not in text
    assert not any(tmp_path.rglob("*.csv")) and not any(tmp_path.rglob("*.db"))


def test_redact_hides_passwords():
    assert redact("postgresql://me:secret@host:5432/db") == "postgresql://me:***@host:5432/db"
    assert redact("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_resumed_study_must_keep_its_settings(tmp_path):
    from gr_bench.orchestration import StudyError, ensure_stage

    spec = get_spec("baselines", quick=True)
    url = f"sqlite:///{tmp_path / 's.db'}"
    setup = Setup(study="baselines", study_name="b", storage_url=url, results_dir=str(tmp_path), quick=True,
                  seeds=(0,), dataset="digits")
    storage = open_storage(url)
    study = ensure_stage(storage, spec, setup, "search")
    assert study.user_attrs["budget"] == 4 and len(study.trials) == 4
    assert len(ensure_stage(storage, spec, setup, "search").trials) == 4  # loading enqueues nothing more
    with pytest.raises(StudyError, match="other settings"):
        ensure_stage(storage, spec, Setup(**{**setup.__dict__, "seeds": (0, 1)}), "search")
    with pytest.raises(StudyError, match="definition"):  # the study module was edited since
        ensure_stage(storage, spec, Setup(**{**setup.__dict__, "definition": "changed"}), "search")


def test_spec_fingerprint_follows_the_definition():
    import dataclasses

    from gr_bench.orchestration import spec_fingerprint

    spec = get_spec("replay_schedule")
    assert spec_fingerprint(spec) == spec_fingerprint(get_spec("replay_schedule"))
    assert spec_fingerprint(spec) != spec_fingerprint(get_spec("replay_schedule", quick=True))
    assert spec_fingerprint(spec) != spec_fingerprint(dataclasses.replace(spec, trials=spec.trials + 1))
    assert spec_fingerprint(spec) != spec_fingerprint(dataclasses.replace(spec, space=lambda trial, n: {}))
