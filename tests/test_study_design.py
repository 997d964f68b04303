"""Study designs a referee accepts: attribution ablations, clean evaluation seeds and data, power
statements, like-with-like comparisons, and --set n_tasks followed everywhere. Fast: no training."""

import dataclasses
import io
import math
from contextlib import redirect_stderr

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState, create_trial

from gr_bench import stats
from gr_bench.orchestration import (
    Setup,
    StudyError,
    check_seeds,
    final_configs,
    get_spec,
    make_config,
    stages,
    study_n_tasks,
)
from gr_bench.paired_comparisons import WALL_CLOCK_VERDICT
from gr_bench.report import analysis
from gr_bench.report import verdict_sections as verdicts
from gr_bench.report.analysis import Comparisons
from gr_bench.thresholds import Thresholds

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _setup(name: str, **kw) -> Setup:
    return Setup(**{"study": name, "study_name": name, "storage_url": "", "results_dir": "", "quick": True,
                    "seeds": (0,), "eval_seeds": (1000, 1001), "dataset": "digits", **kw})


def _search(*trials: tuple[float, list[str]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for value, overrides in trials:
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=value, user_attrs={"overrides": overrides}))
    return study


def test_final_stage_adds_one_swap_per_attribution_group():
    spec = dataclasses.replace(get_spec("replay_schedule", quick=True), top=2)  # the best two go on
    search = _search((0.7, ["schedule=constant:300", "lr=0.001", "lr_decay=1.0"]),
                     (0.9, ["schedule=sqrt:500", "lr=0.002", "lr_decay=0.8"]),
                     (0.8, ["schedule=linear:700", "lr=0.0005", "lr_decay=0.9"]))
    configs, entries = final_configs(spec, search, _setup("replay_schedule"))
    assert list(configs) == ["trial-1", "trial-2", "report-linear:1000",
                             "best-schedule@report-linear:1000-lr", "best-lr@report-linear:1000-schedule",
                             "report-linear:1000@best-samples"]
    # (a) the best's schedule at the reference's lr and decay; (b) the reference's schedule at the best's
    a = make_config(spec, _setup("replay_schedule"), configs["best-schedule@report-linear:1000-lr"], 1000)
    b = make_config(spec, _setup("replay_schedule"), configs["best-lr@report-linear:1000-schedule"], 1000)
    assert (a.replay.schedule, a.train.lr, a.train.lr_decay) == ("sqrt:500", 0.001, 1.0)
    assert (b.replay.schedule, b.train.lr, b.train.lr_decay) == ("linear:1000", 0.002, 0.8)
    assert [(e["group"], e["fields"], e["a"], e["b"], e["best"]) for e in entries] == [
        ("schedule", ["schedule"], "best-schedule@report-linear:1000-lr", "report-linear:1000", "trial-1"),
        ("lr", ["lr", "lr_decay"], "best-lr@report-linear:1000-schedule", "report-linear:1000", "trial-1"),
        ("training samples alone", ["epochs", "vae_epochs"], "report-linear:1000@best-samples", "report-linear:1000",
         "trial-1"),
        ("replay set at equal training samples", ["schedule", "epochs", "vae_epochs"],
         "best-schedule@report-linear:1000-lr",
         "report-linear:1000@best-samples", "trial-1")]


