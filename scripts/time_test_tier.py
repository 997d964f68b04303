"""Time the fast test tier several times in a row, each with a fresh Hypothesis seed, and keep the
rows in results/test-tiers/fast-tier.csv, from which docs/performance.md's table is generated.

    python scripts/time_test_tier.py --runs 10

Run it with nothing else on the machine: the target is a tier under 5 minutes on 2 idle cores. Each
row records the tier's own CPU seconds and the CPU seconds everything else on the machine used
meanwhile (/proc/stat's busy time less the tier's), so a run that shared the cores shows as such.
The tier's own docs test regenerates docs/performance.md from fast-tier.csv, so the rows are kept
outside the repository while the runs go on and appended to results/test-tiers/fast-tier.csv at
the end (an interrupt keeps the runs that finished); then `python -m tools.docs`.
A failing run's pytest output is kept beside the scratch rows, and its failures are printed.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gr_bench.files import append_csv
from gr_bench.provenance import cpu_model, short_sha

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "test-tiers" / "fast-tier.csv"
TIER = ["-m", "not slow", "-n", "2", "--dist", "loadgroup"]  # the fast tier as .ci/run runs it
FIELDS = ["commit", "started_utc", "run", "hypothesis_seed", "wall_s", "cpu_s", "other_cpu_s", "passed", "failed",
          "skipped", "exit_code", "cores", "cpu_model"]


def busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (/proc/stat, every core)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass(frozen=True)
class Measured:
    """A finished subprocess with its cost: wall time, its own CPU seconds (user + system of it and
    its children), and the CPU seconds everything else on the machine used meanwhile."""

    process: subprocess.CompletedProcess
    wall_s: float
    cpu_s: float
    other_cpu_s: float


def measured_run(cmd: list[str], **kwargs) -> Measured:
    """subprocess.run(cmd, capture_output=True, text=True, **kwargs), timed as every timing script
    records it (rounded to 0.1 s)."""
    busy0, own0, t0 = busy_s(), children_cpu_s(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - t0
    own = children_cpu_s() - own0
    other = max(0.0, busy_s() - busy0 - own)
    return Measured(p, round(wall, 1), round(own, 1), round(other, 1))


def _count(summary: str, word: str) -> int:
    m = re.search(rf"(\d+) {word}", summary)
    return int(m.group(1)) if m else 0


def time_once(run: int, commit: str, scratch: Path) -> dict:
    """One fast tier, as CI runs it, with a fresh Hypothesis seed (recorded, so a failure replays)."""
    seed = random.SystemRandom().randrange(2**32)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    m = measured_run([sys.executable, "-m", "pytest", *TIER, "-p", "no:cacheprovider", f"--hypothesis-seed={seed}"],
                     cwd=ROOT)
    p = m.process
    summary = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    if p.returncode != 0:
        (scratch / f"run-{run}.log").write_text(p.stdout + p.stderr)
        for line in p.stdout.splitlines():
            if line.startswith(("FAILED", "ERROR")):
                print(f"  {line}", flush=True)
    return {"commit": commit, "started_utc": started, "run": run, "hypothesis_seed": seed,
            "wall_s": m.wall_s, "cpu_s": m.cpu_s, "other_cpu_s": m.other_cpu_s,
            "passed": _count(summary, "passed"), "failed": _count(summary, "failed") + _count(summary, "error"),
            "skipped": _count(summary, "skipped"), "exit_code": p.returncode, "cores": os.cpu_count(),
            "cpu_model": cpu_model()}


def keep(rows: list[dict]) -> None:
    """Append the finished runs' rows to results/test-tiers/fast-tier.csv."""
    if not rows:
        return
    append_csv(OUT, rows, FIELDS)
    print(f"{len(rows)} row(s) added to {OUT.relative_to(ROOT)}; now run python -m tools.docs", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args(argv)
    if not 1 <= a.runs <= 100:
        print(f"time_test_tier: error: --runs must be 1..100, got {a.runs}", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="gr-bench-fast-tier-"))
    commit, rows = short_sha(), []
    try:
        for i in range(1, a.runs + 1):
            row = time_once(i, commit, scratch)
            rows.append(row)
            with (scratch / "rows.csv").open("a", newline="") as f:  # the scratch copy, in case this process dies
                csv.DictWriter(f, fieldnames=FIELDS).writerow(row)
            print(f"run {i}: {row['wall_s']:.0f} s, {row['passed']} passed, {row['failed']} failed; other "
                  f"processes used {row['other_cpu_s']:.0f} CPU s meanwhile", flush=True)
    except KeyboardInterrupt:
        keep(rows)
        return 130
    keep(rows)
    return 1 if any(r["exit_code"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
