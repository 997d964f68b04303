"""Search fidelity: search trials train a share of each task's epochs (every task still seen), the
final stage and --no-prune train in full, and trials.csv says which fidelity each trial ran at."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gr_bench.orchestration import Setup, StudyError, get_spec, make_config
from gr_bench.orchestration.setup import search_overrides

GR = str(Path(sys.executable).parent / "gr-bench")


def _setup(**kw) -> Setup:
    return Setup(**{"study": "replay_schedule", "study_name": "s", "storage_url": "", "results_dir": "",
                    "seeds": (0,), "eval_seeds": (1000,), "dataset": "digits", **kw})


def test_search_trials_train_the_share_of_each_length_rounded_up():
    spec = dataclasses.replace(get_spec("replay_schedule"), search_fidelity=0.3)
    setup = _setup(sets=("epochs=10", "vae_epochs=7"))
    cfg = make_config(spec, setup, ["lr=0.002"], 0, search=True)
    assert (cfg.train.epochs, cfg.train.vae_epochs, cfg.train.lr) == (3, 3, 0.002)  # ceil(2.1) = 3
    full = make_config(spec, setup, ["lr=0.002"], 0)  # the final stage
    assert (full.train.epochs, full.train.vae_epochs) == (10, 7)
    iters = make_config(spec, _setup(sets=("iters=2000", "vae_iters=1000")), [], 0, search=True)
    assert (iters.train.iters, iters.train.vae_iters) == (600, 300)
    short = make_config(spec, _setup(sets=("epochs=2", "vae_epochs=1")), [], 0, search=True)
    assert (short.train.epochs, short.train.vae_epochs) == (1, 1)  # never below one pass


def test_no_prune_and_an_unset_share_search_in_full():
    spec = dataclasses.replace(get_spec("replay_schedule"), search_fidelity=0.3)
    setup = _setup(prune=False)
    assert search_overrides(spec, setup, make_config(spec, setup, [], 0)) == []
    assert make_config(spec, setup, [], 0, search=True).train.epochs == 10
    plain = dataclasses.replace(spec, search_fidelity=None)
    assert make_config(plain, _setup(), [], 0, search=True).train.epochs == 10


@pytest.mark.parametrize("share", [0, 1.5, "half"])
def test_a_share_outside_zero_to_one_is_refused(tmp_path, monkeypatch, share):
    (tmp_path / "lowfi.py").write_text(STUDY_FILE.format(share=repr(share)))
    monkeypatch.setenv("GR_BENCH_STUDIES", str(tmp_path))
    with pytest.raises(StudyError, match="search_fidelity must be in"):
        get_spec("lowfi")


STUDY_FILE = '''
from gr_bench.orchestration import StudySpec


def space(trial, n_tasks):
    return {{"lr": trial.suggest_float("lr", 1e-3, 3e-3, log=True)}}


STUDY = StudySpec(name="lowfi", summary="a search at half fidelity", base={{"strategy": "generative",
                  "val_fraction": 0.1, "epochs": 2, "vae_epochs": 2, "n_tasks": 2, "schedule": "linear:50",
                  "hidden": "20", "vae_hidden": "32"}},
                  space=space, search_fidelity={share}, prune=False, seeds=1, trials=2, top=1, eval_seeds=1,
                  reference={{"ref": {{"lr": 0.001}}}})
'''


@pytest.mark.slow  # a whole study or report: tens of seconds
def test_trials_csv_shows_the_fidelity_and_the_final_stage_trains_in_full(tmp_path):
    (tmp_path / "lowfi.py").write_text(STUDY_FILE.format(share=0.5))
    env = {**os.environ, "GR_BENCH_STUDIES": str(tmp_path)}
    ran = subprocess.run([GR, "study", "lowfi", "--dataset", "digits", "--results", str(tmp_path / "r"),
                          "--workers", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "search trials at 50% of each task's epochs" in " ".join(ran.stdout.split())
    trials = pd.read_csv(tmp_path / "r" / "lowfi-digits" / "trials.csv")
    search = trials[trials.stage == "search"]
    assert len(search) == 2 and set(search.fidelity) == {"epochs=1 vae_epochs=1"}
    assert set(search.budget_reached) == {"2/2"}  # every task seen
    runs = pd.read_csv(tmp_path / "r" / "lowfi-digits" / "runs.csv")
    assert set(runs[runs.stage == "search"].epochs) == {1} and set(runs[runs.stage == "final"].epochs) == {2}
    assert set(runs[runs.stage == "final"].vae_epochs) == {2}
    report = tmp_path / "r" / "lowfi-digits" / "report.md"
    assert "`epochs=1 vae_epochs=1` per task" in report.read_text()
