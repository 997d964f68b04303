"""The thresholds a verdict is judged against, and the margin and runs a reproduction of a published
figure is judged by, defined once (no heavy imports: the CLI's option defaults read them at start-up)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """What a verdict is judged against, defined once; every layer takes its defaults from DEFAULTS."""

    alpha: float = 0.05  # family-wise significance level (Holm within a family; per look when sequential)
    min_effect: float = 0.01  # smallest accuracy difference that matters: 1 point ("better" needs it)
    margin: float | None = None  # TOST equivalence margin; None = min_effect
    power_effect: float = 0.02  # the difference power, MDE and seeds needed are computed for: 2 points
    min_rel_effect: float = 0.05  # cost metrics: minimum, margin and power effect as 5% of the other arm


DEFAULTS = Thresholds()


@dataclass(frozen=True)
class Reproduction:
    """When gr-bench's figure reproduces a published one (report/published.py, stats/published.py)."""

    margin: float = 1.5  # accuracy points: a reproduction within ±1.5 of the published mean counts as one
    min_runs: int = 3  # below this many runs: "too few seeds", no interval and no test


REPRODUCTION = Reproduction()
