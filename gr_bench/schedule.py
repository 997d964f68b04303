"""Replay schedules: how many replay samples to generate before each task.

A schedule string such as ``linear:1000`` is parsed once into a :class:`Schedule`, a pure
function of the task index ``t`` (0-based, so ``t`` is also the number of completed tasks)
and of the new task's size ``n_new``. Task 0 never gets replay: there is nothing to replay yet.

The seed report trains task ``t`` on ``S = S0 + t * St`` samples: ``S0`` new ones and a replay
set growing linearly with the number of completed tasks (``linear:St``). It found a
less-than-linear growth chosen by hand slightly better (``manual:...``, or ``sqrt:N``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = {
    "constant": "constant:N       N replay samples before every task after the first",
    "linear": "linear:N         N x (completed tasks): the report's S = S0 + T*St",
    "sqrt": "sqrt:N           N x sqrt(completed tasks): grows less than linearly",
    "proportional": "proportional:R   R x (the new task's size), e.g. proportional:1.0",
    "manual": "manual:n1,n2,... one size per task after the first (n_tasks - 1 numbers)",
}


MAX_SIZE = 10**9  # replay samples before one task: far past any dataset, small enough to compute with
MAX_RATIO = 1e6  # proportional:R, R times the new task's size


class ScheduleError(ValueError):
    """A malformed schedule string; the message is one line meant for the user."""


@dataclass(frozen=True)
class Schedule:
    kind: str
    values: tuple[float, ...]  # N (or R) for the formula kinds; the per-task sizes for manual

    def __call__(self, t: int, n_new: int = 0) -> int:
        if t < 0:
            raise ValueError(f"task index must be >= 0, got {t}")
        if t == 0:
            return 0
        v = self.values
        if self.kind == "constant":
            return int(v[0])
        if self.kind == "linear":
            return int(v[0]) * t
        if self.kind == "sqrt":
            return int(round(v[0] * math.sqrt(t)))
        if self.kind == "proportional":
            return int(round(v[0] * n_new))
        if t - 1 >= len(v):  # manual
            raise ScheduleError(f"manual schedule gives {len(v)} sizes but task {t} needs one more")
        return int(v[t - 1])

    def sizes(self, n_tasks: int, n_new: int = 0) -> list[int]:
        """Replay sizes for tasks 0..n_tasks-1 (for tables and the task-scaling study)."""
        return [self(t, n_new) for t in range(n_tasks)]

    def __str__(self) -> str:
        if self.kind == "manual":
            return "manual:" + ",".join(str(int(x)) for x in self.values)
        x = self.values[0]
        return f"{self.kind}:{int(x) if self.kind != 'proportional' else _fmt(x)}"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _positive_int(text: str, spec: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ScheduleError(f"schedule {spec!r}: {text!r} is not a whole number") from None
    if n <= 0:
        raise ScheduleError(f"schedule {spec!r}: sizes must be positive, got {n}")
    if n > MAX_SIZE:
        raise ScheduleError(f"schedule {spec[:40]!r}: sizes must be at most {MAX_SIZE:,}")
    return n


def parse_schedule(spec: str) -> Schedule:
    """Parse ``kind:value``; raises :class:`ScheduleError` with a one-line message."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ScheduleError(
            f"schedule {spec!r} must look like KIND:VALUE with KIND one of {', '.join(KINDS)}"
        )
    kind, _, arg = spec.partition(":")
    if kind not in KINDS:
        raise ScheduleError(f"schedule {spec!r}: unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind == "manual":
        parts = arg.split(",")
        if not arg or any(p == "" for p in parts):
            raise ScheduleError(f"schedule {spec!r}: manual needs comma-separated sizes, e.g. manual:500,800,1000,1200")
        return Schedule(kind, tuple(float(_positive_int(p, spec)) for p in parts))
    if kind == "proportional":
        try:
            r = float(arg)
        except ValueError:
            raise ScheduleError(f"schedule {spec!r}: {arg!r} is not a number") from None
        if not (math.isfinite(r) and 0 < r <= MAX_RATIO):
            raise ScheduleError(f"schedule {spec[:40]!r}: the ratio must be a positive number up to {MAX_RATIO:g}")
        return Schedule(kind, (r,))
    return Schedule(kind, (float(_positive_int(arg, spec)),))