def test_the_compute_matched_control_trains_on_as_many_samples_as_the_best():
    spec = get_spec("replay_schedule")
    setup = _setup("replay_schedule", quick=False)
    configs = {"trial-4": ["schedule=proportional:2.159", "lr=0.00044", "lr_decay=0.67", "val_fraction=0"],
               "report-linear:1000": ["schedule=linear:1000", "val_fraction=0"],
               "best-schedule@report-linear:1000-lr": ["schedule=proportional:2.159", "val_fraction=0"]}
    sizes = [12000] * 5  # Split MNIST's tasks, about 12,000 images each
    new, entries = stages.compute_matched_configs(spec, setup, configs, "trial-4", ["report-linear:1000"], sizes=sizes)
    control = make_config(spec, setup, new["report-linear:1000@best-samples"], 1000)
    # best: 5 x 12,000 new + 4 x round(2.159 x 12,000) replayed, 10 epochs; the reference: 10,000 replayed
    best = 10 * (60000 + 4 * 25908)
    assert stages.classifier_samples(make_config(spec, setup, configs["trial-4"], 0), sizes) == best
    assert control.train.epochs == round(10 * best / (10 * 70000)) == 23
    assert (control.replay.schedule, control.train.lr, control.train.lr_decay) == ("linear:1000", 0.001, 1.0)
    assert entries[0]["samples_control"] == 23 * 70000 and entries[0]["samples_best"] == best
    # the generator too: it learns each task's data with the replayed set, for vae_epochs
    assert control.train.vae_epochs == 23 and entries[0]["fields"] == ["epochs", "vae_epochs"]
    assert entries[0]["generator_samples_control"] == 23 * 70000 and entries[0]["generator_samples_best"] == best
    assert entries[1]["fields"] == ["schedule", "epochs", "vae_epochs"]
    # per-batch replay or an iteration budget: no fixed sample count, no control
    assert stages.classifier_samples(dataclasses.replace(control, replay=dataclasses.replace(
        control.replay, replay_mode="per-batch")), sizes) is None


def test_the_compute_verdicts_say_which_gain_was_shown():
    runs = _paired_runs({"trial-1": 0.80, "ref": 0.60, "best-schedule@ref-lr": 0.79, "ref@best-samples": 0.62})
    common = {"kind": "compute", "best": "trial-1", "reference": "ref", "control": "ref@best-samples",
              "samples_best": 1000, "samples_control": 990, "samples_reference": 400}
    entries = [{**common, "group": "training samples alone", "fields": ["epochs"], "a": "ref@best-samples", "b": "ref"},
               {**common, "group": "replay set at equal training samples", "fields": ["schedule", "epochs"],
                "a": "best-schedule@ref-lr", "b": "ref@best-samples"}]
    result = analysis.analyse("s", runs, Comparisons("search", ("ref",), attribution=tuple(entries)))
    assert ("ref@best-samples", "ref") in result.pairs
    assert ("best-schedule@ref-lr", "ref@best-samples") in result.pairs
    lines = analysis.compute_lines(result)
    assert len(lines) == 3 and "? yes:" in lines[1]
    assert lines[2] == ("so, of the schedule's gain: the larger replay set at equal training samples helps; "
                        "training on more samples alone helps")
    # an undecided verdict is said to be undecided, never read as no effect
    assert analysis._compute_conclusion("better", "underpowered", True) == (
        "so, of the schedule's gain: the larger replay set at equal training samples helps; whether training on "
        "more samples alone helps is not decided (underpowered)")
    assert analysis.attribution_lines(result) == []  # compute entries are not attribution groups


def test_a_swap_equal_to_an_existing_configuration_is_not_run_twice():
    spec = get_spec("replay_schedule", quick=True)
    # the best kept the reference's schedule: only its lr changed
    search = _search((0.9, ["schedule=linear:1000", "lr=0.002", "lr_decay=0.8"]))
    configs, entries = final_configs(spec, search, _setup("replay_schedule"))
    assert list(configs) == ["trial-0", "report-linear:1000"]
    by_group = {e["group"]: e for e in entries}
    assert by_group["schedule"]["a"] is None  # nothing to attribute to the schedule
    assert by_group["lr"]["a"] == "trial-0"  # the best itself differs from the reference in lr only


def test_final_stage_trains_on_the_whole_training_split():
    spec = get_spec("replay_schedule", quick=True)
    setup = _setup("replay_schedule")
    configs, _ = final_configs(spec, _search((0.9, ["schedule=sqrt:500", "lr=0.002", "lr_decay=0.8"])), setup)
    assert make_config(spec, setup, [], 0).data.val_fraction == 0.1  # the search holds out validation data
    for pairs in configs.values():
        assert make_config(spec, setup, pairs, 1000).data.val_fraction == 0


