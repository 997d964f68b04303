"""--sequential (seeds in blocks, only for undecided comparisons, alpha spent over the looks) and
--no-prune (search trials at full fidelity). Fast apart from the one end-to-end run (slow)."""

import dataclasses
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from gr_bench import stats
from gr_bench.orchestration import Setup, StudyError, check_seeds, ensure_stage, get_spec, seed_choices, sequential
from gr_bench.orchestration.trials import execute_trial
from gr_bench.storage import load_study, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
GR = str(Path(sys.executable).parent / "gr-bench")


def _setup(name: str, **kw) -> Setup:
    return Setup(**{"study": name, "study_name": name, "storage_url": "", "results_dir": "", "quick": True,
                    "seeds": (0,), "eval_seeds": (1000, 1001, 1002, 1003, 1004), "dataset": "digits", **kw})


# --- the plan: looks and the alpha split ----------------------------------------------------

def test_the_plan_records_its_looks_boundary_and_seed_order():
    assert sequential.block_plan(12, 5) == [5, 10, 12]  # the last block is shorter
    assert sequential.block_plan(10, 5) == [5, 10] and sequential.block_plan(5, 5) == [5]
    assert sequential.look_alpha(0.05, 3) == 0.05 / 3  # an ad-hoc comparison outside the family
    plan = sequential.make_plan(get_spec("replay_schedule", quick=True), _setup("replay_schedule", sequential=12),
                                power_effect=0.03)
    assert (plan["block"], plan["looks"], plan["seeds_at"]) == (5, 3, [5, 10, 12])
    assert plan["alpha"] == 0.05 and plan["spending"] == "pocock" and plan["power_effect"] == 0.03
    assert plan["seed_order"] == list(range(1000, 1012))
    assert plan["metric"] == "final_avg_acc" and plan["history"] == [] and plan["stopped"] == ""
    levels = sequential.look_levels(plan)
    assert levels[0] == pytest.approx(0.05 * np.log(1 + (np.e - 1) * 5 / 12))
    assert all(0.05 / 3 < lv < 0.05 for lv in levels)
    text = sequential.describe(plan)
    assert "up to 3 looks of 5 seeds (cap 12), Lan–DeMets Pocock-type alpha spending of alpha = 0.05" in text
    assert f"{levels[0]:.3g}, {levels[1]:.3g}, {levels[2]:.3g} at looks 5, 10, 12 seeds" in text
    with pytest.raises(StudyError, match="--boundary"):
        sequential.make_plan(get_spec("replay_schedule", quick=True), _setup("replay_schedule", sequential=12),
                             spending="linear")
    for cap in (4, 0, -5):
        with pytest.raises(StudyError, match="at least the study's first block of 5"):
            sequential.block_plan(cap, 5)


def test_a_plan_stored_before_the_boundary_reads_as_the_even_split():
    legacy = {"cap": 5, "block": 3, "looks": 2, "seeds_at": [3, 5], "alpha": 0.05, "alpha_look": 0.025}
    looks = sequential.design(legacy, [4, 2, 0, 1, 3])
    assert looks.spending == "bonferroni" and looks.seeds == (frozenset({0, 1, 2}), frozenset(range(5)))
    assert sequential.look_levels(legacy) == [0.025, 0.025]


def test_seeds_continue_the_numbering_up_to_the_cap():
    search, grid = get_spec("replay_schedule", quick=True), get_spec("baselines", quick=True)
    plain = _setup("replay_schedule")
    assert seed_choices(search, plain) == plain.eval_seeds  # unchanged without --sequential
    assert seed_choices(search, dataclasses.replace(plain, sequential=12)) == tuple(range(1000, 1012))
    assert seed_choices(grid, _setup("baselines", seeds=(0, 1, 2))) == (0, 1, 2)
    assert seed_choices(grid, _setup("baselines", seeds=(0, 3, 7), sequential=7)) == (0, 3, 7, 8, 9, 10, 11)
    # the search seeds must stay clear of every evaluation seed a block may add
    with pytest.raises(StudyError, match="also evaluation seeds"):
        check_seeds(search, _setup("replay_schedule", seeds=(1008,), sequential=10))
    check_seeds(search, _setup("replay_schedule", seeds=(1008,)))


