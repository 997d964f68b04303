"""Progress of `gr-bench study` in a log (stdout not a terminal): one plain line per finished trial, with
done/total, elapsed, ETA and the best configuration by its mean over seeds."""

import os
import re
import subprocess

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from gr_bench.cli.studies import ProgressLines, best_mean, objective_text

from conftest import GR

METHOD = CategoricalDistribution(["a", "b"])
SEED = CategoricalDistribution([0, 1, 2])


def _grid_study(values: list[tuple[str, int, float | None]], budget: int,
                direction: str = "maximize") -> optuna.Study:
    """A grid-like stage: one trial per (method, seed); None = a failed trial."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction)
    study.set_user_attr("budget", budget)
    for method, seed, value in values:
        study.add_trial(create_trial(params={"method": method, "seed": seed},
                                     distributions={"method": METHOD, "seed": SEED},
                                     value=value, state=TrialState.COMPLETE if value is not None else TrialState.FAIL,
                                     user_attrs={f"run:{seed}": {}}))
    return study


def test_best_is_the_mean_over_seeds_not_one_seeds_maximum():
    # a: 0.90 on one seed but 0.60 on the other (mean 0.75); b: 0.80 and 0.80 (mean 0.80)
    study = _grid_study([("a", 0, 0.90), ("a", 1, 0.60), ("b", 0, 0.80), ("b", 1, 0.80)], budget=6)
    assert study.best_value == pytest.approx(0.90)  # what a single seed's maximum would say
    label, mean, runs = best_mean(study)
    assert (label, runs) == ("b", 2) and mean == pytest.approx(0.80)


def test_one_line_per_finished_trial_with_eta():
    clock = [100.0]
    progress = ProgressLines(start=90.0, clock=lambda: clock[0])
    study = _grid_study([], budget=4)
    assert progress.update("search", study) == []  # nothing finished yet
    study = _grid_study([("a", 0, 0.5), ("b", 0, 0.7)], budget=4)
    clock[0] = 120.0  # two trials in 20 s: 10 s each, two left
    lines = progress.update("search", study)
    assert lines == ["search: 1/4 done, elapsed 30s, ETA 30s, best a 50.0% (mean of 1 run)",
                     "search: 2/4 done, elapsed 30s, ETA 20s, best b 70.0% (mean of 1 run)"]
    assert progress.update("search", study) == []  # a poll with nothing new prints nothing
    study = _grid_study([("a", 0, 0.5), ("b", 0, 0.7), ("a", 1, 1.0), ("b", 1, None)], budget=4)
    clock[0] = 140.0
    lines = progress.update("search", study)
    assert lines == ["search: 3/4 done, elapsed 50s, ETA 10s, best a 75.0% (mean of 2 runs)",
                     "search: 4/4 done (1 failed), elapsed 50s, ETA 0s, best a 75.0% (mean of 2 runs)"]


def test_an_objective_other_than_accuracy_is_shown_in_its_own_unit():
    # a time objective (lower is better): a's mean is 12.5 s, b's 30 s; never "1250.0%"
    clock = [10.0]
    progress = ProgressLines(start=0.0, clock=lambda: clock[0], objective="time_total_s")
    progress.update("search", _grid_study([], budget=3, direction="minimize"))
    clock[0] = 40.0
    study = _grid_study([("a", 0, 10.0), ("b", 0, 30.0), ("a", 1, 15.0)], budget=3, direction="minimize")
    assert progress.update("search", study)[-1] == \
        "search: 3/3 done, elapsed 40s, ETA 0s, best a time_total_s 12.50 s (mean of 2 runs)"
    assert objective_text(0.032, "avg_forgetting") == "avg_forgetting 3.2 points"
    assert objective_text(3 * 2**20, "memory_bytes") == "memory_bytes 3.00 MiB"
    assert objective_text(0.456) == objective_text(0.456, "final_avg_acc") == "45.6%"


def test_a_resumed_stage_does_not_repeat_earlier_trials():
    progress = ProgressLines(start=0.0, clock=lambda: 5.0)
    done = _grid_study([("a", 0, 0.5), ("b", 0, 0.7)], budget=2)
    assert progress.update("final", done) == []


@pytest.mark.slow
def test_study_in_a_log_prints_plain_progress_lines(tmp_path):
    """A real grid study with stdout captured (not a terminal): one line per run, no live bar."""
    p = subprocess.run([GR, "study", "baselines", "--quick", "--dataset", "digits", "--seeds", "2", "--workers", "1",
                        "--results", str(tmp_path), "--set", "epochs=1", "--set", "vae_epochs=1",
                        "--set", "vae_hidden=32,16"],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("search: ")]
    assert [int(re.match(r"search: (\d+)/8 done", l).group(1)) for l in lines] == list(range(1, 9)), p.stdout
    pattern = (r"search: \d/8 done( \(\d+ failed\))?, elapsed \S+, ETA \S+, best "
               r"(generative|buffer-equal-bytes|none|joint) \d+\.\d% \(mean of [12] runs?\)")
    assert all(re.fullmatch(pattern, l) for l in lines), lines
    assert lines[-1].split("ETA ")[1].startswith("0s")
    assert " running" not in p.stdout and "\r" not in p.stdout and "\x1b" not in p.stdout  # no live bar in a log