@pytest.mark.parametrize("name", ["replay_schedule", "lr", "generator_size"])
def test_every_search_declares_attribution_groups_of_config_fields(name):
    from gr_bench.config import FIELDS

    spec = get_spec(name)
    assert spec.attribution and len(spec.attribution) >= 2
    fields = [f for group in spec.attribution.values() for f in group]
    assert len(fields) == len(set(fields)) and set(fields) <= set(FIELDS)
    # what the space can change is covered by the groups
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    assert set(spec.space(trial, 5)) <= set(fields)


def test_differing_fields_come_from_the_overrides_at_the_values_used():
    trials = pd.DataFrame([
        {"stage": "final", "label": "best", "overrides": "schedule=sqrt:500 lr=0.002 val_fraction=0"},
        {"stage": "final", "label": "ref", "overrides": "schedule=linear:1000 lr=0.001 val_fraction=0"},
        {"stage": "final", "label": "same-lr", "overrides": "schedule=linear:1000 lr=0.001 val_fraction=0"},
    ])
    runs = pd.DataFrame([
        {"stage": "final", "label": "best", "seed": 1000, "schedule": "sqrt:500", "lr": 0.002, "val_fraction": 0.0},
        {"stage": "final", "label": "ref", "seed": 1000, "schedule": "linear:1000", "lr": 0.001, "val_fraction": 0.0},
        {"stage": "final", "label": "same-lr", "seed": 1001, "schedule": "linear:1000", "lr": 0.001,
         "val_fraction": 0.0},
    ])
    assert analysis.differing_fields(trials, runs, "final", "best", "ref") == [
        ("schedule", "sqrt:500", "linear:1000"), ("lr", "0.002", "0.001")]
    assert analysis.differing_fields(trials, runs, "final", "same-lr", "ref") == []


def test_swaps_are_compared_with_their_own_reference_only():
    runs = pd.DataFrame([{"stage": "final", "status": "ok", "seed": s, "label": label, "final_avg_acc": 0.5}
                         for s in (0, 1) for label in ("trial-3", "ref-a", "ref-b", "best-x@ref-a-y")])
    entries = [{"group": "x", "fields": ["x"], "a": "best-x@ref-a-y", "b": "ref-a", "best": "trial-3",
                "reference": "ref-a"}]
    stage, pairs = analysis.comparison_pairs("search", runs, ["ref-a", "ref-b"], attribution=entries)
    assert stage == "final"
    assert pairs == [("trial-3", "ref-a"), ("trial-3", "ref-b"), ("best-x@ref-a-y", "ref-a")]


