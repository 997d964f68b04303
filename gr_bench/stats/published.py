"""gr-bench's per-seed values against a paper's mean ± SEM: Welch's t on the two means, the three
tests the reproduction verdict rests on, their intervals, and Holm's level for one row
(report/published.py builds the table and words the verdicts).

With d = mean(values) - published mean, s gr-bench's sample sd over its n seeds and n_pub the
paper's seeds: ``se = sqrt(s²/n + SEM²)`` (the paper's sd is SEM·sqrt(n_pub), so its variance of
the mean is SEM²), ``df = se⁴ / ((s²/n)²/(n - 1) + SEM⁴/(n_pub - 1))`` (Welch–Satterthwaite);
n_pub unknown: the SEM taken as exact, its term leaves the df (slightly liberal)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..thresholds import DEFAULTS, REPRODUCTION
from .intervals import t_interval


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): t_interval with the mean; NaN bounds below 3 values (NaN mean for none)."""
    x = np.asarray(values, dtype=float)
    return (float(x.mean()) if len(x) else math.nan, *t_interval(x, confidence=confidence))


def welch_against_published(values, mean: float, sem: float, n: int | None, *,
                            margin: float = REPRODUCTION.margin, alpha: float = DEFAULTS.alpha) -> dict:
    """d = mean(values) - mean with Welch's se and df, the raw p-values of the three tests (TOST
    within ±margin, one-sided beyond ±margin, two-sided d = 0) and the unadjusted (1 - 2·alpha)
    interval of d. ``n`` None: the SEM taken as exact (no df from the paper's side). Zero se (no
    spread on either side): d alone decides.

    - ``p_tost``: two one-sided t-tests of |d| < margin, the larger one-sided p,
      ``P(T > (margin - |d|)/se)``;
    - ``p_beyond``: the one-sided test of |d| > margin on the side d falls, ``P(T > (|d| - margin)/se)``;
    - ``p_diff``: the two-sided test of d = 0."""
    x = np.asarray(values, dtype=float)
    d = float(x.mean()) - mean
    ours, theirs = float(x.var(ddof=1)) / len(x), sem ** 2
    se = math.sqrt(ours + theirs)
    if se == 0:
        return dict(difference=d, se_welch=0.0, df_welch=math.inf, ci90_low=d, ci90_high=d,
                    p_tost=0.0 if abs(d) < margin else 1.0, p_beyond=0.0 if abs(d) > margin else 1.0,
                    p_diff=1.0 if d == 0 else 0.0)
    df = se ** 4 / (ours ** 2 / (len(x) - 1) + (0.0 if n is None else theirs ** 2 / (n - 1)))
    low, high = welch_interval(d, se, df, alpha)
    return dict(difference=d, se_welch=se, df_welch=float(df), ci90_low=low, ci90_high=high,
                p_tost=float(stats.t.sf((margin - abs(d)) / se, df)),
                p_beyond=float(stats.t.sf((abs(d) - margin) / se, df)),
                p_diff=float(2 * stats.t.sf(abs(d) / se, df)))


def welch_interval(d: float, se: float, df: float, one_sided: float) -> tuple[float, float]:
    """The (1 - 2·one_sided) interval of d: each bound a one-sided test at ``one_sided``."""
    if se == 0:
        return d, d
    half = float(stats.t.isf(one_sided, df)) * se
    return d - half, d + half


def closest_margin(sem: float, n: int | None, alpha: float = DEFAULTS.alpha) -> float:
    """The smallest margin TOST at ``alpha`` could show against a published mean ± SEM, however many
    seeds gr-bench ran: with d = 0 and gr-bench's own term s²/n gone, se is the SEM and Welch's df
    tends to the paper's n - 1 (n None: the SEM taken as exact, a normal quantile), so TOST passes
    only for a margin above ``t(1 - alpha, n - 1) · SEM``. Unadjusted alpha, the most lenient level
    Holm can hold a row to: a row whose margin is below this can never be "reproduced"."""
    q = stats.norm.isf(alpha) if n is None else stats.t.isf(alpha, n - 1)
    return float(q * sem)


def holm_level(p: float, p_holm: float, alpha: float, family: int) -> float:
    """The level a row's raw p is held to under Holm's step-down: ``alpha · p / p_holm``, so that
    ``p < level`` exactly when ``p_holm < alpha`` (alpha/m for the smallest p, up to alpha for the
    largest; smaller when an earlier step failed). A p of 0 (no spread) has Bonferroni's alpha/m."""
    return alpha * p / p_holm if p > 0 and p_holm > 0 else alpha / max(1, family)
