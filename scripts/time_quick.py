"""Time every study's --quick first look, one after another, and keep the rows in
results/quick-times/quick.csv, from which docs/performance.md's table is generated.

    python -m scripts.time_quick [--dataset digits] [--dataset mnist] [--study NAME ...]

Run it with nothing else on the machine: the target is a first look under 3 minutes on 2 idle cores
with the bundled digits and under 10 on full MNIST. Each study runs as a user types it,
`gr-bench study NAME --quick --dataset D --workers 2`, into a scratch results folder that is
deleted afterwards. A row records the study's wall time, the CPU seconds of its processes, the CPU
seconds everything else on the machine used meanwhile (/proc/stat's busy time less the study's), so
a look that shared the cores shows as such, and the number of runs it trained (its runs.csv).
The rows are appended to results/quick-times/quick.csv at the end (an interrupt keeps the studies
that finished); then `python -m tools.docs`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from gr_bench.files import append_csv
from gr_bench.orchestration import study_names
from gr_bench.provenance import cpu_model, short_sha
from scripts.time_test_tier import measured_run

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "quick-times" / "quick.csv"
WORKERS = 2  # the 2 cores a first look runs on
FIELDS = ["commit", "started_utc", "study", "dataset", "runs", "wall_s", "cpu_s", "other_cpu_s", "exit_code",
          "workers", "cores", "cpu_model"]


def time_study(name: str, dataset: str, commit: str, scratch: Path) -> dict:
    """One study's --quick run as a user types it, into its own scratch results folder."""
    results = scratch / f"{name}-{dataset}"
    cmd = [sys.executable, "-m", "gr_bench", "study", name, "--quick", "--dataset", dataset,
           "--workers", str(WORKERS), "--results", str(results)]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    m = measured_run(cmd, cwd=ROOT)
    p = m.process
    runs = sum(len(pd.read_csv(f)) for f in results.glob("*/runs.csv"))
    if p.returncode != 0:
        (scratch / f"{name}-{dataset}.log").write_text(p.stdout + p.stderr)
    return {"commit": commit, "started_utc": started, "study": name, "dataset": dataset, "runs": runs,
            "wall_s": m.wall_s, "cpu_s": m.cpu_s, "other_cpu_s": m.other_cpu_s,
            "exit_code": p.returncode, "workers": WORKERS, "cores": os.cpu_count(), "cpu_model": cpu_model()}


def keep(rows: list[dict]) -> None:
    if rows:
        append_csv(OUT, rows, FIELDS)
        print(f"{len(rows)} row(s) added to {OUT.relative_to(ROOT)}; now run python -m tools.docs", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", action="append", choices=["digits", "mnist"],
                    help="digits (the default) and/or mnist; repeat for both")
    ap.add_argument("--study", action="append", help="one study (repeatable); default: every listed study")
    a = ap.parse_args(argv)
    names = study_names()
    unknown = sorted(set(a.study or []) - set(names))
    if unknown:
        print(f"time_quick: error: no such study: {', '.join(unknown)} (have: {', '.join(names)})", file=sys.stderr)
        return 2
    commit, rows = short_sha(), []
    with tempfile.TemporaryDirectory(prefix="gr-bench-quick-") as tmp:
        try:
            for dataset in a.dataset or ["digits"]:
                for name in a.study or names:
                    row = time_study(name, dataset, commit, Path(tmp))
                    rows.append(row)
                    print(f"{name} ({dataset}): {row['wall_s']:.0f} s wall, {row['runs']} runs, exit "
                          f"{row['exit_code']}; other processes used {row['other_cpu_s']:.0f} CPU s meanwhile",
                          flush=True)
        except KeyboardInterrupt:
            keep(rows)
            return 130
        failed = [r for r in rows if r["exit_code"]]
        for r in failed:  # their logs go with the scratch folder: print their ends before it is deleted
            log = Path(tmp) / f"{r['study']}-{r['dataset']}.log"
            print(f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:]), file=sys.stderr)
    keep(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
