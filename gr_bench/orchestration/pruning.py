"""Multi-fidelity search for continual learning: asynchronous successive halving on tasks completed.

A search trial trains its seeds one after another and reports, after every task, the average
accuracy over the tasks seen so far (step ``k * T + t``: seed k, task t, both from 0). The budget
axis is honest for continual learning: a trial's first tasks are exactly the start of its full
run, nothing is shortened or subsampled, so a promoted trial goes on where it stopped.

Rungs (the steps where a trial must earn its next budget):
- within the first seed, after ``min_tasks * reduction**i`` tasks (2, 6, 18, ... with the default
  3), as long as that is before the seed's last task. On 5 tasks that is one rung, after task 2,
  which costs about 36% of a seed-setting run (the replay set grows, so later tasks cost more);
- after every complete seed but the last, on the mean final accuracy of the seeds so far.

At a rung a trial goes on when its value is among the top ``1 / reduction`` of every trial that has
reached that rung so far (ASHA, Li et al. 2020; Optuna's SuccessiveHalvingPruner counts budget in
steps from 0 and would put a rung at the *start* of a later seed, where every trial reads 100%).
The first ``n_startup`` trials to reach a rung always go on, so early trials are not judged against
one or two others. A trial is never pruned at its last step: its work is done by then.

In a search that repeats (repeat.py: trial n is sampled from trials 0 .. n - P), "every trial that
has reached that rung so far" would depend on which trials happen to be running; there a trial is
judged against trials 0 .. n - P only, which have all settled before it starts.
"""
from __future__ import annotations

import math

import optuna
from optuna.trial import FrozenTrial, TrialState

from . import repeat


def rung_steps(n_tasks: int, n_seeds: int, min_tasks: int = 2, reduction: int = 3) -> list[int]:
    """The steps (0-based, as reported) at which a trial is judged."""
    steps, tasks = [], min_tasks
    while tasks < n_tasks:
        steps.append(tasks - 1)
        tasks *= reduction
    steps += [k * n_tasks + n_tasks - 1 for k in range(n_seeds - 1)]
    return steps


def rung_value(trial: FrozenTrial, step: int, n_tasks: int) -> float:
    """A trial's value at a rung: the reported value within the first seed; at the end of seed k,
    the mean final value of seeds 0..k (all trials share the seeds, so these compare like with like)."""
    values = trial.intermediate_values
    if step < n_tasks - 1:
        return values.get(step, math.nan)
    k = step // n_tasks
    finals = [values.get(j * n_tasks + n_tasks - 1, math.nan) for j in range(k + 1)]
    return sum(finals) / len(finals)


class TaskHalvingPruner(optuna.pruners.BasePruner):
    """Asynchronous successive halving on tasks completed (module docstring); maximises."""

    def __init__(self, n_tasks: int, n_seeds: int, *, min_tasks: int = 2, reduction: int = 3,
                 n_startup: int = 3, parallel: int | None = None) -> None:
        if reduction < 2 or min_tasks < 1:
            raise ValueError("reduction must be >= 2 and min_tasks >= 1")
        self.n_tasks, self.reduction, self.n_startup = n_tasks, reduction, n_startup
        self.rungs = rung_steps(n_tasks, n_seeds, min_tasks, reduction)
        self.last_step = n_tasks * n_seeds - 1
        self.parallel = parallel  # P of a repeatable search (repeat.py); None: every trial so far

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step >= self.last_step or step not in self.rungs:
            return False
        value = rung_value(trial, step, self.n_tasks)
        if math.isnan(value):
            return True
        trials = study.get_trials(deepcopy=False)
        if self.parallel:
            trials = repeat.history(trials, repeat.logical(trial) - self.parallel, partial=True) or []
        others = [rung_value(t, step, self.n_tasks) for t in trials
                  if t.number != trial.number and step in t.intermediate_values
                  and t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)]
        others = [v for v in others if not math.isnan(v)]
        if len(others) < self.n_startup:
            return False
        keep = max(1, (len(others) + 1) // self.reduction)  # the top 1/reduction, counting this trial
        better = sum(v > value for v in others)
        return better >= keep
