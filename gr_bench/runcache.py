"""No run done twice: finished runs are kept by their run key and reused instead of re-trained.

A run's key is everything that fixes what it measures::

    <config hash (RunConfig.run_id, seed included)>:<split>:<dataset content sha256>:<code>

The code is provenance.cache_code_version(), which every run records: the run code (a hash of the
modules a run executes, provenance.run_code) and the torch version, so commits that change only
the study, analysis or report layers share results, and two trees that run different code never do.

The cache lives in the study storage itself, so it works the same on SQLite and PostgreSQL: each
kept run is one empty Optuna study named ``__gr_bench_runs__/<key>`` (a name `gr-bench study
--study-name` cannot take) whose user attribute "result" is RunResult.to_dict() (a few KB). A
lookup is two indexed reads through Optuna's storage API (the study by its unique name, then its
own attributes), whatever the cache holds: the earlier layout, every run a user attribute of the
one study ``__gr_bench_runs__``, cost a read and copy of all of them per lookup (measured with 500
runs of 4 KB on a loaded 2-core machine: about 190 ms a lookup on SQLite and on PostgreSQL, against
0.7 ms and 1.5 ms now). Runs kept in that layout are still found: its study is read once per
process, on the first miss, and never written.
Studies that share a ``--storage`` share the cache; studies on their default SQLite files share
``run_cache.db`` in the ``--results`` folder. Only complete runs with status "ok" are stored: a
pruned, failed or interrupted run is never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import optuna
from optuna.study import StudyDirection

from .provenance import cache_code_version, row_run_code
from .result import RunResult
from .storage import default_url, open_storage

CACHE_STUDY = "__gr_bench_runs__"  # a kept run: the study CACHE_STUDY/<key>; the earlier layout: this one study
_RESULT = "result"  # the user attribute holding a kept run's RunResult.to_dict()
CACHE_FILE = "run_cache.db"  # in the --results folder, for studies on their default SQLite file


def run_key(cfg, split: str, dataset_sha256: str, code: str | None = None) -> str:
    return f"{cfg.run_id()}:{split}:{dataset_sha256}:{code if code is not None else code_version()}"


def code_version() -> str:
    """provenance.cache_code_version: gr_bench's source hash and the torch version."""
    return cache_code_version()


def _run_study(key: str) -> str:
    return f"{CACHE_STUDY}/{key}"


# id(storage) -> (storage, the runs of the earlier one-study layout); holding the storage keeps its
# id from being reused. That study is read once: nothing writes to it any more.
_legacy_runs: dict[int, tuple[object, dict]] = {}


def _legacy(storage) -> dict:
    held = _legacy_runs.get(id(storage))
    if held is None or held[0] is not storage:
        try:
            runs = storage.get_study_user_attrs(storage.get_study_id_from_name(CACHE_STUDY))
        except KeyError:  # a cache made by this version: no such study
            runs = {}
        _legacy_runs[id(storage)] = held = (storage, runs)
    return held[1]


def lookup(storage, key: str) -> dict | None:
    """The stored result dict of `key`, or None. Reads that run's study only (and, on a miss, the
    earlier layout's study once per process)."""
    try:
        study_id = storage.get_study_id_from_name(_run_study(key))
    except KeyError:
        value = _legacy(storage).get(key)
    else:  # a study without its result (a writer stopped in between): a miss
        value = storage.get_study_user_attrs(study_id).get(_RESULT)
    return value if isinstance(value, dict) else None


def store(storage, key: str, result_dict: dict) -> None:
    """Keep a finished run's RunResult.to_dict() under `key`; anything not complete and ok is ignored.
    The first result kept for a key stays (a concurrent worker's equal run is not written again)."""
    if result_dict.get("status") != "ok":
        return
    n_tasks = result_dict.get("config", {}).get("n_tasks")
    if n_tasks is None or len(result_dict.get("accuracy", [])) != n_tasks:
        return
    name = _run_study(key)
    try:  # the direction is required and means nothing here: the study never has trials
        study_id = storage.create_new_study([StudyDirection.MINIMIZE], name)
    except optuna.exceptions.DuplicatedStudyError:  # kept already, or being kept by another worker
        study_id = storage.get_study_id_from_name(name)
        if _RESULT in storage.get_study_user_attrs(study_id):
            return
    storage.set_study_user_attr(study_id, _RESULT, result_dict)


def import_records(storage, path: Path) -> tuple[int, int]:
    """Keep every run of a records.jsonl.gz (export.write_records; shipped with a study) in this
    cache under the key it ran with: its config, split, dataset content and the code version it
    recorded. A later study reuses one only when its own key is the same, so only runs of the same
    code and data count. Returns (runs read, runs whose code version is this code's)."""
    import gzip
    import json

    here, n, same = code_version(), 0, 0
    for line in gzip.decompress(Path(path).read_bytes()).decode().splitlines():
        if not line:
            continue
        d = json.loads(line)
        result = RunResult.from_dict(d)
        code = recorded_code(result.provenance)  # runs recorded before it: not imported
        if result.dataset_sha256 and code:
            store(storage, run_key(result.config, result.split, result.dataset_sha256, code), d)
            n += 1
            same += code == here
    return n, same


def recorded_code(provenance: dict) -> str:
    """The run cache's code key of a recorded run: its cache_code_version when that is a run code
    ("run.<run code>+torch.<version>"); for a run recorded when the key hashed every source file,
    the same key rebuilt from the run code of its clean commit (provenance.row_run_code) and its
    torch; "" when neither is known (never imported)."""
    recorded = str(provenance.get("cache_code_version", ""))
    if recorded.startswith("run."):
        return recorded
    run_code = row_run_code(provenance)
    torch = recorded.partition("+torch.")[2]
    return f"run.{run_code}+torch.{torch}" if run_code and torch else ""


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


def open_cache(storage_url: str, results_dir: str):
    """The storage a study's runs are kept in (cache_url), opened once per process: what lookup,
    store and import_records take."""
    return _open(cache_url(storage_url, results_dir))


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
    storage = open_cache(setup.storage_url, setup.results_dir)
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


__all__ = ["CACHE_STUDY", "cache_url", "code_version", "import_records", "lookup", "open_cache", "run_key",
           "run_or_reuse", "store"]
