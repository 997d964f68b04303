"""Progress of `gr-bench study` in a log (stdout not a terminal): one plain line per finished trial and at
least one a minute, with done/total, elapsed, the whole study's ETA from measured run times (fake clock,
trials with set start and end times) and the best configuration by its mean over seeds."""

import os
import re
import subprocess
from datetime import datetime

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from gr_bench.orchestration import make_config
from gr_bench.report.progress import ProgressLines, objective_text
from gr_bench.report.two_configs import best_mean

from conftest import GR

METHOD = CategoricalDistribution(["a", "b"])
SEED = CategoricalDistribution([0, 1, 2])


def _at(seconds: float) -> datetime:
    """A wall-clock time as Optuna stores it (local, naive), on the fake clock's scale."""
    return datetime.fromtimestamp(seconds)


def _grid_study(values: list[tuple[str, int, float | None]], budget: int, direction: str = "maximize",
                seconds: float = 10.0, runs: int = 1, running: tuple[float, ...] = ()) -> optuna.Study:
    """A stage: one trial per (method, seed), None = a failed trial; trial k ran from 1000 + k*seconds
    for `seconds` (its `runs` runs: a search trial runs one per search seed); `running`: the start
    times of trials still running."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction)
    study.set_user_attr("budget", budget)
    for k, (method, seed, value) in enumerate(values):
        trial = create_trial(params={"method": method, "seed": seed}, distributions={"method": METHOD, "seed": SEED},
                             value=value, state=TrialState.COMPLETE if value is not None else TrialState.FAIL,
                             user_attrs={f"run:{seed + 10 * r}": {} for r in range(runs)})
        trial.datetime_start, trial.datetime_complete = _at(1000 + k * seconds), _at(1000 + (k + 1) * seconds)
        study.add_trial(trial)
    for begun in running:
        trial = create_trial(state=TrialState.RUNNING, params={"method": "a", "seed": 0},
                             distributions={"method": METHOD, "seed": SEED})
        trial.datetime_start = _at(begun)
        study.add_trial(trial)
    return study


def test_best_is_the_mean_over_seeds_not_one_seeds_maximum():
    # a: 0.90 on one seed but 0.60 on the other (mean 0.75); b: 0.80 and 0.80 (mean 0.80)
    study = _grid_study([("a", 0, 0.90), ("a", 1, 0.60), ("b", 0, 0.80), ("b", 1, 0.80)], budget=6)
    assert study.best_value == pytest.approx(0.90)  # what a single seed's maximum would say
    label, mean, runs = best_mean(study)
    assert (label, runs) == ("b", 2) and mean == pytest.approx(0.80)


def test_one_line_per_finished_trial_with_eta_from_measured_run_times():
    clock = [1000.0]
    progress = ProgressLines(start=990.0, clock=lambda: clock[0])
    study = _grid_study([], budget=4)
    assert progress.update("search", study) == []  # nothing finished yet
    study = _grid_study([("a", 0, 0.5), ("b", 0, 0.7)], budget=4, seconds=10.0)
    clock[0] = 1020.0  # two trials of 10 s each: two left, 20 s
    lines = progress.update("search", study)
    assert lines == ["search: 1/4 done, elapsed 30s, ETA 20s, best a 50.0% (mean of 1 run)",
                     "search: 2/4 done, elapsed 30s, ETA 20s, best b 70.0% (mean of 1 run)"]
    assert progress.update("search", study) == []  # a poll with nothing new prints nothing
    study = _grid_study([("a", 0, 0.5), ("b", 0, 0.7), ("a", 1, 1.0), ("b", 1, None)], budget=4)
    clock[0] = 1040.0
    lines = progress.update("search", study)
    assert lines == ["search: 3/4 done, elapsed 50s, ETA 0s, best a 75.0% (mean of 2 runs)",
                     "search: 4/4 done (1 failed), elapsed 50s, ETA 0s, best a 75.0% (mean of 2 runs)"]


def test_the_eta_is_the_whole_studys_search_and_final_stage():
    """The search's last line does not say 0s while the final stage is still to run: the final stage's
    planned trials count at the search's seconds per run, scaled to full fidelity, until its own finish."""
    clock = [1100.0]
    # search trials of 2 runs each (two search seeds) at 20 s a trial: 10 s per run; a final run is 5x longer
    progress = ProgressLines(start=1000.0, clock=lambda: clock[0], later={"final": 6}, final_scale=5.0)
    progress.update("search", _grid_study([], budget=4))
    search = _grid_study([("a", 0, 0.5), ("b", 0, 0.7)], budget=4, seconds=20.0, runs=2)
    assert progress.update("search", search)[-1].split(", ETA ")[1].startswith(
        "5m40s (search 40s + final 5m00s),")  # 2 x 20 s + 6 x 50 s
    search = _grid_study([("a", 0, 0.5), ("b", 0, 0.7), ("a", 1, 0.6), ("b", 1, 0.8)], budget=4, seconds=20.0,
                         runs=2)
    assert progress.update("search", search)[-1].split(", ETA ")[1].startswith("5m00s,")  # never "0s" here
    # the final stage begins: one trial running for 20 s of its estimated 50 s, five queued
    clock[0] = 1420.0
    final = _grid_study([], budget=6, running=(1400.0,))
    assert progress.update("final", final) == [  # 5 minutes since the last line: a sign of life
        "final: 0/6 done, 1 running, elapsed 7m00s, ETA 4m40s"]  # 30 s + 5 x 50 s
    # its first run took 80 s, not 50: from now on the final stage's own runs are the measure
    final = _grid_study([("a", 0, 0.5)], budget=6, seconds=80.0)
    assert progress.update("final", final) == ["final: 1/6 done, elapsed 7m00s, ETA 6m40s, best a 50.0% "
                                               "(mean of 1 run)"]  # 5 x 80 s


