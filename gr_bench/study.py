"""Studies: many configurations x seeds on Optuna, stored, resumable, on one machine or many.

A study has up to two stages, each an Optuna study in the same storage:
- ``search`` (replay_schedule, lr, generator_size): a seeded TPE sampler proposes a configuration per
  trial; each trial runs it on every search seed on the *validation* split; the objective is the
  mean over seeds. Pruning uses the average accuracy reported after each task.
  ``final``: the best configurations (and a reference) re-run on the *test* split with evaluation
  seeds never used in the search, one trial per (configuration, seed).
- ``grid`` (baselines, memory, task_scaling, generator, replay_mode): one trial per (grid point, seed) on the test split.

Budgets are exact across workers and machines: the process that creates a stage enqueues its
trials as WAITING, and workers only claim WAITING trials (an atomic state change in the storage),
so no worker ever creates a surplus trial. A worker keeps a heartbeat on its running trial; when
it dies, the trial goes stale, is failed and queued again (RetryFailedTrialCallback), so a re-run
of the same command finishes exactly the missing work. Per-seed results are stored as trial user
attributes only when the trial ends, so a killed trial leaves nothing half-stored.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import multiprocessing
import os
import pkgutil
import shlex
import signal
import sys
import socket
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import TrialState

from .config import RunConfig, flatten, with_overrides
from .labels import settings_dict
from .pruning import TaskHalvingPruner
from .storage import StorageError, claim_lock, load_study, open_storage, redact

MAIN_STUDY = "replay_schedule"  # listed first: the main job
USER_STUDIES_ENV = "GR_BENCH_STUDIES"  # extra folders of study modules (os.pathsep-separated)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class StudyError(ValueError):
    """A study that cannot run as asked (unknown name, conflicting settings); one line."""


@dataclass(frozen=True)
class StudySpec:
    """What a study module declares. Values are config overrides (see config.py field names)."""

    name: str
    summary: str  # one line for `gr-bench study --list`
    base: dict[str, object]  # overrides applied to every run of the study
    seeds: int = 3  # search: seeds per trial; grid: the seed axis
    trials: int = 30  # search budget (a grid's budget is its size)
    space: Callable[[optuna.Trial, int], dict[str, object]] | None = None  # search: (trial, n_tasks) -> overrides
    grid: dict[str, dict[str, dict[str, object]]] | None = None  # grid: axis -> {label: overrides}
    objective: str = "final_avg_acc"  # maximised; a run metric
    prune: bool = True  # search: successive halving on tasks completed (pruning.py)
    start_points: tuple[dict[str, object], ...] = ()  # search: parameters of the first trials
    top: int = 3  # search: configurations re-evaluated on the test split
    eval_seeds: int = 5  # search: seeds of the final stage (disjoint from search seeds)
    reference: dict[str, dict[str, object]] = field(default_factory=dict)  # search: label -> overrides, also re-evaluated
    multi_objective: bool = False  # supports --multi-objective (accuracy against training time)
    quick: dict[str, object] = field(default_factory=dict)  # field overrides for --quick ("base" is merged)
    anchor: str | None = None  # grid: the label every other is compared with (default: generative replay, else the best)
    # label -> {"mean": points, "sem": points, "source": citation}: published figures to set beside
    # the study's own (report/published.py)
    published: dict[str, dict[str, object]] | None = None
    # search: name -> config fields, splitting what the search changes into groups. The final stage
    # also runs, for the best configuration and each reference, the reference with one group taken
    # from the best ("best-schedule@<reference>-lr": the best's schedule at the reference's lr), so
    # each group's effect is measured alone (report: "attribution").
    attribution: dict[str, tuple[str, ...]] | None = None
    # grid: an axis whose levels are compared only within themselves (task_scaling: accuracy with 2
    # tasks is not compared with accuracy with 10); the anchor is then a label of the other axis.
    compare_within: str | None = None

    def compared_with(self) -> list[str]:
        """The labels the report compares the others with: search references, or the grid's anchor."""
        if self.kind == "search":
            return list(self.reference)
        return [self.anchor] if self.anchor else []

    @property
    def kind(self) -> str:
        return "search" if self.space is not None else "grid"

    def grid_pairs(self) -> list[tuple[str, str]] | None:
        """With compare_within: (label, anchor's label) within each level of that axis, as runs.csv
        labels them (the grid's levels joined by spaces, in axis order); else None."""
        if self.kind != "grid" or not self.compare_within or not self.anchor:
            return None
        axes = list(self.grid.items())  # type: ignore[union-attr]
        points: list[dict[str, str]] = [{}]
        for axis, labels in axes:
            points = [{**p, axis: label} for p in points for label in labels]

        def label(p: dict[str, str]) -> str:
            return " ".join(p[axis] for axis, _ in axes)

        def is_anchor(q: dict[str, str]) -> bool:
            return any(v == self.anchor for a, v in q.items() if a != self.compare_within)

        pairs = []
        for p in points:
            same = [q for q in points if q[self.compare_within] == p[self.compare_within]]
            anchor = next((q for q in same if is_anchor(q)), None)
            if anchor is not None and not is_anchor(p):
                pairs.append((label(p), label(anchor)))
        return pairs

    def quick_version(self) -> StudySpec:
        q = dict(self.quick)
        q["base"] = {**self.base, **q.get("base", {})}  # type: ignore[dict-item]
        return dataclasses.replace(self, **q)