def test_a_plain_study_keeps_its_identity():
    plain = _setup("replay_schedule")
    assert set(plain.identity()) == {"study", "quick", "multi_objective", "dataset", "scenario", "n_tasks", "seeds",
                                     "eval_seeds", "sets", "definition"}
    assert dataclasses.replace(plain, sequential=10).identity() == {**plain.identity(), "sequential": 10}
    assert dataclasses.replace(plain, prune=False).identity() == {**plain.identity(), "prune": False}
    stored = json.loads(plain.to_json())  # a Setup stored before the new fields still loads
    del stored["sequential"], stored["prune"]
    assert Setup.from_json(json.dumps(stored)) == plain


# --- the decision ----------------------------------------------------------------------------

@pytest.mark.parametrize("verdict, settled", [
    ("better", True), ("worse", True), ("equivalent", True), ("equivalent within ±1 point", True),
    ("negligible", True), ("underpowered", False), ("no evidence", False), ("inconclusive", False)])
def test_which_verdicts_decide_a_comparison(verdict, settled):
    assert sequential.decided(verdict) is settled


def test_every_verdict_is_classified():
    assert {v for v in stats.VERDICTS if sequential.decided(v)} == set(sequential.DECIDED)


def _rows(*verdicts: str, metric: str = "final_avg_acc") -> list[dict]:
    return [{"metric": metric, "a": f"c{i}", "b": "ref", "verdict": v} for i, v in enumerate(verdicts)]


def test_a_look_goes_on_while_a_comparison_is_undecided_below_the_cap():
    plan = sequential.make_plan(get_spec("replay_schedule", quick=True), _setup("replay_schedule", sequential=12))
    go_on = sequential.decide(_rows("better", "underpowered") + _rows("worse", metric="time_total_s"), plan, 5)
    assert go_on["stopped"] == "" and go_on["next"] == 10 and go_on["look"] == 1
    assert go_on["undecided"] == ["c1 vs ref"] and len(go_on["verdicts"]) == 2  # the primary family only
    assert go_on["open"] == ["c1", "ref"]  # only the undecided comparison's configurations get seeds
    done = sequential.decide(_rows("better", "equivalent within ±1 point", "negligible"), plan, 10)
    assert done["stopped"] == "every comparison was decided" and done["look"] == 2
    capped = sequential.decide(_rows("no evidence", "inconclusive"), plan, 12)
    assert capped["stopped"].startswith("the cap of 12 seeds was reached with 2 of 2") and capped["next"] is None
    assert sequential.decide([], plan, 5)["stopped"] == "there is no comparison to decide"
    plan["history"], plan["stopped"] = [dict(capped)], capped["stopped"]
    assert "stopped after 1 look, 12 seeds, because the cap" in sequential.describe(plan)


# --- blocks, queued once, continued from storage ------------------------------------------------

def _grid_stage(tmp_path, cap: int):
    spec = get_spec("baselines", quick=True)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    setup = _setup("baselines", storage_url=url, results_dir=str(tmp_path), seeds=(0, 1, 2), sequential=cap)
    storage = open_storage(url)
    plan = sequential.make_plan(spec, setup)
    return spec, setup, storage, ensure_stage(storage, spec, setup, "search", sequential=plan)


def _fixed(study) -> list[tuple]:
    return sorted(tuple(sorted(t.system_attrs["fixed_params"].items())) for t in study.get_trials(deepcopy=False))


def test_a_block_is_queued_once_for_every_configuration(tmp_path):
    spec, setup, storage, study = _grid_stage(tmp_path, cap=7)
    points = len(_fixed(study)) // 3
    assert study.user_attrs["sequential"]["seeds_at"] == [3, 6, 7] and study.user_attrs["budget"] == 3 * points
    assert sequential.stage_seeds(study, seed_choices(spec, setup)) == [0, 1, 2]
    assert sequential.add_block(storage, spec, setup, study, 6) == 3 * points
    assert sequential.add_block(storage, spec, setup, study, 6) == 0  # another process (or a resume): nothing twice
    again = load_study(storage, setup.study_name)  # what a resumed process reads: the seeds are in storage
    assert sequential.stage_seeds(again, seed_choices(spec, setup)) == [0, 1, 2, 3, 4, 5]
    assert again.user_attrs["budget"] == 6 * points and len(set(_fixed(again))) == len(_fixed(again))
    # queued seed by seed, as the first block: every configuration of seed 3, then of seed 4, ...
    fixed = [t.system_attrs["fixed_params"] for t in sorted(again.get_trials(deepcopy=False), key=lambda t: t.number)]
    assert [p["seed"] for p in fixed] == [s for s in range(6) for _ in range(points)]
    assert ensure_stage(storage, spec, setup, "search").user_attrs["sequential"]["cap"] == 7  # the stored plan
    with pytest.raises(StudyError, match="sequential=7"):  # a resume may not drop or change --sequential
        ensure_stage(storage, spec, dataclasses.replace(setup, sequential=None), "search")