def _paired_runs(labels_means: dict[str, float], seeds: int = 8, stage: str = "final") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for s in range(seeds):
        noise = rng.normal(0, 0.01)
        for label, mean in labels_means.items():
            rows.append({"stage": stage, "status": "ok", "seed": 1000 + s, "label": label,
                         "final_avg_acc": mean + noise + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def test_attribution_gets_one_verdict_per_group_and_power_is_stated():
    runs = _paired_runs({"trial-1": 0.80, "ref": 0.70, "best-s@ref-lr": 0.79, "best-lr@ref-s": 0.705})
    entries = [{"group": "s", "fields": ["schedule"], "a": "best-s@ref-lr", "b": "ref", "best": "trial-1",
                "reference": "ref"},
               {"group": "lr", "fields": ["lr", "lr_decay"], "a": "best-lr@ref-s", "b": "ref", "best": "trial-1",
                "reference": "ref"}]
    result = analysis.analyse("s", runs, Comparisons("search", ("ref",), attribution=tuple(entries)),
                              Thresholds(power_effect=0.03))
    lines = analysis.attribution_lines(result)
    assert len(lines) == 2
    assert lines[0].startswith("s effect (schedule:") and "best-s@ref-lr" in lines[0] and "? yes:" in lines[0]
    assert lines[1].startswith("lr effect (lr, lr_decay:") and "? yes:" not in lines[1]
    table = analysis.power_table(result, 0.03)
    assert list(table["family"]) == [3, 3, 3] and list(table["seeds"]) == [8, 8, 8]
    row = next(r for r in result.rows if r["metric"] == "final_avg_acc" and r["a"] == "trial-1")
    assert table["seeds_needed"].iloc[0] == stats.seeds_needed(row["sd_diff"], effect=0.03, alpha=0.05, family=3)
    assert math.isclose(table["mde"].iloc[0], 100 * stats.min_detectable_effect(row["sd_diff"], 8, family=3))
    text = analysis.power_summary(result, 0.03)
    assert "3 comparisons under Holm, 8 paired seeds" in text and "detect 3 points" in text


def test_task_scaling_compares_accuracy_within_a_number_of_tasks():
    spec = get_spec("task_scaling")
    pairs = spec.grid_pairs()
    assert ("5 constant", "5 linear") in pairs and ("10 sqrt", "10 linear") in pairs
    assert all(a.split()[0] == b.split()[0] and b.split()[1] == "linear" for a, b in pairs)
    assert len(pairs) == 6
    runs = _paired_runs({"2 constant": 0.9, "2 linear": 0.9, "10 constant": 0.5, "10 linear": 0.6}, seeds=3,
                        stage="search")
    result = analysis.analyse("t", runs, Comparisons("grid", tuple(spec.compared_with()), pairs=tuple(pairs)))
    assert result.pairs == [("2 constant", "2 linear"), ("10 constant", "10 linear")]
    assert result.friedman is None  # no test across different numbers of tasks


def test_cost_exponent_has_a_confidence_interval():
    runs = pd.DataFrame([{"stage": "search", "status": "ok", "seed": s, "n_tasks": t, "schedule": "linear:300",
                          "label": f"{t} linear", "time_total_s": 0.1 * t ** 2 * (1 + 0.05 * s)}
                         for t in (2, 5, 10) for s in range(3)])
    fit = analysis.power_law_fits(runs)["linear"]
    assert fit["ci_low"] < fit["exponent"] < fit["ci_high"] and fit["consistent_with_expected"]


def test_study_runs_follow_set_n_tasks():
    spec = get_spec("replay_schedule", quick=True)
    setup = _setup("replay_schedule", sets=("n_tasks=2",))
    assert study_n_tasks(spec, setup) == 2 and study_n_tasks(spec, _setup("replay_schedule")) == 5
    assert study_n_tasks(spec, _setup("replay_schedule", n_tasks=10)) == 10
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"family": "manual"})
    trial = study.ask()
    overrides = spec.space(trial, study_n_tasks(spec, setup))
    assert overrides["schedule"].count(",") == 0  # one size: the task after the first
    make_config(spec, setup, [f"{k}={v}" for k, v in overrides.items()], 0)  # a valid config


def test_objective_direction_follows_the_metric():
    import dataclasses

    from gr_bench.orchestration.stages import _directions

    spec = get_spec("replay_schedule")
    setup = _setup("replay_schedule")
    assert _directions(spec, setup, "search") == ["maximize"]
    assert _directions(dataclasses.replace(spec, objective="avg_forgetting"), setup, "final") == ["minimize"]
    assert _directions(spec, dataclasses.replace(setup, multi_objective=True), "search") == ["maximize", "minimize"]


def test_evaluation_seeds_must_not_overlap_search_seeds():
    spec = get_spec("replay_schedule", quick=True)
    with pytest.raises(StudyError, match="also evaluation seeds"):
        check_seeds(spec, _setup("replay_schedule", seeds=(1000, 1001)))
    check_seeds(spec, _setup("replay_schedule", seeds=(0, 1)))
    check_seeds(get_spec("baselines"), _setup("baselines", seeds=(1000,)))  # a grid has no evaluation seeds


@pytest.mark.parametrize("args, needle", [
    (["study", "replay_schedule", "--quick", "--dataset", "digits", "--seeds", "1000,1001"], "evaluation seeds"),
    (["study", "generator_size", "--quick", "--dataset", "digits", "--seeds", "5,1000"], "1000"),
    (["study", "generator_size", "--quick", "--dataset", "digits", "--set", "n_tasks=3"], "n_tasks=3"),
    (["study", "replay_schedule", "--quick", "--dataset", "digits", "--target-effect", "0"], "--target-effect"),
    (["report", "nosuch", "--target-effect", "-1"], "--target-effect"),
    (["report", "nosuch", "--seed", "1"], "--seed"),
])
def test_bad_design_input_is_one_line_exit_2(args, needle, tmp_path):
    from gr_bench.cli import main

    err = io.StringIO()
    with redirect_stderr(err):
        code = main([*args, "--results", str(tmp_path)])
    text = err.getvalue()
    assert code == 2 and text.count("\n") == 1 and needle in text, text
    assert not any(tmp_path.rglob("*.db"))