# --- discovery: a study is one module in studies/ (installed as gr_bench.studies) or in a folder
# named by $GR_BENCH_STUDIES; no list of names anywhere else. A module with LISTED = False runs but
# is not listed (bench_workers, used by `gr-bench bench`).

def _study_sources() -> dict[str, Path | None]:
    """name -> its file in a user folder, or None for a study shipped with gr-bench."""
    from . import studies

    found: dict[str, Path | None] = {m.name: None for m in pkgutil.iter_modules(studies.__path__)
                                     if not m.name.startswith("_")}
    for folder in filter(None, os.environ.get(USER_STUDIES_ENV, "").split(os.pathsep)):
        for path in sorted(Path(folder).expanduser().glob("*.py")):
            if path.stem.startswith("_"):
                continue
            if path.stem in found:
                raise StudyError(f"{path}: a study named {path.stem!r} already exists; rename the file")
            found[path.stem] = path
    return found


def _module(name: str, source: Path | None):
    if source is None:
        return importlib.import_module(f"{__package__}.studies.{name}")
    qualified = f"gr_bench_user_studies.{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, source)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[qualified] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception as e:
            del sys.modules[qualified]
            raise StudyError(f"{source}: cannot load the study ({type(e).__name__}: {e})") from None
    return sys.modules[qualified]


def study_names(listed_only: bool = True) -> list[str]:
    """Every discovered study (the main job first), without the unlisted ones unless asked."""
    sources = _study_sources()
    names = sorted(sources, key=lambda n: (n != MAIN_STUDY, n))
    if listed_only:
        names = [n for n in names if getattr(_module(n, sources[n]), "LISTED", True)]
    return names


def get_spec(name: str, quick: bool = False) -> StudySpec:
    sources = _study_sources()
    if name not in sources:
        raise StudyError(f"unknown study {name!r}; choose from {', '.join(study_names())} (gr-bench study --list)")
    spec = getattr(_module(name, sources[name]), "STUDY", None)
    if not isinstance(spec, StudySpec) or spec.name != name:
        raise StudyError(f"study module {name!r} must define STUDY = StudySpec(name={name!r}, ...)")
    from .metrics import METRIC_SENSE

    if spec.objective not in METRIC_SENSE:
        raise StudyError(f"study {name!r}: objective {spec.objective!r} is not a run metric; "
                         f"choose from {', '.join(METRIC_SENSE)}")
    return spec.quick_version() if quick else spec


