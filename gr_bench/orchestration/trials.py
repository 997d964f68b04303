"""One trial: its runs on every seed, stored as user attributes when it ends, and its outcome told."""

from __future__ import annotations

import functools
import math
import os
import socket
import traceback

import optuna
from optuna.trial import TrialState

from ..config import RunConfig
from ..metrics import avg_acc_seen
from .setup import Setup, as_pairs, make_config, search_overrides, seed_choices, study_n_tasks
from .spec import StudySpec

# --- one trial ------------------------------------------------------------------------------

class BenchCache:
    """Benchmarks built once per worker process and reused across trials."""

    def __init__(self, data_dir: str | None) -> None:
        self.data_dir = data_dir
        self.cache: dict[tuple, object] = {}

    def __call__(self, cfg: RunConfig):
        from ..data import load_dataset, make_benchmark

        d = cfg.data
        # The seed changes a benchmark only through a permuted class order or the validation split.
        bench_seed = cfg.seed if d.class_order == "permuted" or d.val_fraction else 0
        key = (d.dataset, d.scenario, d.n_tasks, d.class_order, d.val_fraction, bench_seed)
        if key not in self.cache:
            ds = load_dataset(d.dataset, self.data_dir)
            self.cache[key] = make_benchmark(ds, n_tasks=d.n_tasks, scenario=d.scenario, class_order=d.class_order,
                                             seed=bench_seed, val_fraction=d.val_fraction)
        return self.cache[key]


def _sharing_runner(spec: StudySpec, setup: Setup, final_configs: dict[str, list[str]], label: str, seed: int,
                    benches: BenchCache, split: str):
    """trainer.run, with a generator track when another final configuration shares this one's
    generator (generator_tracks.py); the queue (stages.planned_points) runs the sharers after it."""
    from .. import runcache
    from ..generator_tracks import GeneratorTrack
    from ..trainer import run
    from .stages import generator_sharing

    if label not in generator_sharing(spec, setup, final_configs, seed):
        return run
    cfg = make_config(spec, setup, final_configs[label], seed)
    track = GeneratorTrack.for_run(setup.results_dir, cfg, split, getattr(benches(cfg), "content_sha256", ""),
                                   runcache.code_version())
    return functools.partial(run, track=track)


def _describe(trial: optuna.Trial, stage: str, seeds: list[int], final_configs: dict[str, list[str]] | None) -> None:
    """What a person looking at the study (optuna-dashboard) wants beside each trial while it runs:
    its stage, its configuration's label (as runs.csv names it) and its seed (a search trial's
    seeds: every one, comma-separated)."""
    from ..labels import final_labels
    from .stored import trial_label

    trial.set_user_attr("stage", stage)
    trial.set_user_attr("label", trial_label(trial, final_labels(final_configs or {})))  # type: ignore[arg-type]
    if len(seeds) == 1 and "seed" in trial.params:
        trial.set_user_attr("seed", seeds[0])
    else:
        trial.set_user_attr("seeds", ",".join(map(str, seeds)))


def _measured(trial: optuna.Trial, results: list) -> None:
    """When the trial ends: the mean final average accuracy of its complete runs and the CPU
    seconds of all its runs (a reused run's: measured when it first ran)."""
    done = [r.metrics()["final_avg_acc"] for r in results if r.status == "ok"]  # as the trial's state counts them
    if done:
        trial.set_user_attr("final_avg_acc", sum(done) / len(done))
    cpu = [c for c in (getattr(r, "cpu_s", math.nan) for r in results) if c == c]  # nan: not measured
    if cpu:
        trial.set_user_attr("cpu_s", round(sum(cpu), 3))


def execute_trial(trial: optuna.Trial, spec: StudySpec, setup: Setup, stage: str, benches: BenchCache,
                  final_configs: dict[str, list[str]] | None) -> None:
    """Run one trial's runs, store them, and tell the storage how it ended."""
    from .. import runcache
    from ..trainer import run

    study = trial.study
    if stage == "final":
        label = trial.suggest_categorical("config", list(final_configs))  # type: ignore[arg-type]
        seed = trial.suggest_categorical("seed", list(seed_choices(spec, setup)))  # with --sequential: up to its cap
        seeds, pairs, split = [seed], final_configs[label], "test"  # type: ignore[index]
    elif spec.kind == "grid":
        pairs = []
        for axis, labels in spec.stored_grid().items():
            pairs += as_pairs(labels[trial.suggest_categorical(axis, list(labels))])
        seeds, split = [trial.suggest_categorical("seed", list(seed_choices(spec, setup)))], "test"
    else:
        pairs, seeds, split = as_pairs(spec.space(trial, study_n_tasks(spec, setup))), list(setup.seeds), "val"  # type: ignore[misc]
    trial.set_user_attr("overrides", pairs)  # the configuration's own settings (as the final stage runs them)
    searching = stage == "search" and spec.kind == "search"
    if searching:  # trials.csv: the fidelity each search trial trained at
        trial.set_user_attr("fidelity", " ".join(search_overrides(spec, setup, make_config(spec, setup, pairs, 0)))
                            or "full")
    trial.set_user_attr("split", split)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    _describe(trial, stage, seeds, final_configs)

    runner = run
    if stage == "final":  # the final configurations that differ only in the classifier's lr train one generator
        runner = _sharing_runner(spec, setup, final_configs, label, seeds[0], benches, split)  # type: ignore[arg-type]

    results, reused = [], 0
    state, reason = TrialState.COMPLETE, ""
    prune = stage == "search" and spec.kind == "search" and spec.prune and setup.prune and not setup.multi_objective
    try:
        for k, seed in enumerate(seeds):
            cfg = make_config(spec, setup, pairs, seed, search=searching)

            def report(t: int, accs: list[float], k: int = k, T: int = cfg.data.n_tasks) -> None:
                trial.report(avg_acc_seen(accs, t), step=k * T + t)
                # the pruner judges at rungs (tasks completed; pruning.py): a pruned trial stops
                # mid-run, and its partial run is neither stored nor cached
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after {k * T + t + 1} of {T * len(seeds)} tasks: "
                                             "not in the top share of the trials at that rung")

            # a finished run with the same key (config, split, data, code) is reused, its reports replayed
            result, was_reused = runcache.run_or_reuse(setup, cfg, benches(cfg), split, report if prune else None,
                                                       runner)
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
    _measured(trial, results)
    if reason:
        trial.set_user_attr("reason", reason)
    values = None
    if state == TrialState.COMPLETE:
        acc = sum(r.metrics()[spec.objective] for r in results) / len(results)
        values = [acc]
        if len(study.directions) == 2:
            values.append(sum(r.times["total"] for r in results) / len(results))
    study.tell(trial, values, state=state)
