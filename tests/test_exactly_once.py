"""Exactly once: a trial retried after its worker died or stalled gives its runs once (the newest
attempt's), and the analysis refuses duplicates with one line instead of crashing."""
import time
import warnings

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from gr_bench import export
from gr_bench.config import RunConfig, with_overrides
from gr_bench.files import ResultsError
from gr_bench.report.analysis import check_once
from gr_bench.result import RunResult


def _run(seed: int, acc: float) -> dict:
    cfg = with_overrides(RunConfig(), [f"seed={seed}", "n_tasks=2", "dataset=digits"])
    return RunResult(config=cfg, dataset="digits", scenario="class", split="test", status="ok",
                     accuracy=[[acc, 0.1], [acc, acc]], initial_acc=[0.1, 0.1],
                     dataset_sha256="d" * 64).to_dict()


def test_a_retried_trial_gives_its_runs_once():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    dist = {"arm": CategoricalDistribution(["a", "b"]), "seed": CategoricalDistribution([0, 1])}

    def add(state, arm, seed, acc, **system):
        study.add_trial(create_trial(state=state, value=acc if state == TrialState.COMPLETE else None,
                                     params={"arm": arm, "seed": seed}, distributions=dist,
                                     user_attrs={"run:" + str(seed): _run(seed, acc)}, system_attrs=system))

    add(TrialState.COMPLETE, "a", 0, 0.8)
    # trial 1 stored its run, then its heartbeat lapsed: failed, and retried as trial 2
    add(TrialState.FAIL, "b", 0, 0.5)
    add(TrialState.COMPLETE, "b", 0, 0.6, failed_trial=1)
    rows = export.collect(storage, "s")
    assert [t["state"] for t in rows["trials"]] == ["COMPLETE", "FAIL", "COMPLETE"]  # every attempt listed
    runs = [(r["label"], r["seed"], r["final_avg_acc"]) for r in rows["runs"]]
    assert runs == [("a", 0, 0.8), ("b", 0, 0.6)]  # the retry's run, once
    assert {a["trial"] for a in rows["accuracy"]} == {0, 2}  # nothing from the failed attempt
    # the manifest says the study was stopped and resumed: its wall time is not one sitting
    assert export.report_inputs(export.stage_studies(storage, "s"), rows)["retried_trials"] == 1


def test_the_analysis_refuses_duplicates_with_one_line():
    runs = pd.DataFrame({"label": ["a", "a", "b"], "seed": [0, 0, 0], "final_avg_acc": [0.5, 0.6, 0.7]})
    once = r"1 \(configuration, seed\) pair\(s\) have more than one result \(a seed 0\)"
    with pytest.raises(ResultsError, match=once):
        check_once(runs)
    check_once(runs.drop_duplicates(["label", "seed"]))  # once each: fine


class _Killed(BaseException):
    """kill -9 of a worker, at a chosen line."""


def test_a_worker_killed_right_after_its_claim_leaves_a_trial_that_is_retried(tmp_path, monkeypatch):
    """The trial a worker claimed just before it died is failed once its heartbeat is stale and is
    queued again: without a heartbeat recorded before the claim, Optuna never judged it stale and
    the other workers waited for it forever."""
    from gr_bench import storage as storage_mod
    from gr_bench.orchestration import workers

    monkeypatch.setattr(storage_mod, "HEARTBEAT_S", 1)
    monkeypatch.setattr(storage_mod, "GRACE_S", 1)
    url = f"sqlite:///{tmp_path / 's.db'}"
    storage = storage_mod.open_storage(url)
    study = optuna.create_study(study_name="s", storage=storage)
    study.enqueue_trial({"x": 1})
    claim = type(storage).set_trial_state_values

    def die_after_claim(self, trial_id, state, values=None):
        claim(self, trial_id, state, values)
        raise _Killed  # the worker dies the moment its claim lands

    with monkeypatch.context() as m:
        m.setattr(type(storage), "set_trial_state_values", die_after_claim)
        with pytest.raises(_Killed):
            workers._claim(study, storage, url, lambda number: optuna.samplers.RandomSampler(seed=number))
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING]
    time.sleep(2.5)  # past the grace period (SQLite's clock has whole seconds)
    with warnings.catch_warnings():  # "experimental" in Optuna; gr-bench relies on it on purpose
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[1].system_attrs.get("failed_trial") == 0  # the retry names the dead attempt