def spec_fingerprint(spec: StudySpec) -> str:
    """A hash of a study's definition, its search space's source code included, so that a study
    created from another version of its module is refused on resume instead of silently continued."""
    parts = []
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.default is None and value is None:  # a field added later, left unset, changes no fingerprint
            continue
        if callable(value):
            try:
                value = inspect.getsource(value)
            except (OSError, TypeError):
                value = getattr(value, "__qualname__", repr(value))
        parts.append(f"{f.name}={value!r}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


EVAL_SEED_OFFSET = 1000  # final-stage seeds start here, far from the search seeds 0..n-1


@dataclass(frozen=True)
class Setup:
    """Everything one `gr-bench study` invocation resolved; shared by its workers."""

    study: str
    study_name: str
    storage_url: str
    results_dir: str
    quick: bool = False
    multi_objective: bool = False
    dataset: str | None = None
    scenario: str | None = None
    n_tasks: int | None = None
    seeds: tuple[int, ...] = ()
    eval_seeds: tuple[int, ...] = ()
    trials: int = 0
    workers: int = 1
    timeout: float | None = None
    data_dir: str | None = None
    sets: tuple[str, ...] = ()  # --set NAME=VALUE pairs applied to every run, after the study's base
    definition: str = ""  # spec_fingerprint() of the study module's StudySpec

    def identity(self) -> dict[str, object]:
        """What fixes the science of a study; a resume must not change it."""
        keys = ("study", "quick", "multi_objective", "dataset", "scenario", "n_tasks", "seeds", "eval_seeds", "sets",
                "definition")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(self, k)) for k in keys)}

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Setup:
        d = json.loads(text)
        for key in ("seeds", "eval_seeds", "sets"):
            d[key] = tuple(d[key])
        return cls(**d)

    def stage_name(self, stage: str) -> str:
        return self.study_name if stage == "search" else f"{self.study_name}:{stage}"


def as_pairs(overrides: dict[str, object]) -> list[str]:
    """Overrides as `name=value` strings: JSON-safe in storage, parsed back by with_overrides."""
    return [f"{k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}" for k, v in overrides.items()]


def make_config(spec: StudySpec, setup: Setup, pairs: list[str], seed: int) -> RunConfig:
    passthrough = {"dataset": setup.dataset, "scenario": setup.scenario, "n_tasks": setup.n_tasks}
    cfg = with_overrides(RunConfig(), as_pairs(spec.base))
    cfg = with_overrides(cfg, as_pairs({k: v for k, v in passthrough.items() if v is not None}))
    cfg = with_overrides(cfg, list(setup.sets))
    return with_overrides(cfg, [*pairs, f"seed={seed}"])


def study_n_tasks(spec: StudySpec, setup: Setup) -> int:
    """The number of tasks of the study's runs: its base, then --tasks, then --set n_tasks=N."""
    return make_config(spec, setup, [], 0).data.n_tasks


def check_seeds(spec: StudySpec, setup: Setup) -> None:
    """A search's final stage must evaluate on seeds the search never saw."""
    if spec.kind != "search":
        return
    overlap = sorted(set(setup.seeds) & set(setup.eval_seeds))
    if overlap:
        raise StudyError(f"search seeds {','.join(map(str, overlap))} are also evaluation seeds "
                         f"({setup.eval_seeds[0]}..{setup.eval_seeds[-1]}): choose search seeds below "
                         f"{min(setup.eval_seeds)} or outside that range")


# --- stages: creating them once, with their whole budget enqueued -----------------------------

def _directions(spec: StudySpec, setup: Setup, stage: str) -> list[str]:
    from .metrics import METRIC_SENSE

    objective = "maximize" if METRIC_SENSE[spec.objective].better == "higher" else "minimize"
    if stage == "search" and setup.multi_objective:
        return [objective, "minimize"]  # the objective, training time
    return [objective]


def planned_points(spec: StudySpec, setup: Setup, stage: str, final_labels: list[str] | None = None) -> list[dict]:
    """The fixed parameters of every trial a stage will run ({} = left to the sampler)."""
    if stage == "final":
        return [{"config": label, "seed": s} for label in final_labels or [] for s in setup.eval_seeds]
    if spec.kind == "grid":
        axes = list(spec.grid.items())  # type: ignore[union-attr]
        points: list[dict] = [{}]
        for axis, labels in axes:
            points = [{**p, axis: label} for p in points for label in labels]
        return [{**p, "seed": s} for p in points for s in setup.seeds]
    starts = [dict(p) for p in spec.start_points[: setup.trials]]
    return starts + [{} for _ in range(setup.trials - len(starts))]