def test_a_block_goes_only_to_the_open_configurations(tmp_path):
    spec, setup, storage, study = _grid_stage(tmp_path, cap=6)
    labels = sorted({t.system_attrs["fixed_params"]["method"] for t in study.get_trials(deepcopy=False)})
    open_ = labels[:2]
    assert sequential.add_block(storage, spec, setup, study, 6, open_) == 3 * 2
    new = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)
           if t.system_attrs["fixed_params"]["seed"] >= 3]
    assert sorted({p["method"] for p in new}) == open_ and sorted({p["seed"] for p in new}) == [3, 4, 5]
    assert study.user_attrs["budget"] == 3 * len(labels) + 6


def test_a_stage_stored_in_the_earlier_configuration_major_order_resumes_as_it_was(tmp_path):
    spec = get_spec("baselines", quick=True)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    setup = _setup("baselines", storage_url=url, results_dir=str(tmp_path), seeds=(0, 1, 2), sequential=6)
    storage = open_storage(url)
    methods = list(spec.grid["method"])
    old = [{"method": m, "seed": s} for m in methods for s in (0, 1, 2)]  # configuration-major, as stored before
    study = optuna.create_study(study_name=setup.study_name, storage=storage, direction="maximize")
    study.set_user_attr("setup", setup.identity())
    study.set_user_attr("sequential", sequential.make_plan(spec, setup))
    for p in old:
        study.enqueue_trial(p, skip_if_exists=False)
    study.set_user_attr("budget", len(old))

    def queue(st) -> list[dict]:
        return [t.system_attrs["fixed_params"] for t in sorted(st.get_trials(deepcopy=False), key=lambda t: t.number)]

    resumed = ensure_stage(storage, spec, setup, "search")
    assert queue(resumed) == old and resumed.user_attrs["budget"] == len(old)  # nothing re-queued or reordered
    assert sequential.add_block(storage, spec, setup, resumed, 6) == 3 * len(methods)
    assert queue(resumed) == old + [{"method": m, "seed": s} for s in (3, 4, 5) for m in methods]


def test_a_block_left_half_queued_by_a_killed_process_is_completed(tmp_path, monkeypatch):
    spec, setup, storage, study = _grid_stage(tmp_path, cap=6)
    marker = optuna.create_study(study_name=f"{study.study_name}:seeds-6", storage=storage)  # killed right after
    study.enqueue_trial({**study.get_trials(deepcopy=False)[0].system_attrs["fixed_params"], "seed": 3})
    monkeypatch.setattr(sequential.time, "sleep", lambda s: None)  # the wait for its creator, without waiting
    points = len(_fixed(study)) // 3
    assert sequential.add_block(storage, spec, setup, study, 6) == 3 * points - 1
    assert len(set(_fixed(study))) == len(_fixed(study)) == 6 * points and "queued" in marker.user_attrs


# --- the command line ----------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["study", "replay_schedule", "--quick", "--sequential", "1"], "first block of 2"),
    (["study", "replay_schedule", "--quick", "--sequential", "2.5"], "--sequential"),
    (["study", "replay_schedule", "--quick", "--sequential", "many"], "--sequential"),
    (["study", "baselines", "--quick", "--no-prune"], "--no-prune"),
])
def test_bad_sequential_or_no_prune_is_one_line_exit_2(args, needle, tmp_path):
    from gr_bench.cli import main

    err = io.StringIO()
    with redirect_stderr(err):
        code = main([*args, "--dataset", "digits", "--results", str(tmp_path)])
    assert code == 2 and err.getvalue().count("\n") == 1 and needle in err.getvalue(), err.getvalue()
    assert not any(tmp_path.rglob("*.db"))


def test_no_prune_is_named_and_part_of_the_identity(tmp_path):
    from gr_bench.orchestration.launch import StudyRequest, checked_setup

    spec = get_spec("replay_schedule", quick=True)
    request = StudyRequest(name="replay_schedule", quick=True, results=tmp_path, dataset="digits", seeds=(0,),
                           dry_run=True)
    setup = checked_setup(spec, dataclasses.replace(request, prune=False))
    assert setup.study_name == "replay_schedule-digits-quick-full" and setup.identity()["prune"] is False
    setup = checked_setup(spec, dataclasses.replace(request, sequential=6))
    assert setup.study_name == "replay_schedule-digits-quick" and setup.sequential == 6


class _CountingPruner(optuna.pruners.BasePruner):
    def __init__(self) -> None:
        self.calls = 0

    def prune(self, study, trial) -> bool:
        self.calls += 1
        return False


