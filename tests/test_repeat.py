"""A search that repeats (gr_bench/orchestration/repeat.py): trial n is sampled from trials 0 .. n - P
only, so the trials searched and the best found do not depend on which trials finished first;
a retried trial runs the parameters of the attempt it retries; the pruner judges against the same
trials. The slow tests run a real quick search twice, with different trials made late, on SQLite
and on PostgreSQL, and compare the trials.csv both leave."""

from __future__ import annotations

import csv
import datetime
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from gr_bench.orchestration import repeat
from gr_bench.orchestration.pruning import TaskHalvingPruner
from gr_bench.orchestration.repeat import LaggedSearch
from tests.test_distributed import pg_url  # noqa: F401  (the PostgreSQL server fixture, reused)

GR = str(Path(sys.executable).parent / "gr-bench")
ROOT = Path(__file__).resolve().parents[1]


def _space(trial: optuna.Trial) -> None:
    trial.suggest_categorical("kind", ("a", "b"))
    trial.suggest_float("x", 0.0, 1.0)


def _lagged(study: optuna.Study, parallel: int = 2) -> LaggedSearch:
    # one random start trial, then TPE: the third trial on is drawn from what the sampler sees
    return LaggedSearch(parallel, _space, lambda n: optuna.samplers.TPESampler(seed=17 + n, n_startup_trials=1),
                        study.directions)


def _queue(tmp_path: Path, name: str, n: int = 5):
    from gr_bench.storage import open_storage

    url = f"sqlite:///{tmp_path / (name + '.db')}"
    storage = open_storage(url)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    for _ in range(n):
        study.enqueue_trial({}, skip_if_exists=False)
    return study, storage, url


def _claim(study, storage, url, lagged):
    from gr_bench.orchestration.workers import _claim as claim

    return claim(study, storage, url, lambda n: optuna.samplers.RandomSampler(seed=n), lagged)


def _run(trial: optuna.Trial) -> float:
    _space(trial)  # the parameters come from the trial's fixed ones: nothing is sampled here
    return trial.params["x"] + (trial.params["kind"] == "b")


def test_a_trial_starts_only_once_the_trials_it_is_sampled_from_have_ended(tmp_path):
    study, storage, url = _queue(tmp_path, "s")
    lagged = _lagged(study)
    t0, t1 = _claim(study, storage, url, lagged), _claim(study, storage, url, lagged)
    assert (t0.number, t1.number) == (0, 1)  # sampled from no trial: both start at once
    assert _claim(study, storage, url, lagged) is None  # trial 2 is sampled from trial 0, still running
    study.tell(t1, _run(t1))
    assert _claim(study, storage, url, lagged) is None  # trial 1 ending first changes nothing
    study.tell(t0, _run(t0))
    t2 = _claim(study, storage, url, lagged)
    assert t2.number == 2
    frozen = study.get_trials(deepcopy=False)
    fixed = frozen[2].system_attrs["fixed_params"]
    assert frozen[2].system_attrs[repeat.SAMPLED] is True
    expected = repeat.sample(_space, optuna.samplers.TPESampler(seed=19, n_startup_trials=1), study.directions,
                             [frozen[0]], {})
    assert fixed == expected  # drawn from trial 0 alone, with trial 2's own seed
    _run(t2)
    assert t2.params == fixed


def test_the_trials_searched_do_not_depend_on_which_finished_first(tmp_path):
    """Two queues run alike, except that their trials end in other orders (and, in one, trial 3
    starts before trial 2 is told): every trial gets the same parameters."""
    params = []
    for name, late in (("early", ()), ("late", (0, 2))):
        study, storage, url = _queue(tmp_path, name, n=6)
        lagged = _lagged(study)
        running: dict[int, optuna.Trial] = {}
        while len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 6:
            while (t := _claim(study, storage, url, lagged)) is not None:
                running[t.number] = t
            # end one running trial: the oldest, or (late) the newest first where a late one runs
            numbers = sorted(running)
            pick = numbers[-1] if any(n in late for n in numbers) and len(numbers) > 1 else numbers[0]
            t = running.pop(pick)
            study.tell(t, _run(t))
        params.append([t.params for t in study.get_trials(deepcopy=False)])
    assert params[0] == params[1]


def test_what_settles_a_trial():
    now = datetime.datetime.now()
    done = create_trial(state=TrialState.COMPLETE, value=1.0)
    assert repeat.settled(done)
    failed_run = create_trial(state=TrialState.FAIL, user_attrs={"reason": "seed 0: diverged"})
    assert repeat.settled(failed_run)  # its own run failed: never retried
    stale = create_trial(state=TrialState.FAIL)
    stale.datetime_complete = now
    assert not repeat.settled(stale, now)  # its heartbeat lapsed: a retry is on its way
    assert repeat.settled(stale, now + datetime.timedelta(seconds=repeat.LOST_RETRY_S + 1))  # that never came
    spent = create_trial(state=TrialState.FAIL, system_attrs={"failed_trial": 2, "retry_history": [2, 5, 6]})
    spent.datetime_complete = now
    assert repeat.settled(spent, now) and repeat.logical(spent) == 2  # retries spent; it stands for trial 2
    assert not repeat.settled(create_trial(state=TrialState.WAITING))


def test_a_retry_stands_for_the_trial_it_retries():
    first = create_trial(state=TrialState.FAIL)
    first.number = 1
    retry = create_trial(state=TrialState.COMPLETE, value=0.5, system_attrs={"failed_trial": 1})
    retry.number = 4
    other = create_trial(state=TrialState.COMPLETE, value=0.2)
    other.number = 0
    assert repeat.history([first, retry, other], upto=1) == [other, retry]
    assert repeat.history([first, retry, other], upto=3) == [other, retry]  # 4 is a retry, not trial 4


