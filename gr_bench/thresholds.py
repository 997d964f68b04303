"""The thresholds a verdict is judged against, defined once (no heavy imports: the CLI's option
defaults read them at start-up)."""

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
