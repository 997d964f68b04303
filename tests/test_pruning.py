"""Successive halving on tasks completed: where the rungs are, who goes on, and a real pruned search."""
import optuna
import pytest
from optuna.trial import TrialState, create_trial

from gr_bench.orchestration.pruning import TaskHalvingPruner, rung_steps, rung_value


def test_rungs_are_task_counts_in_the_first_seed_then_seed_ends():
    assert rung_steps(5, 1) == [1]  # after 2 tasks; 6 is past the seed
    assert rung_steps(5, 2) == [1, 4]  # ... and at the end of seed 0
    assert rung_steps(10, 1, reduction=3) == [1, 5]  # 2 and 6 tasks
    assert rung_steps(5, 1, reduction=2) == [1, 3]  # 2 and 4 tasks
    assert rung_steps(2, 1) == []  # nothing to save before the last task


def test_rung_value_at_a_seed_end_is_the_mean_of_the_seeds_so_far():
    t = create_trial(state=TrialState.RUNNING, intermediate_values={0: 1.0, 1: 0.6, 2: 1.0, 3: 0.8})
    assert rung_value(t, 1, n_tasks=2) == 0.6  # end of seed 0
    assert rung_value(t, 3, n_tasks=2) == pytest.approx(0.7)  # mean of seed 0 and seed 1 finals
    assert rung_value(t, 0, n_tasks=3) == 1.0


def _study_with(curves):
    study = optuna.create_study(direction="maximize")
    for curve in curves:
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=curve[-1],
                                     intermediate_values=dict(enumerate(curve))))
    return study


def _running(curve, number=99):
    t = create_trial(state=TrialState.RUNNING, intermediate_values=dict(enumerate(curve)))
    t.number = number
    return t


def test_only_the_top_third_goes_on_after_the_startup_trials():
    # 5 tasks, 1 seed: one rung, after task 2 (step 1)
    study = _study_with([[1.0, v, 0.6, 0.5, 0.4] for v in (0.90, 0.80, 0.70, 0.60, 0.50)])
    pruner = TaskHalvingPruner(n_tasks=5, n_seeds=1)
    assert not pruner.prune(study, _running([1.0, 0.95]))  # the best so far: top 1 of 6 goes on (6 // 3 = 2)
    assert not pruner.prune(study, _running([1.0, 0.85]))  # second best: still in the top 2
    assert pruner.prune(study, _running([1.0, 0.75]))  # third: out
    assert not pruner.prune(study, _running([1.0]))  # before the rung: nothing is judged
    assert not pruner.prune(study, _running([1.0, 0.1, 0.1]))  # past the rung, not at one


def test_startup_trials_always_go_on_and_the_last_step_is_never_pruned():
    pruner = TaskHalvingPruner(n_tasks=3, n_seeds=2, n_startup=3)
    study = _study_with([[1.0, 0.9, 0.8, 1.0, 0.9, 0.8], [1.0, 0.9, 0.85, 1.0, 0.9, 0.85]])
    assert not pruner.prune(study, _running([1.0, 0.1]))  # 2 others < 3 startup: goes on
    study = _study_with([[1.0, 0.9, 0.8, 1.0, 0.9, v] for v in (0.8, 0.85, 0.9)])
    assert pruner.prune(study, _running([1.0, 0.1]))  # now judged, and the worst
    # the end of seed 0 (step 2) is a rung on the seed's final value
    assert pruner.prune(study, _running([1.0, 0.9, 0.3]))
    assert not pruner.prune(study, _running([1.0, 0.9, 0.95]))
    assert not pruner.prune(study, _running([1.0, 0.9, 0.95, 1.0, 0.2, 0.1]))  # the last step: done


def test_a_nan_at_a_rung_is_pruned():
    study = _study_with([[1.0, v, 0.5] for v in (0.9, 0.8, 0.7)])
    assert TaskHalvingPruner(n_tasks=3, n_seeds=1).prune(study, _running([1.0, float("nan")]))