def ensure_stage(storage, spec: StudySpec, setup: Setup, stage: str,
                 final_configs: dict[str, list[str]] | None = None,
                 attribution: list[dict] | None = None) -> optuna.Study:
    """Create the stage and enqueue its budget, or load it and check it is the same study.

    Creation is the lock between machines: exactly one process creates the stage and enqueues;
    the others wait until it has published the budget.
    """
    name = setup.stage_name(stage)
    try:
        study = optuna.create_study(study_name=name, storage=storage, directions=_directions(spec, setup, stage))
        study.set_user_attr("setup", setup.identity())
        study.set_user_attr("host", socket.gethostname())
        study.set_user_attr("command", redact(shlex.join(["gr-bench", *sys.argv[1:]])))
        if final_configs is not None:
            study.set_user_attr("final_configs", final_configs)
            study.set_user_attr("attribution", attribution or [])
        points = planned_points(spec, setup, stage, list(final_configs or {}))
        for p in points:
            study.enqueue_trial(p, skip_if_exists=False)
        study.set_user_attr("budget", len(points))
        return study
    except optuna.exceptions.DuplicatedStudyError:
        pass
    study = load_study(storage, name)
    for _ in range(600):  # another process is still enqueueing: wait for its budget (up to 60 s)
        if "budget" in study.user_attrs:
            break
        time.sleep(0.1)
    else:
        raise StudyError(f"study {name!r} exists but its creator never finished setting it up")
    stored = study.user_attrs.get("setup")
    if stored != setup.identity():
        diff = {k: v for k, v in setup.identity().items() if stored.get(k) != v}
        raise StudyError(f"study {name!r} already exists in this storage with other settings "
                         f"({', '.join(f'{k}={stored.get(k)!r}' for k in diff)}); use another --study-name")
    if stage == "search" and spec.kind == "search" and setup.trials > study.user_attrs["budget"]:
        extra = setup.trials - study.user_attrs["budget"]  # a larger --trials extends the search
        for _ in range(extra):
            study.enqueue_trial({}, skip_if_exists=False)
        study.set_user_attr("budget", setup.trials)
    return study


def stage_counts(study: optuna.Study) -> dict[str, int]:
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    return counts


def stage_done(study: optuna.Study) -> bool:
    c = stage_counts(study)
    return c["waiting"] == 0 and c["running"] == 0


# --- one trial ------------------------------------------------------------------------------

class _BenchCache:
    """Benchmarks built once per worker process and reused across trials."""

    def __init__(self, data_dir: str | None) -> None:
        self.data_dir = data_dir
        self.cache: dict[tuple, object] = {}

    def __call__(self, cfg: RunConfig):
        from .data import load_dataset, make_benchmark

        d = cfg.data
        # The seed changes a benchmark only through a permuted class order or the validation split.
        bench_seed = cfg.seed if d.class_order == "permuted" or d.val_fraction else 0
        key = (d.dataset, d.scenario, d.n_tasks, d.class_order, d.val_fraction, bench_seed)
        if key not in self.cache:
            ds = load_dataset(d.dataset, self.data_dir)
            self.cache[key] = make_benchmark(ds, n_tasks=d.n_tasks, scenario=d.scenario, class_order=d.class_order,
                                             seed=bench_seed, val_fraction=d.val_fraction)
        return self.cache[key]


