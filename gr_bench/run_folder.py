"""The folder one `gr-bench run` leaves: summary.csv, accuracy.csv, manifest.json.

The folder is assembled under a temporary name and renamed into place, so a failed or killed
run never leaves a half-written folder, and a new run never overwrites an earlier one.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .config import flatten
from .files import temp_dir, write_csv, write_json
from .provenance import provenance
from .result import SCHEMA_VERSION, SUMMARY_COLUMNS, RunResult


def manifest(result: RunResult, dataset_source: str) -> dict[str, object]:
    cfg = result.config
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": cfg.run_id(),
        "seed": cfg.seed,
        "dataset": result.dataset,
        "dataset_requested": cfg.data.dataset,
        "dataset_source": dataset_source,
        "split": result.split,
        "status": result.status,
        "reason": result.reason,
        "config": flatten(cfg),
        "times": result.times,
        "peak_rss_method": result.peak_rss_method,
        **(result.provenance or provenance(cfg.threads)),  # recorded when the run ran
    }


def write_run(result: RunResult, root: Path, dataset_source: str) -> Path:
    cfg = result.config
    name = f"run-{cfg.strategy}-{result.dataset}-seed{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    tmp = temp_dir(root, ".tmp-")  # an ordinary folder's mode (umask), not mkdtemp's 0700
    try:
        row = result.summary_row()
        columns = list(SUMMARY_COLUMNS) + [k for k in row if k not in SUMMARY_COLUMNS]
        write_csv(tmp / "summary.csv", [row], columns)
        write_csv(tmp / "accuracy.csv", result.accuracy_rows(), ["after_task", "eval_task", "epoch", "acc"])
        write_json(tmp / "manifest.json", manifest(result, dataset_source))
        final, k = root / name, 1
        while final.exists():  # two runs in the same second: never overwrite
            k += 1
            final = root / f"{name}-{k}"
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