def test_workers_share_the_queue_but_not_one_run():
    clock = [1100.0]
    progress = ProgressLines(start=1000.0, clock=lambda: clock[0], workers=2)
    progress.update("search", _grid_study([("a", 0, 0.5)], budget=4, seconds=10.0))
    assert progress.eta() == "15s"  # 3 queued x 10 s over 2 workers
    progress.update("search", _grid_study([("a", 0, 0.5), ("b", 0, 0.5), ("a", 1, 0.5)], budget=4, seconds=10.0,
                                          running=(1098.0,)))
    assert progress.eta() == "8s"  # the last run alone: its 8 s left, not half of them


def test_a_line_at_least_every_minute_while_nothing_finishes():
    clock = [1000.0]
    progress = ProgressLines(start=1000.0, clock=lambda: clock[0])
    study = _grid_study([("a", 0, 0.5)], budget=3, seconds=300.0, running=(1000.0,))
    progress.update("search", study)  # the first poll of a resumed stage: nothing new
    clock[0] = 1059.0
    assert progress.update("search", study) == []
    clock[0] = 1060.0
    assert progress.update("search", study) == [
        "search: 1/3 done, 1 running, elapsed 1m00s, ETA 9m00s, best a 50.0% (mean of 1 run)"]  # 240 s + 300 s
    clock[0] = 1100.0
    assert progress.update("search", study) == []
    clock[0] = 1120.0
    assert len(progress.update("search", study)) == 1
    unknown = ProgressLines(start=0.0, clock=lambda: clock[0], every=60.0)
    unknown.update("search", _grid_study([], budget=2, running=(1100.0,)))
    clock[0] = 1200.0
    assert unknown.update("search", _grid_study([], budget=2, running=(1100.0,))) == [
        "search: 0/2 done, 1 running, elapsed 20m00s, ETA unknown"]  # no run has finished: nothing to measure


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


def test_the_final_stage_is_planned_and_scaled_by_the_search_fidelity():
    """replay_schedule searches at 20% of each task's epochs on 90% of the training split: a final run
    trains about 5 / 0.9 times as long as one search run."""
    from gr_bench.orchestration import get_spec
    from gr_bench.orchestration.launch import StudyRequest, checked_setup
    from gr_bench.orchestration.setup import final_scale
    from gr_bench.orchestration.stages import later_stages

    spec = get_spec("replay_schedule")
    setup = checked_setup(spec, StudyRequest(name="replay_schedule", dry_run=True, seeds=(0,)))
    refs = len(spec.reference)
    configs = spec.top + refs + len(spec.attribution or {}) * refs + (refs if spec.compute_matched else 0)
    assert later_stages(spec, setup) == {"final": configs * spec.eval_seeds}
    full = make_config(spec, setup, [], 0).train
    search = make_config(spec, setup, [], 0, search=True).train
    assert search.epochs < full.epochs
    assert final_scale(spec, setup) == pytest.approx(
        (full.epochs + full.vae_epochs) / (search.epochs + search.vae_epochs) / 0.9)
    assert later_stages(get_spec("baselines"), setup) == {}


@pytest.mark.slow
def test_study_in_a_log_prints_plain_progress_lines(tmp_path):
    """A real grid study with stdout captured (not a terminal): one line per run, no live bar."""
    p = subprocess.run([GR, "study", "baselines", "--quick", "--dataset", "digits", "--seeds", "2", "--workers", "1",
                        "--results", str(tmp_path), "--set", "epochs=1", "--set", "vae_epochs=1",
                        "--set", "vae_hidden=32,16"],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("grid: ") and not re.search(r", \d+ running, ", l)]
    assert [int(re.match(r"grid: (\d+)/8 done", l).group(1)) for l in lines] == list(range(1, 9)), p.stdout
    pattern = (r"grid: \d/8 done( \(\d+ failed\))?, elapsed \S+, ETA \S+, best "
               r"(generative|buffer-equal-bytes|none|joint) \d+\.\d% \(mean of [12] runs?\)")
    assert all(re.fullmatch(pattern, l) for l in lines), lines
    assert lines[-1].split("ETA ")[1].startswith("0s")
    assert "\r" not in p.stdout and "\x1b" not in p.stdout  # no live bar in a log
    assert all(re.fullmatch(r"search: \d/8 done.*, \d+ running, elapsed .*", l)  # only the once-a-minute lines
               for l in p.stdout.splitlines() if " running" in l)


def test_a_grids_stage_is_called_grid_not_search():
    """A grid has one stage, stored under the name "search"; its lines say "grid"."""
    clock = [1020.0]
    progress = ProgressLines(start=1000.0, clock=lambda: clock[0], grid=True)
    assert progress.update("search", _grid_study([], budget=2)) == []
    lines = progress.update("search", _grid_study([("a", 0, 0.5)], budget=2))
    assert lines == ["grid: 1/2 done, elapsed 20s, ETA 10s, best a 50.0% (mean of 1 run)"]
