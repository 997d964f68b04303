"""Per-seed samples and their t intervals: one sample, paired differences, Welch's unpaired
interval, the TOST on the same model, and an interval's level beside a family's verdict.

The underscored helpers (_clean, _sd, _welch, ...) are the package's own: its sibling modules
share them, and gr_bench.stats does not re-export them."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

MIN_N = 3  # below this many values (pairs) on a side: no CI, no effect size, no power
UNADJUSTED = 0.95  # level of ci95_low / ci95_high, kept beside the verdict-level interval


def _constant(x: np.ndarray) -> bool:
    """No spread beyond float rounding (0.812-0.802 and 0.513-0.503 differ in the 17th digit)."""
    return x.size == 0 or np.ptp(x) <= 1e-12 * max(1.0, float(np.max(np.abs(x))))


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def _sd(x: np.ndarray) -> float:
    return math.nan if len(x) < 2 else 0.0 if _constant(x) else float(x.std(ddof=1))


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if _constant(a) and _constant(b):
        return 0.0
    return math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                     / (len(a) + len(b) - 2))


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Standard error of mean(a) - mean(b) and the Welch–Satterthwaite degrees of freedom."""
    va, vb = _sd(a) ** 2 / len(a), _sd(b) ** 2 / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else math.inf
    return se, df


def t_interval(x, *, confidence=0.95) -> tuple[float, float]:
    """``mean ± t_{(1+c)/2, n-1} · sd/√n`` (NaN, NaN for n < 3; the point itself when sd is 0).

    Applied to paired differences this is the paired t interval on the mean difference."""
    x = _clean(x)
    if len(x) < MIN_N:
        return math.nan, math.nan
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 1) * _sd(x) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def family_level(alpha: float, family: int = 1) -> float:
    """``1 - alpha / K`` (Bonferroni): the level of Holm's first step in a family of K, where a lone
    comparison's interval (K = 1) and power sit; a family's rows each take their own Holm step's
    level (family.compare_family)."""
    return 1.0 - alpha / max(1, int(family))


def diff_interval(a, b, *, paired: bool, confidence=0.95) -> tuple[float, float]:
    """CI on mean(a - b): the paired t interval, or Welch's interval for unpaired samples.

    Paired inputs drop a pair with a NaN on either side. NaN, NaN with fewer than 3 values."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if paired:
        keep = ~(np.isnan(a) | np.isnan(b))
        return t_interval(a[keep] - b[keep], confidence=confidence)
    a, b = _clean(a), _clean(b)
    if min(len(a), len(b)) < MIN_N:
        return math.nan, math.nan
    se, df = _welch(a, b)
    diff = float(a.mean() - b.mean())
    half = stats.t.ppf((1 + confidence) / 2, df) * se if se > 0 else 0.0
    return diff - half, diff + half


def tost(a, b, *, paired: bool, margin: float) -> float:
    """Two one-sided t-tests of ``|mean(a - b)| < margin``; returns the larger one-sided p.

    Paired: with d = a - b, se = sd(d)/√n, df = n - 1,
    ``p = max(P(T > (mean(d) + margin)/se), P(T < (mean(d) - margin)/se))``
    (statsmodels ``ttost_paired(a, b, -margin, margin)``). Unpaired: the same with Welch's se and
    df. Zero spread: 0 when |diff| < margin, else 1. NaN with fewer than 3 values."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if paired:
        keep = ~(np.isnan(a) | np.isnan(b))
        d = a[keep] - b[keep]
        if len(d) < MIN_N:
            return math.nan
        diff, se, df = float(d.mean()), _sd(d) / math.sqrt(len(d)), float(len(d) - 1)
    else:
        a, b = _clean(a), _clean(b)
        if min(len(a), len(b)) < MIN_N:
            return math.nan
        diff = float(a.mean() - b.mean())
        se, df = _welch(a, b)
    if not margin > 0:
        return 1.0
    if se == 0:
        return 0.0 if abs(diff) < margin else 1.0
    return float(max(stats.t.sf((diff + margin) / se, df), stats.t.cdf((diff - margin) / se, df)))


def describe(values, *, confidence=0.95) -> dict:
    """n, mean, sd (ddof=1) and the t CI ``mean ± t_{(1+c)/2, n-1} · sd/√n`` (NaN for n < 3)."""
    x = _clean(values)
    lo, hi = t_interval(x, confidence=confidence)
    return dict(n=len(x), mean=float(x.mean()) if len(x) else math.nan, sd=_sd(x), ci_low=lo,
                ci_high=hi)