@pytest.mark.parametrize("prune", [True, False])
def test_no_prune_never_consults_the_pruner(prune, monkeypatch):
    from gr_bench import runcache

    # a search that prunes (replay_schedule itself does not: its spec says prune=False)
    spec = dataclasses.replace(get_spec("replay_schedule", quick=True), prune=True)
    setup = _setup("replay_schedule", prune=prune)

    def fake_run(setup, cfg, bench, split, on_task_end=None, runner=None):  # a complete run, no training
        for t in range(cfg.data.n_tasks):
            if on_task_end:
                on_task_end(t, [0.5] * (t + 1))
        result = SimpleNamespace(status="ok", config=cfg, to_dict=lambda: {"seed": cfg.seed},
                                 metrics=lambda: {"final_avg_acc": 0.5})
        return result, False

    monkeypatch.setattr(runcache, "run_or_reuse", fake_run)
    pruner = _CountingPruner()
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.enqueue_trial({})
    execute_trial(study.ask(), spec, setup, "search", lambda cfg: None, None)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE
    assert (pruner.calls > 0, len(trial.intermediate_values) > 0) == (prune, prune)


# --- end to end --------------------------------------------------------------------------

@pytest.mark.slow
def test_a_sequential_study_adds_seeds_and_its_report_gives_the_same_verdicts(tmp_path):
    """replay_schedule --quick evaluates on 2 seeds: too few for any verdict, so the first look must
    add the next block to every configuration (each is in an undecided comparison); the cap of 4
    makes 2 looks under Pocock-type spending."""
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [GR, "study", "replay_schedule", "--quick", "--dataset", "digits", "--workers", "1", "--sequential", "4",
           "--results", str(tmp_path)]
    ran = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert ran.returncode == 0, ran.stderr
    assert "sequential look 1: 2 seeds," in ran.stdout and "adding seeds up to 4 for" in ran.stdout
    assert "sequential look 2: 4 seeds" in ran.stdout
    folder = tmp_path / "replay_schedule-digits-quick"
    runs = pd.read_csv(folder / "runs.csv")
    final = runs[runs["stage"] == "final"]
    assert sorted(final["seed"].unique()) == [1000, 1001, 1002, 1003]
    assert final.groupby("label")["seed"].nunique().eq(4).all()  # every configuration got the new block
    storage = open_storage(f"sqlite:///{folder / 'study.db'}")
    plan = load_study(storage, "replay_schedule-digits-quick:final").user_attrs["sequential"]
    assert [h["seeds"] for h in plan["history"]] == [2, 4] and plan["spending"] == "pocock" and plan["stopped"]
    first = pd.read_csv(folder / "stats.csv")
    primary = first[first["metric"] == "final_avg_acc"]
    assert dict(zip(primary["a"] + " vs " + primary["b"], primary["verdict"])) == plan["history"][-1]["verdicts"]
    assert (first["alpha"] == 0.05).all() and set(first["looks"]) <= {1, 2}
    text = (folder / "report.md").read_text()
    assert "Sequential: up to 2 looks of 2 seeds (cap 4), Lan–DeMets Pocock-type alpha spending of alpha = 0.05" in text
    assert "stopped after 2 looks" in text

    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)  # a resume: nothing to add
    assert again.returncode == 0, again.stderr
    assert "sequential look 2: 4 seeds" in again.stdout and "look 1" not in again.stdout
    assert len(pd.read_csv(folder / "runs.csv")) == len(runs)

    report = subprocess.run([GR, "report", "replay_schedule-digits-quick", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert report.returncode == 0, report.stderr
    rebuilt = pd.read_csv(folder / "stats.csv")
    assert rebuilt["verdict"].tolist() == first["verdict"].tolist() and (rebuilt["alpha"] == 0.05).all()
    assert "stopped after 2 looks, 4 seeds" in report.stdout

    # gr-bench compare on it tests at the looks' alpha too, and says so
    compare = subprocess.run([GR, "compare", "best-1", "seed-linear:1000", "--study", "replay_schedule-digits-quick",
                              "--results", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert compare.returncode == 0, compare.stderr
    assert "2 planned looks): testing at alpha 0.05/2 = 0.025" in compare.stderr


def test_a_dry_run_states_the_sequential_plan(tmp_path, capsys):
    from gr_bench.cli import main

    code = main(["study", "precision", "--dry-run", "--sequential", "20", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "up to 20 seeds in 4 looks" in out and "pocock spending of alpha 0.05" in out, out
