"""No run done twice: finished runs are kept by their run key and reused instead of re-trained.

A run's key is everything that fixes what it measures::

    <config hash (RunConfig.run_id, seed included)>:<split>:<dataset content sha256>:<code version>

The code version is provenance.code_version(), the one every run records: the git commit of a
clean gr-bench checkout; from a dirty tree, or outside git, the package version plus a hash of
gr_bench's .py files, so two different dirty states never share results.

The cache lives in the study storage itself, so it works the same on SQLite and PostgreSQL: one
Optuna study named ``__gr_bench_runs__`` (a name `gr-bench study --study-name` cannot take)
whose study user attributes map key -> RunResult.to_dict() (a few KB each). Studies that share a
``--storage`` share it; studies on their default SQLite files share ``run_cache.db`` in the
``--results`` folder. Only complete runs with status "ok" are stored: a pruned, failed or
interrupted run is never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import optuna

from .provenance import source_hash
from .result import RunResult
from .storage import default_url, open_storage

CACHE_STUDY = "__gr_bench_runs__"
CACHE_FILE = "run_cache.db"  # in the --results folder, for studies on their default SQLite file


def run_key(cfg, split: str, dataset_sha256: str, code: str | None = None) -> str:
    return f"{cfg.run_id()}:{split}:{dataset_sha256}:{code if code is not None else code_version()}"


def code_version() -> str:
    """What decides a run's numbers on the code side: gr_bench's own source (a hash of its .py
    files, so a commit that only touches docs keeps the cache) and the torch version."""
    import torch

    return f"src.{source_hash()}+torch.{torch.__version__}"


# id(storage) -> (storage, its cache study); holding the storage keeps its id from being reused.
# Study.user_attrs reads the storage afresh on every call, so runs stored by others are seen.
_studies: dict[int, tuple[object, optuna.Study]] = {}


def _cache(storage) -> optuna.Study:
    held = _studies.get(id(storage))
    if held is None or held[0] is not storage:
        try:
            study = optuna.load_study(study_name=CACHE_STUDY, storage=storage)
        except KeyError:  # the first run ever in this storage; a concurrent creator is loaded instead
            study = optuna.create_study(study_name=CACHE_STUDY, storage=storage, load_if_exists=True)
        _studies[id(storage)] = held = (storage, study)
    return held[1]


def lookup(storage, key: str) -> dict | None:
    """The stored result dict of `key`, or None."""
    value = _cache(storage).user_attrs.get(key)
    return value if isinstance(value, dict) else None


def store(storage, key: str, result_dict: dict) -> None:
    """Keep a finished run's RunResult.to_dict() under `key`; anything not complete and ok is ignored."""
    if result_dict.get("status") != "ok":
        return
    n_tasks = result_dict.get("config", {}).get("n_tasks")
    if n_tasks is None or len(result_dict.get("accuracy", [])) != n_tasks:
        return
    _cache(storage).set_user_attr(key, result_dict)


def cache_url(storage_url: str, results_dir: str) -> str:
    """Where a study's runs are kept: its own storage, unless that is the default SQLite file in its
    study folder, then the shared file in the --results folder (the study folder's parent)."""
    folder = Path(results_dir)
    if storage_url == default_url(folder):
        return f"sqlite:///{(folder.parent / CACHE_FILE).resolve()}"
    return storage_url


@lru_cache(maxsize=4)
def _open(url: str):
    """One storage object per cache URL and process (opening one costs an engine and a schema check)."""
    return open_storage(url)


def run_or_reuse(setup, cfg, bench, split: str, on_task_end: Callable[[int, list[float]], None] | None = None,
                 runner: Callable[..., RunResult] | None = None) -> tuple[RunResult, bool]:
    """The cached result of this run, else a fresh run (stored when it finishes complete and ok).

    A reused run still calls `on_task_end` once per task with its stored accuracies, in order, so a
    pruner sees exactly the reports a fresh run would give. Returns (result, reused).
    """
    if runner is None:
        from .trainer import run as default_runner

        runner = default_runner
    dataset_sha256 = getattr(bench, "content_sha256", "")
    if not dataset_sha256:  # data of unknown content: never reused, never kept
        return runner(cfg, bench, split=split, on_task_end=on_task_end), False
    storage = _open(cache_url(setup.storage_url, setup.results_dir))
    key = run_key(cfg, split, dataset_sha256)
    cached = lookup(storage, key)
    if cached is not None:
        try:
            result = RunResult.from_dict(cached)
        except (KeyError, TypeError, ValueError):  # stored by an incompatible version: a miss
            result = None
        if result is not None and result.config.run_id() == cfg.run_id() and result.complete:
            if on_task_end:
                for t, accs in enumerate(result.accuracy):
                    on_task_end(t, accs)
            return result, True
    result = runner(cfg, bench, split=split, on_task_end=on_task_end)
    if result.complete:
        store(storage, key, result.to_dict())
    return result, False


__all__ = ["CACHE_STUDY", "code_version", "lookup", "run_key", "run_or_reuse", "store"]
