"""What a search that repeats costs: the time its workers stand idle (gr_bench/orchestration/repeat.py:
trial n starts only once trials 0 .. n - P have ended, P the trials that may run at once).

    python scripts/search_idle.py results/replay_schedule-digits-quick
    python scripts/search_idle.py results/replay_schedule --parallel 2

Measured (a study folder with its study.db, or a shipped folder's runs.csv, from its runs' start
and end times): from the search stage's stored start and end times,
each worker's gaps between the end of one trial and the start of its next (waiting for older
trials, claiming and sampling), and from the search's start to its first trial; summed over the
workers, as a share of workers x the search's wall time (first trial start to last trial end).
The idle tail, when no trial is left to start, is not counted: waiting for the last trials costs
the same under any rule.

Simulated (any folder with a trials.csv, a shipped one included): the search trials' durations,
in trial order, run by P workers that each take the next trial when they are free, once under the
rule and once as before it (a free worker starts the next trial at once); the same idle share of
each. Durations depend on the configurations, which the rule changes, so this is an estimate.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime
from pathlib import Path


def idle_of(spans: list[tuple[str, datetime, datetime]]) -> tuple[float, float, int] | None:
    """(idle seconds, wall seconds, workers) of trials given as (worker, start, end): each worker's
    gaps from the search's first start, and between the end of one trial and the start of its next."""
    if not spans:
        return None
    start = min(s for _, s, _ in spans)
    end = max(e for _, _, e in spans)
    by_worker: dict[str, list] = {}
    for worker, s, e in spans:
        by_worker.setdefault(worker, []).append((s, e))
    idle = 0.0
    for mine in by_worker.values():
        free = start
        for s, e in sorted(mine):
            idle += (s - free).total_seconds()
            free = e
    return idle, (end - start).total_seconds(), len(by_worker)


def measured(folder: Path) -> tuple[float, float, int] | None:
    """idle_of the search stage stored in folder/study.db."""
    db = folder / "study.db"
    if not db.is_file():
        return None
    import optuna

    from gr_bench.storage import open_storage

    study = optuna.load_study(study_name=folder.name, storage=open_storage(f"sqlite:///{db.resolve()}"))
    return idle_of([(t.user_attrs.get("worker", "?"), t.datetime_start, t.datetime_complete)
                    for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete])


def measured_runs(folder: Path) -> tuple[float, float, int] | None:
    """idle_of the search stage from a shipped folder's runs.csv (one run per search trial): its
    runs' start and end times and workers. A trial's own claiming and sampling fall in the gaps."""
    if not (folder / "runs.csv").is_file():
        return None
    with open(folder / "runs.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["stage"] == "search" and r.get("started_at") and r.get("finished_at")]
    return idle_of([(r["worker"], datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["finished_at"]))
                    for r in rows])


def simulate(durations: list[float], parallel: int, lagged: bool) -> tuple[float, float]:
    """(idle seconds, wall seconds) of P workers running the trials in order: a free worker takes
    the next trial, at once or (lagged) once every trial up to n - P has ended."""
    free = [0.0] * parallel
    ends: list[float] = []
    idle = 0.0
    for n, d in enumerate(durations):
        w = min(range(parallel), key=lambda i: free[i])
        ready = max(ends[: max(0, n - parallel + 1)], default=0.0) if lagged else 0.0
        begin = max(free[w], ready)
        idle += begin - free[w]
        free[w] = begin + d
        ends.append(free[w])
    return idle, max(ends, default=0.0)


def _durations(folder: Path) -> list[float]:
    with open(folder / "trials.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["stage"] == "search" and r["duration_s"]]
    return [float(r["duration_s"]) for r in sorted(rows, key=lambda r: int(r["number"]))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a study folder (study.db and/or trials.csv)")
    ap.add_argument("--parallel", type=int, default=2, help="P for the simulation (default 2)")
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        print(f"search_idle: no such folder: {args.folder}", file=sys.stderr)
        return 2
    got = measured(args.folder)
    source = "study.db"
    if not got:
        got, source = measured_runs(args.folder), "runs.csv"
    if got:
        idle, wall, workers = got
        print(f"measured ({source}): {workers} workers, search wall {wall:.1f} s, idle {idle:.1f} s "
              f"= {100 * idle / (workers * wall):.1f}% of worker time")
    if (args.folder / "trials.csv").is_file():
        durations = _durations(args.folder)
        for name, lagged in (("as finished", False), ("lagged", True)):
            idle, wall = simulate(durations, args.parallel, lagged)
            print(f"simulated, {name}: {len(durations)} trials on {args.parallel} workers, wall {wall:.0f} s, "
                  f"idle {idle:.0f} s = {100 * idle / (args.parallel * wall):.1f}% of worker time")
    elif not got:
        print(f"search_idle: {args.folder} has neither study.db nor trials.csv", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