def execute_trial(trial: optuna.Trial, spec: StudySpec, setup: Setup, stage: str, benches: _BenchCache,
                  final_configs: dict[str, list[str]] | None) -> None:
    """Run one trial's runs, store them, and tell the storage how it ended."""
    from . import runcache
    from .trainer import run

    study = trial.study
    if stage == "final":
        label = trial.suggest_categorical("config", list(final_configs))  # type: ignore[arg-type]
        seeds, pairs, split = [trial.suggest_categorical("seed", list(setup.eval_seeds))], final_configs[label], "test"  # type: ignore[index]
    elif spec.kind == "grid":
        pairs = []
        for axis, labels in spec.grid.items():  # type: ignore[union-attr]
            pairs += as_pairs(labels[trial.suggest_categorical(axis, list(labels))])
        seeds, split = [trial.suggest_categorical("seed", list(setup.seeds))], "test"
    else:
        pairs, seeds, split = as_pairs(spec.space(trial, study_n_tasks(spec, setup))), list(setup.seeds), "val"  # type: ignore[misc]
    trial.set_user_attr("overrides", pairs)
    trial.set_user_attr("split", split)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")

    results, reused = [], 0
    state, reason = TrialState.COMPLETE, ""
    prune = stage == "search" and spec.kind == "search" and spec.prune and not setup.multi_objective
    try:
        for k, seed in enumerate(seeds):
            cfg = make_config(spec, setup, pairs, seed)

            def report(t: int, accs: list[float], k: int = k, T: int = cfg.data.n_tasks) -> None:
                trial.report(sum(accs[: t + 1]) / (t + 1), step=k * T + t)
                # the pruner judges at rungs (tasks completed; pruning.py): a pruned trial stops
                # mid-run, and its partial run is neither stored nor cached
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after {k * T + t + 1} of {T * len(seeds)} tasks")

            # a finished run with the same key (config, split, data, code) is reused, its reports replayed
            result, was_reused = runcache.run_or_reuse(setup, cfg, benches(cfg), split, report if prune else None, run)
            results.append(result)
            reused += was_reused
            if result.status != "ok":
                state, reason = TrialState.FAIL, f"seed {seed}: {result.reason}"
                break
    except optuna.TrialPruned as e:
        state, reason = TrialState.PRUNED, str(e)
    except Exception as e:  # a crashed run is recorded with its reason; the study goes on
        state, reason = TrialState.FAIL, f"{type(e).__name__}: {e}".splitlines()[0]
        trial.set_user_attr("traceback", traceback.format_exc()[-4000:])

    for r in results:
        trial.set_user_attr(f"run:{r.config.seed}", r.to_dict())
    trial.set_user_attr("reused_runs", reused)
    if reason:
        trial.set_user_attr("reason", reason)
    values = None
    if state == TrialState.COMPLETE:
        acc = sum(r.metrics()[spec.objective] for r in results) / len(results)
        values = [acc]
        if len(study.directions) == 2:
            values.append(sum(r.times["total"] for r in results) / len(results))
    study.tell(trial, values, state=state)