def test_compare_uses_a_relative_minimum_for_costs():
    from gr_bench.report.two_configs import compare_runs

    order = [(label, s) for s in range(8) for label in ("a", "b")]
    rows = [{"stage": "final", "split": "test", "status": "ok", "seed": s, "label": label,
             "cpu_s": t * (1 + 0.001 * s), "started_at": at}
            for (label, s), at, t in zip(order, _timed(order), [10.0, 10.1] * 8)]
    out = compare_runs(pd.DataFrame(rows), "a", "b", "cpu_s")
    assert out["row"]["min_rel_effect"] == 0.05 and math.isclose(out["row"]["min_effect"], 0.05 * 10.1 * 1.0035)
    assert out["row"]["verdict"] in ("equivalent", "negligible")
    if out["row"]["verdict"] == "equivalent":
        assert "equivalent within ±5%" in out["line"]


def test_compare_never_judges_wall_clock():
    from gr_bench.report.two_configs import compare_runs

    order = [(label, s) for s in range(8) for label in ("a", "b")]  # interleaved, and still not judged
    rows = [{"stage": "final", "split": "test", "status": "ok", "seed": s, "label": label,
             "time_total_s": t * (1 + 0.001 * s), "started_at": at}
            for (label, s), at, t in zip(order, _timed(order), [10.0, 20.0] * 8)]
    out = compare_runs(pd.DataFrame(rows), "a", "b", "time_total_s")
    assert out["row"]["verdict"] == WALL_CLOCK_VERDICT and out["row"]["interleaved"] == "yes"
    assert out["row"]["diff"] < 0 and out["row"]["p_value"] < 1e-6  # the numbers stay, for reading


# --- wall-clock comparisons: never judged; whether they ran interleaved is recorded ---------------

def test_stages_queue_seed_major_so_a_seeds_runs_are_back_to_back():
    from gr_bench.orchestration import planned_points

    spec = get_spec("replay_schedule", quick=True)
    final = planned_points(spec, _setup("replay_schedule"), "final", ["x", "y", "z"])
    assert final == [{"config": c, "seed": s} for s in (1000, 1001) for c in ("x", "y", "z")]
    assert planned_points(spec, _setup("replay_schedule"), "final", ["x", "y"], seeds=(1002,)) == [
        {"config": "x", "seed": 1002}, {"config": "y", "seed": 1002}]
    grid = get_spec("baselines", quick=True)
    points = planned_points(grid, _setup("baselines", seeds=(0, 1, 2)), "search")
    methods = list(grid.grid["method"])
    assert [p["seed"] for p in points] == [s for s in (0, 1, 2) for _ in methods]
    assert [p["method"] for p in points] == methods * 3  # every configuration of a seed, then the next seed


def _timed(order: list[tuple[str, int]], start: str = "2025-01-01T00:00:00") -> list[str]:
    """ISO 8601 UTC start times, one minute apart, in the order given."""
    t0 = pd.Timestamp(start, tz="UTC")
    return [(t0 + pd.Timedelta(minutes=i)).isoformat() for i in range(len(order))]


def _when(order: list[tuple[str, int]], **extra) -> pd.DataFrame:
    return pd.DataFrame([{"label": label, "seed": seed, "started_at": at, **extra}
                         for (label, seed), at in zip(order, _timed(order))])


