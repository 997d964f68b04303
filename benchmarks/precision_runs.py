"""CPU seconds of whole runs on full MNIST at fp32 and at bf16: the report's generative run and the
published DGR+distill protocol, where bf16 is meant to save at least 1.8x of the CPU time. Speed
only: whether bf16 gives equivalent accuracy is `gr-bench study precision`'s question.

    python benchmarks/precision_runs.py [--settings report,dgr-distill] [--seed 0]

Each setting's two runs go side by side, one process per core (taskset), one thread each, so both
precisions meet the same machine at the same time; run it with nothing else running. The figure is
the ratio of the runs' own CPU seconds (cpu_s), fp32 over bf16. Rows are appended to
results/precision-runs/runs.csv, from which docs/performance.md's table is generated.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from gr_bench.files import append_csv
from gr_bench.provenance import short_sha

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "precision-runs" / "runs.csv"
GR = str(Path(sys.executable).parent / "gr-bench")
SETTINGS = {  # name -> gr-bench run arguments (studies/precision.py's settings on full MNIST)
    "report": ["--preset", "report"],
    "dgr-distill": ["--preset", "vandeven2019", "--set", "labels=soft"],
}
FIELDS = ["commit", "started_utc", "setting", "seed", "precision", "core", "cpu_s", "time_total_s",
          "time_generator_s", "time_classifier_s", "final_avg_acc", "cpu_model"]


def _summary(folder: Path) -> dict:
    found = sorted(folder.rglob("summary.csv"))
    if len(found) != 1:
        raise RuntimeError(f"expected one run folder under {folder}, found {len(found)}")
    with found[0].open() as f:
        return next(csv.DictReader(f))


def run_pair(setting: str, seed: int, tmp: Path) -> list[dict]:
    """fp32 on core 0 and bf16 on core 1, started together; each run's summary row."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    procs = {}
    for core, precision in enumerate(("fp32", "bf16")):
        out = tmp / f"{setting}-{precision}"
        cmd = ["taskset", "-c", str(core), GR, "run", "--dataset", "mnist", "--seed", str(seed), "--threads", "1",
               *SETTINGS[setting], "--set", f"precision={precision}", "--results", str(out)]
        procs[precision] = (core, out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                                        text=True))
    rows = []
    for precision, (core, out, p) in procs.items():
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"{setting} at {precision} failed: {err.strip().splitlines()[-1:]}")
        s = _summary(out)
        rows.append({"started_utc": started, "setting": setting, "seed": seed, "precision": precision, "core": core,
                     **{k: s[k] for k in ("cpu_s", "time_total_s", "time_generator_s", "time_classifier_s",
                                          "final_avg_acc", "cpu_model")}})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    settings = [s for s in a.settings.split(",") if s]
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown or not settings:
        print(f"precision_runs: error: unknown setting(s) {unknown}; choose from {', '.join(SETTINGS)}",
              file=sys.stderr)
        return 2
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        print("precision_runs: error: needs taskset and 2 cores (one run per core)", file=sys.stderr)
        return 2
    commit = short_sha()
    with tempfile.TemporaryDirectory() as tmp:
        for setting in settings:
            rows = run_pair(setting, a.seed, Path(tmp))
            append_csv(OUT, [{"commit": commit, **r} for r in rows], FIELDS)
            cpu = {r["precision"]: float(r["cpu_s"]) for r in rows}
            print(f"{setting}: fp32 {cpu['fp32']:.0f} s, bf16 {cpu['bf16']:.0f} s of CPU: "
                  f"{cpu['fp32'] / cpu['bf16']:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