# --- workers ----------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """Linux: end this worker when the command that started it dies (kill -9 included)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _claim(study: optuna.Study, url: str,
           sampler_for: Callable[[int], optuna.samplers.BaseSampler]) -> optuna.Trial | None:
    """Atomically move one WAITING trial to RUNNING; None when there is none to take.

    The sampler is made for the claimed trial's number before the Trial object exists (Optuna
    samples relative parameters when it is built): seeded by trial number, two workers - on one
    machine or many - never propose the same parameters from the same history.
    """
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            with claim_lock(url):
                claimed = storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING)
            if claimed:
                storage.record_heartbeat(t._trial_id)
                study.sampler = sampler_for(t.number)
                return optuna.Trial(study, t._trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


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


def worker_main(setup_json: str, stage: str, deadline: float | None) -> None:
    """A worker process: claim WAITING trials of the stage and run them until none is left."""
    _die_with_parent()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    setup = Setup.from_json(setup_json)
    spec = get_spec(setup.study, setup.quick)
    storage = open_storage(setup.storage_url)
    pruner = TaskHalvingPruner(study_n_tasks(spec, setup), len(setup.seeds))
    study = optuna.load_study(study_name=setup.stage_name(stage), storage=storage, pruner=pruner)
    final_configs = study.user_attrs.get("final_configs")
    benches = _BenchCache(setup.data_dir)
    while deadline is None or time.time() < deadline:
        with warnings.catch_warnings():  # "experimental" in Optuna; relied on on purpose
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial goes back in the queue
        trial = _claim(study, setup.storage_url, lambda number: _sampler(spec, setup, stage, number))
        if trial is None:
            if stage_counts(study)["running"] == 0:
                return
            time.sleep(1.0)  # others are running: stay to take over their trial if they die
            continue
        with _Heartbeat(storage, trial._trial_id):
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


# --- the final stage: best configurations on the test split ------------------------------------

FINAL_PAIRS = ["val_fraction=0"]  # the final stage trains on the whole training split (the search holds out 10%)


def _resolved(spec: StudySpec, setup: Setup, pairs: list[str]) -> dict[str, object]:
    """A configuration's every field, seed aside: two sets of overrides that agree here run alike."""
    row = flatten(make_config(spec, setup, pairs, 0))
    row.pop("seed")
    return row


def attribution_configs(spec: StudySpec, setup: Setup, configs: dict[str, list[str]], best: str,
                        references: list[str]) -> tuple[dict[str, list[str]], list[dict]]:
    """For the best configuration and each reference: the reference with one attribution group's
    fields taken from the best, labelled '<best>-<group>@<reference>-<other groups>' ('best' is the
    search's best). Returns the new configurations and one entry per (reference, group):
    {"group", "fields", "a", "b", "best", "reference"}: a differs from b (the reference) only in that
    group's fields. A swap equal to an existing configuration reuses it; one equal to the reference
    (the search did not change that group) gets a = None."""
    groups = spec.attribution or {}
    known = {json.dumps(_resolved(spec, setup, p), sort_keys=True, default=str): label for label, p in configs.items()}
    best_cfg = _resolved(spec, setup, configs[best])
    new: dict[str, list[str]] = {}
    entries = []
    for ref in references:
        for group, fields in groups.items():
            swap: dict[str, object] = {k: v for k, v in settings_dict(configs[ref]).items() if k not in fields}
            swap.update({k: str(best_cfg[k]) for k in fields})
            pairs = [p for p in as_pairs(swap) if p not in FINAL_PAIRS] + FINAL_PAIRS
            key = json.dumps(_resolved(spec, setup, pairs), sort_keys=True, default=str)
            others = "+".join(g for g in groups if g != group)
            label = known.get(key) or f"best-{group}@{ref}-{others}"
            if key not in known:
                new[label] = pairs
                known[key] = label
            entries.append({"group": group, "fields": list(fields), "a": None if label == ref else label,
                            "b": ref, "best": best, "reference": ref})
    return new, entries


def final_configs(spec: StudySpec, search: optuna.Study,
                  setup: Setup | None = None) -> tuple[dict[str, list[str]], list[dict]]:
    """The top configurations of the search (Pareto front by accuracy if multi-objective), the
    references and, with spec.attribution and a setup, the swaps that attribute the best's gain
    (attribution_configs). Every final configuration trains on the whole training split. The best
    are keyed 'trial-N' in the storage; reports name them with labels.final_labels ('best-1', ...)."""
    done = [t for t in search.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(search.directions) == 2:
        front = {t.number for t in search.best_trials}
        done = [t for t in done if t.number in front]
    sign = -1.0 if search.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    done.sort(key=lambda t: (sign * t.values[0], t.number))
    configs: dict[str, list[str]] = {}
    for t in done:
        pairs = t.user_attrs["overrides"] + FINAL_PAIRS
        if pairs not in configs.values():  # the same configuration found twice runs once
            configs[f"trial-{t.number}"] = pairs
        if len(configs) == spec.top:
            break
    best = next(iter(configs), None)
    for label, overrides in spec.reference.items():
        configs[label] = as_pairs(overrides) + FINAL_PAIRS
    entries: list[dict] = []
    if spec.attribution and setup is not None and best is not None:
        swaps, entries = attribution_configs(spec, setup, configs, best, list(spec.reference))
        configs.update(swaps)
    return configs, entries


def run_study(setup: Setup, on_poll: Callable[[str, optuna.Study], None] | None = None) -> dict[str, optuna.Study]:
    """Run (or resume) every stage of a study to its budget; returns the stage studies."""
    spec = get_spec(setup.study, setup.quick)
    storage = open_storage(setup.storage_url)
    from .data import prepare

    check_seeds(spec, setup)
    prepare(make_config(spec, setup, [], 0).data.dataset, setup.data_dir)  # fetch once, not in every worker
    deadline = time.time() + setup.timeout if setup.timeout else None
    poll = (lambda stage: (lambda s: on_poll(stage, s))) if on_poll else (lambda stage: None)
    stages = {"search": ensure_stage(storage, spec, setup, "search")}
    run_stage(setup, "search", stages["search"], deadline, poll("search"))
    if spec.kind == "search" and stage_done(stages["search"]):
        if not any(t.state == TrialState.COMPLETE for t in stages["search"].get_trials(deepcopy=False)):
            raise StudyError(f"study {setup.study_name!r}: no search trial completed, nothing to re-evaluate")
        existing = load_study(storage, setup.stage_name("final"))
        if existing:
            configs, entries = existing.user_attrs.get("final_configs"), existing.user_attrs.get("attribution", [])
        else:
            configs, entries = final_configs(spec, stages["search"], setup)
        stages["final"] = ensure_stage(storage, spec, setup, "final", configs, entries)
        run_stage(setup, "final", stages["final"], deadline, poll("final"))
    return stages


__all__ = ["study_names", "Setup", "StudyError", "StudySpec", "StorageError", "get_spec", "run_study"]