def test_interleaved_needs_each_seeds_runs_adjacent_in_the_pairs_start_order():
    from gr_bench.report.frames import interleaved

    seed_major = [(label, s) for s in (0, 1, 2) for label in ("a", "c", "b")]
    assert interleaved(_when(seed_major), "a", "b") is True  # c's runs in between do not count
    assert interleaved(_when([("b", 0), ("a", 0), ("a", 1), ("b", 1)]), "a", "b") is True  # either arm first
    config_major = [(label, s) for label in ("a", "b") for s in (0, 1, 2)]
    assert interleaved(_when(config_major), "a", "b") is False
    # one seed's runs apart is enough: seed 1 of a started between seed 0's runs
    assert interleaved(_when([("a", 0), ("a", 1), ("b", 0), ("b", 1)]), "a", "b") is False
    # a seed only one arm ran still counts as a run in between
    assert interleaved(_when([("a", 0), ("a", 9), ("b", 0)]), "a", "b") is False
    assert interleaved(_when([("a", 0), ("b", 1)]), "a", "b") is False  # no seed in common
    # missing start times: unknown (a runs.csv from before started_at was recorded)
    assert interleaved(_when(seed_major).drop(columns="started_at"), "a", "b") is None
    blank = _when(seed_major)
    blank.loc[0, "started_at"] = ""
    assert interleaved(blank, "a", "b") is None
    assert interleaved(pd.DataFrame(), "a", "b") is None
    # runs reused from the run cache were timed when they first ran
    assert interleaved(_when(seed_major, reused=True), "a", "b") is False
    assert interleaved(_when(seed_major, reused=False), "a", "b") is True


def _cost_runs(order: list[tuple[str, int]] | None) -> pd.DataFrame:
    """a costs 10 s (wall and CPU), b 20 s, on 8 seeds; started in ``order`` (None: no start times)."""
    rows = [{"stage": "search", "status": "ok", "label": label, "seed": s, "final_avg_acc": 0.5 + 0.01 * s,
             "time_total_s": base * (1 + 0.01 * s), "cpu_s": base * (1 + 0.01 * s)}
            for s in range(8) for label, base in (("a", 10.0), ("b", 20.0))]
    runs = pd.DataFrame(rows)
    if order is not None:
        at = dict(zip(order, _timed(order)))
        runs["started_at"] = [at[(r.label, r.seed)] for r in runs.itertuples()]
    return runs


def test_wall_clock_is_never_judged_interleaved_or_not():
    for order, interleaved in (([(label, s) for label in ("a", "b") for s in range(8)], "no"),
                               ([(label, s) for s in range(8) for label in ("a", "b")], "yes")):
        result = analysis.analyse("s", _cost_runs(order), Comparisons("grid", ("b",)))
        rows = {r["metric"]: r for r in result.rows}
        assert rows["cpu_s"]["verdict"] == "better" and rows["cpu_s"]["interleaved"] == ""  # CPU seconds: judged
        wall = rows["time_total_s"]
        assert wall["verdict"] == WALL_CLOCK_VERDICT and wall["interleaved"] == interleaved
        # the numbers stay, for reading
        assert math.isclose(wall["diff"], rows["cpu_s"]["diff"]) and wall["p_value"] < 1e-6
        assert wall["ci_high"] < 0 and wall["wall_clock"]
        assert analysis.stats_rows([wall])[0]["interleaved"] == interleaved
        assert verdicts.wall_clock_note(result.rows) == (
            "1 comparison on `time_total_s`: wall clock, not judged; their numbers are in the Statistics table for "
            "reading only; read `cpu_s` for a verdict on cost.")


def test_a_study_without_cpu_seconds_gets_no_cost_verdict_and_says_so():
    runs = _cost_runs(None).drop(columns="cpu_s")  # the headline cost is then the wall clock
    result = analysis.analyse("s", runs, Comparisons("grid", ("b",)))
    wall = next(r for r in result.rows if r["metric"] == "time_total_s")
    assert wall["verdict"] == WALL_CLOCK_VERDICT and wall["interleaved"] == "unknown (no start times)"
    line = next(line for line in analysis.verdict_lines(result) if "time_total_s" in line)
    assert f"? {WALL_CLOCK_VERDICT}: diff" in line
    assert "no CPU seconds or FLOP counts to judge cost by" in verdicts.wall_clock_note(result.rows)
    assert verdicts.wall_clock_note([r for r in result.rows if r["metric"] != "time_total_s"]) is None
