"""What a search that repeats costs: the time its workers stand idle (gr_bench/study/repeat.py:
trial n starts only once trials 0 .. n - P have ended, P the trials that may run at once).

    python scripts/search_idle.py results/replay_schedule-digits-quick
    python scripts/search_idle.py results/replay_schedule --parallel 2

Measured (a study folder with its study.db): from the search stage's stored start and end times,
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
from pathlib import Path


def measured(folder: Path) -> tuple[float, float, int] | None:
    """(idle seconds, wall seconds, workers) of the search stage stored in folder/study.db."""
    db = folder / "study.db"
    if not db.is_file():
        return None
    import optuna

    from gr_bench.storage import open_storage

    study = optuna.load_study(study_name=folder.name, storage=open_storage(f"sqlite:///{db.resolve()}"))
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete]
    if not trials:
        return None
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    by_worker: dict[str, list] = {}
    for t in trials:
        by_worker.setdefault(t.user_attrs.get("worker", "?"), []).append(t)
    idle = 0.0
    for mine in by_worker.values():
        mine.sort(key=lambda t: t.datetime_start)
        free = start
        for t in mine:
            idle += (t.datetime_start - free).total_seconds()
            free = t.datetime_complete
    return idle, (end - start).total_seconds(), len(by_worker)


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
    if got:
        idle, wall, workers = got
        print(f"measured: {workers} workers, search wall {wall:.1f} s, idle {idle:.1f} s "
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
