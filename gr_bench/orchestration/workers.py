"""Worker processes: claim WAITING trials exclusively, keep a heartbeat on the running one, run it."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from ..storage import claim_lock, open_storage
from . import repeat
from .pruning import TaskHalvingPruner
from .repeat import LaggedSearch
from .setup import Setup, study_n_tasks
from .spec import StudySpec, get_spec
from .stages import stage_counts, stage_done
from .trials import BenchCache, execute_trial

# --- workers ----------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """Linux: end this worker when the command that started it dies (kill -9 included)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _claim(study: optuna.Study, storage, url: str,
           sampler_for: Callable[[int], optuna.samplers.BaseSampler],
           lagged: LaggedSearch | None = None) -> optuna.Trial | None:
    """Atomically move one WAITING trial to RUNNING; None when there is none to take.

    The sampler is made for the claimed trial's number before the Trial object exists (Optuna
    samples relative parameters when it is built): seeded by trial number, two workers - on one
    machine or many - never propose the same parameters from the same history. A ``lagged`` search
    (repeat.py) takes a trial only once the trials it is sampled from have settled, and fixes its
    parameters as soon as it holds it.
    """
    # ``storage`` is the one the study was loaded from (Optuna's Study has no public accessor for it).
    trials = study.get_trials(deepcopy=False, states=None if lagged else (TrialState.WAITING,))
    for t in trials:
        if t.state != TrialState.WAITING:
            continue
        seen = None
        if lagged and repeat.needs_sampling(t):
            seen = lagged.ready(trials, t)
            if seen is None:  # sampled from trials still running: its turn has not come
                continue
        trial_id = _trial_id(storage, study, t.number)
        try:
            with claim_lock(url):
                # The heartbeat comes first: Optuna's fail_stale_trials never fails a RUNNING trial
                # that has no heartbeat, so a worker killed between the claim and its first heartbeat
                # left a trial that nobody retried, and the survivors waited for it forever (seen
                # once in the kill loop under load). A heartbeat on a trial still WAITING is harmless:
                # only RUNNING trials are judged stale, and the next claim beats again.
                storage.record_heartbeat(trial_id)
                claimed = storage.set_trial_state_values(trial_id, state=TrialState.RUNNING)
            if claimed:
                if seen is not None:
                    lagged.fix(storage, trial_id, t, seen)  # type: ignore[union-attr]
                study.sampler = sampler_for(repeat.logical(t) if lagged else t.number)
                return optuna.Trial(study, trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def _trial_id(storage, study: optuna.Study, number: int) -> int:
    """A trial's id in the storage, through the storage's public API (trials keep their id private)."""
    return storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(study.study_name), number)


class _Heartbeat:
    def __init__(self, storage, trial_id: int) -> None:
        self.storage, self.trial_id = storage, trial_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.storage.get_heartbeat_interval()):
            self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def _sampler(spec: StudySpec, setup: Setup, stage: str, trial_number: int) -> optuna.samplers.BaseSampler:
    if stage == "search" and spec.kind == "search":
        with warnings.catch_warnings():  # multivariate/group are "experimental"; they handle conditional spaces
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=17 + trial_number, multivariate=True, group=True,
                                              n_startup_trials=min(5, max(1, setup.trials // 3)))
    return optuna.samplers.RandomSampler(seed=trial_number)  # every parameter is fixed by the queue


def _test_delays() -> dict[int, float]:
    """GR_BENCH_TEST_DELAY="N:SECONDS,...": search trial N starts that many seconds late. Only
    tests set it, to make trials finish in another order than they started."""
    out = {}
    for item in filter(None, os.environ.get("GR_BENCH_TEST_DELAY", "").split(",")):
        number, seconds = item.split(":")
        out[int(number)] = float(seconds)
    return out


def _lagged(spec: StudySpec, setup: Setup, stage: str, study: optuna.Study) -> LaggedSearch | None:
    """The search stage's repeatable sampling rule (repeat.py); None for fixed queues and for a
    search stored before it, sampled from whatever has finished as it always was."""
    parallel = study.user_attrs.get(repeat.PARALLEL)
    if stage != "search" or spec.kind != "search" or not parallel:
        return None
    n_tasks = study_n_tasks(spec, setup)
    return LaggedSearch(int(parallel), lambda trial: spec.space(trial, n_tasks),  # type: ignore[misc]
                        lambda number: _sampler(spec, setup, stage, number), study.directions)


def worker_main(setup_json: str, stage: str, deadline: float | None) -> None:
    """A worker process: claim WAITING trials of the stage and run them until none is left."""
    _die_with_parent()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    setup = Setup.from_json(setup_json)
    spec = get_spec(setup.study, setup.quick)
    storage = open_storage(setup.storage_url)
    study = optuna.load_study(study_name=setup.stage_name(stage), storage=storage)
    lagged = _lagged(spec, setup, stage, study)
    study.pruner = (TaskHalvingPruner(study_n_tasks(spec, setup), len(setup.seeds),
                                      parallel=lagged.parallel if lagged else None)
                    if setup.prune else optuna.pruners.NopPruner())  # --no-prune
    final_configs = study.user_attrs.get("final_configs")
    benches = BenchCache(setup.data_dir)
    delays = _test_delays() if stage == "search" else {}
    while deadline is None or time.time() < deadline:
        with warnings.catch_warnings():  # "experimental" in Optuna; relied on on purpose
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial goes back in the queue
        trial = _claim(study, storage, setup.storage_url, lambda number: _sampler(spec, setup, stage, number), lagged)
        if trial is None:
            counts = stage_counts(study)
            if counts["running"] == 0 and (counts["waiting"] == 0 or not lagged):
                return
            # others are running: stay to take over their trial if they die, or (lagged) to take
            # the next trial as soon as the trials it is sampled from have settled; that wait is
            # polled often, as its latency is idle time and a poll is a few milliseconds of reads
            time.sleep(0.05 if lagged and counts["waiting"] else 1.0)
            continue
        with _Heartbeat(storage, _trial_id(storage, study, trial.number)):
            time.sleep(delays.get(trial.number, 0.0))
            try:
                execute_trial(trial, spec, setup, stage, benches, final_configs)
            except optuna.exceptions.UpdateFinishedTrialError:
                # Our heartbeat lapsed past the grace period (a stalled machine), so another worker
                # failed this trial and queued a retry; the retry's result is the one kept.
                print(f"gr-bench: trial {trial.number} was taken over after its heartbeat lapsed; "
                      "its retry is kept", file=sys.stderr)


def run_stage(setup: Setup, stage: str, study: optuna.Study, deadline: float | None,
              on_poll: Callable[[optuna.Study], None] | None = None, poll_s: float = 1.0) -> None:
    """Start the local workers on one stage and wait for them, polling the storage for progress."""
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited torch threads or locks
    procs = [ctx.Process(target=worker_main, args=(setup.to_json(), stage, deadline), daemon=True)
             for _ in range(setup.workers)]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            if on_poll:
                on_poll(study)
            for p in procs:
                p.join(timeout=poll_s / len(procs))
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
    if on_poll:
        on_poll(study)
    bad = [p.exitcode for p in procs if p.exitcode not in (0, None)]
    if bad and not stage_done(study) and (deadline is None or time.time() < deadline):
        raise RuntimeError(f"{len(bad)} worker(s) of stage {stage!r} exited with codes {bad}")