class _Killed(BaseException):
    """kill -9 of a worker, at a chosen line."""


def test_a_killed_trial_is_retried_with_the_parameters_it_would_have_run(tmp_path, monkeypatch):
    """Killed after its parameters were fixed, the retry runs them without sampling; killed
    before, the retry samples them again from the same trials, with the same seed."""
    from gr_bench import storage as storage_mod

    monkeypatch.setattr(storage_mod, "HEARTBEAT_S", 1)
    monkeypatch.setattr(storage_mod, "GRACE_S", 1)
    study, storage, url = _queue(tmp_path, "k", n=4)
    lagged = _lagged(study)
    for _ in range(2):
        t = _claim(study, storage, url, lagged)
        study.tell(t, _run(t))
    t2 = _claim(study, storage, url, lagged)  # fixed, then its worker dies mid-run
    fixed2 = study.get_trials(deepcopy=False)[2].system_attrs["fixed_params"]

    def die(*args, **kwargs):
        raise _Killed

    with monkeypatch.context() as m:  # trial 3's worker dies between its claim and sampling
        m.setattr(LaggedSearch, "fix", die)
        with pytest.raises(_Killed):
            _claim(study, storage, url, lagged)
    seen = repeat.history(study.get_trials(deepcopy=False), 3 - 2)
    expected3 = repeat.sample(_space, optuna.samplers.TPESampler(seed=20, n_startup_trials=1), study.directions,
                              seen, {})
    del t2
    time.sleep(2.5)  # past the grace period (SQLite's clock has whole seconds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    retries = []
    while (t := _claim(study, storage, url, lagged)) is not None:
        value = _run(t)
        retries.append((repeat.logical(study.get_trials(deepcopy=False)[t.number]), t.params))
        study.tell(t, value)
    assert sorted(retries, key=lambda r: r[0]) == [(2, fixed2), (3, expected3)]


def test_the_pruner_judges_a_trial_against_the_trials_it_was_sampled_from():
    study = optuna.create_study(direction="maximize")
    for v in (0.9, 0.8, 0.7):  # trials 0-2 at the rung after task 2 (step 1)
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=v, intermediate_values={0: 1.0, 1: v}))
    trial = create_trial(state=TrialState.RUNNING, intermediate_values={0: 1.0, 1: 0.1})
    trial.number = 3
    assert TaskHalvingPruner(n_tasks=5, n_seeds=1).prune(study, trial)  # against all three: out
    # sampled from trials 0-1 only (P = 2): 2 others are under the 3 startup trials, it goes on
    # whether or not trial 2 happened to finish first
    assert not TaskHalvingPruner(n_tasks=5, n_seeds=1, parallel=2).prune(study, trial)
    trial.number = 4
    assert TaskHalvingPruner(n_tasks=5, n_seeds=1, parallel=1).prune(study, trial)


# --- a real quick search, run twice with other trials made late ---------------------------------

SEARCH = ["study", "replay_schedule", "--quick", "--dataset", "digits", "--workers", "2", "--trials", "6"]
# P = 2 trials run at once: without the rule, the first of these let trial 1 end before trial 0
# and the second trial 2 before trial 1, and the sampler saw other trials (it did, from trial 0 on)
DELAYS = ("0:4,3:3", "1:4,2:3")


def _search(results: Path, name: str, delay: str, storage: str | None) -> tuple[list[dict], dict, list[int]]:
    """trials.csv's search rows (parameters and value), the manifest's final configurations, and
    the order in which the search trials ended."""
    env = {**os.environ, "COLUMNS": "200", "GR_BENCH_TEST_DELAY": delay}
    where = ["--storage", storage] if storage else []
    p = subprocess.run([GR, *SEARCH, "--results", str(results), "--study-name", name, *where], capture_output=True,
                       text=True, timeout=900, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    folder = results / name
    with open(folder / "trials.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["stage"] == "search"]
    search = [{k: v for k, v in r.items() if k.startswith("param_") or k in ("number", "state", "value", "settings")}
              for r in rows]
    finals = json.loads((folder / "manifest.json").read_text())["final_configs"]
    return search, finals, _end_order(storage or f"sqlite:///{folder / 'study.db'}", name)


def _end_order(url: str, name: str) -> list[int]:
    from gr_bench.storage import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(url))
    return [t.number for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.datetime_complete)]


def _twice(tmp_path: Path, storage: str | None) -> None:
    # two study names: on PostgreSQL both searches live in one database
    (a, final_a, order_a), (b, final_b, order_b) = (_search(tmp_path / str(i), f"repeat-{i}", delay, storage)
                                                    for i, delay in enumerate(DELAYS))
    assert order_a != order_b, f"the trials ended in the same order ({order_a}): the test compared nothing"
    assert len(a) == 6 and {r["state"] for r in a} == {"COMPLETE"}
    assert a == b  # every search trial's parameters and value
    assert final_a == final_b  # the same best, so the same final stage


@pytest.mark.slow
def test_a_quick_search_repeats_whatever_the_order_its_trials_end_in(tmp_path):
    _twice(tmp_path, None)


@pytest.mark.slow
def test_a_quick_search_on_postgresql_repeats(tmp_path, pg_url):  # noqa: F811
    _twice(tmp_path, pg_url)


def test_the_idle_script_replays_durations_through_both_rules():
    from scripts.search_idle import simulate

    # two workers; trial 3 is sampled from trials 0-1 and must wait for the long trial 1
    assert simulate([1.0, 3.0, 1.0, 1.0], parallel=2, lagged=False) == (0.0, 3.0)
    assert simulate([1.0, 3.0, 1.0, 1.0], parallel=2, lagged=True) == (1.0, 4.0)
