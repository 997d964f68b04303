"""A search that repeats: which trials it runs does not depend on which ones finished first.

With several workers asking Optuna in turn, a trial's sampler sees whatever trials happen to have
finished when it starts, so two runs of one study on one machine searched different trials once
the sampler left its random start. Here trial n (its logical number: a retry stands for the trial
it retries) is sampled from trials 0 .. n - P only, by a sampler seeded by n, where P is the
number of search trials that may run at once, fixed when the search stage is created (the
creating command's --workers) and stored with it. A worker takes trial n only once every trial
up to n - P has settled; it samples n's parameters in a copy of those P-lagged trials and stores
them as n's fixed parameters before running it, so a retry runs the same ones. The pruner judges
a trial against the same trials (pruning.TaskHalvingPruner).

This is a sliding window rather than barriers between batches: when trials finish in the order
they started, a worker never waits; it waits only for an older trial that is still running.

A stage stored before this had no P and is sampled as it always was (from whatever has finished).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState, create_trial

from ..storage import MAX_RETRY

PARALLEL = "parallel"  # the search stage's user attribute: P, the trials sampled before any is known
SAMPLED = "sampled"  # system attribute: the trial's fixed_params hold every parameter it runs
# A trial failed for a stale heartbeat gets its retry queued at once by the process that failed
# it; one still without a retry this long after (that process died in between) never gets one.
LOST_RETRY_S = 120.0


def logical(t: FrozenTrial) -> int:
    """The trial an attempt stands for: a retry's first attempt's number (Optuna's
    RetryFailedTrialCallback names it "failed_trial" on every retry of a chain)."""
    return int(t.system_attrs.get("failed_trial", t.number))


def standing(trials: Iterable[FrozenTrial]) -> dict[int, FrozenTrial]:
    """Each logical trial's latest attempt."""
    out: dict[int, FrozenTrial] = {}
    for t in sorted(trials, key=lambda t: t.number):
        out[logical(t)] = t
    return out


def settled(t: FrozenTrial, now: datetime.datetime | None = None) -> bool:
    """Whether a trial's latest attempt is its last: complete, pruned, or failed for good.

    A trial failed by its own run has a reason and is never retried; one failed for a stale
    heartbeat is retried (up to MAX_RETRY times), so it is settled only when its retries are spent
    or its retry was lost (LOST_RETRY_S)."""
    if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    if t.state != TrialState.FAIL:
        return False
    if "reason" in t.user_attrs or len(t.system_attrs.get("retry_history", [])) >= MAX_RETRY:
        return True
    now = now or datetime.datetime.now()
    return t.datetime_complete is not None and (now - t.datetime_complete).total_seconds() > LOST_RETRY_S


def history(trials: Iterable[FrozenTrial], upto: int, partial: bool = False) -> list[FrozenTrial] | None:
    """The latest attempts of logical trials 0 .. upto, in order: what trial upto + P is sampled
    from. None while one of them has not settled (``partial``: leave those out instead)."""
    latest = standing(trials)
    now = datetime.datetime.now()
    out = []
    for n in sorted(k for k in latest if k <= upto):  # a retry's own number stands for no trial
        t = latest[n]
        if not settled(t, now):
            if partial:
                continue
            return None
        out.append(t)
    return out


def needs_sampling(t: FrozenTrial) -> bool:
    return not t.system_attrs.get(SAMPLED)


def sample(space: Callable[[optuna.Trial], object], sampler: optuna.samplers.BaseSampler,
           directions: list[optuna.study.StudyDirection], seen: list[FrozenTrial],
           fixed: dict[str, object]) -> dict[str, object]:
    """The parameters ``space`` draws with ``sampler`` in a study holding only ``seen`` (its
    settled trials: state, values, parameters, intermediate values), keeping ``fixed``."""
    view = optuna.create_study(storage=optuna.storages.InMemoryStorage(), sampler=sampler, directions=directions)
    for t in seen:
        # a pruned trial keeps the last value it reported; a failed one has none
        values = t.values if t.state in (TrialState.COMPLETE, TrialState.PRUNED) else None
        view.add_trial(create_trial(state=t.state, values=values, params=t.params, distributions=t.distributions,
                                    intermediate_values=t.intermediate_values))
    if fixed:
        view.enqueue_trial(fixed)
    trial = view.ask()
    space(trial)
    return dict(trial.params)


class LaggedSearch:
    """One search stage's rule: P, and how a trial's parameters are drawn (worker side)."""

    def __init__(self, parallel: int, space: Callable[[optuna.Trial], object],
                 sampler_for: Callable[[int], optuna.samplers.BaseSampler],
                 directions: list[optuna.study.StudyDirection]) -> None:
        self.parallel, self.space, self.sampler_for, self.directions = parallel, space, sampler_for, directions

    def ready(self, trials: list[FrozenTrial], t: FrozenTrial) -> list[FrozenTrial] | None:
        """What ``t`` is sampled from, once every trial of it has settled; None before."""
        return history(trials, logical(t) - self.parallel)

    def fix(self, storage, trial_id: int, t: FrozenTrial, seen: list[FrozenTrial]) -> None:
        """Draw ``t``'s parameters from ``seen`` and store them as its fixed parameters, marked as
        complete: a retry of it (which copies them) runs the same configuration without sampling."""
        fixed = dict(t.system_attrs.get("fixed_params") or {})
        params = sample(self.space, self.sampler_for(logical(t)), self.directions, seen, fixed)
        storage.set_trial_system_attr(trial_id, "fixed_params", {**params, **fixed})
        storage.set_trial_system_attr(trial_id, SAMPLED, True)
