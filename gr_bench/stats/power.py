"""Power of the t-tests and the TOST, the smallest effect a design detects, and the seeds it needs.

Each function takes the level its test is held to (``alpha / family``: Holm's strictest step, or a
look's nominal level), not a Thresholds value: the callers compute that level."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from ..thresholds import DEFAULTS
from .intervals import MIN_N

TARGET_POWER = 0.8


def _power_at(effect: float, sd: float, n_a: int, n_b: int, *, paired: bool, alpha: float) -> float:
    """Two-sided t-test power to detect ``effect`` (metric units) given the sd of the
    differences (paired) or the pooled sd (unpaired)."""
    if math.isnan(sd) or math.isnan(effect) or min(n_a, n_b) < 2:
        return math.nan
    if sd == 0:
        return 1.0 if effect > 0 else alpha
    es = abs(effect) / sd
    if paired:
        power = TTestPower().power(effect_size=es, nobs=n_a, alpha=alpha)
        df, nc = n_a - 1, es * math.sqrt(n_a)
    else:
        power = TTestIndPower().power(effect_size=es, nobs1=n_a, ratio=n_b / n_a, alpha=alpha)
        df, nc = n_a + n_b - 2, es * math.sqrt(n_a * n_b / (n_a + n_b))
    if np.isnan(power):  # scipy's nct gives NaN for the far tail at large nc: that tail is ~0
        crit = stats.t.ppf(1 - alpha / 2, df)
        power = stats.nct.sf(crit, df, nc) + np.nan_to_num(stats.nct.cdf(-crit, df, nc))
    return float(power)


def min_detectable_effect(sd: float, n_a: int, n_b: int | None = None, *, paired=True,
                          alpha=DEFAULTS.alpha, family=1, power=TARGET_POWER) -> float:
    """Smallest true difference (metric units) a two-sided t-test detects with ``power`` at
    ``alpha / family`` (Holm's strictest step): ``d* · sd`` with d* from statsmodels' solve_power
    (paired: one-sample t on the differences; unpaired: two-sample t on the pooled sd)."""
    n_b = n_a if n_b is None else n_b
    if math.isnan(sd) or min(n_a, n_b) < MIN_N:
        return math.nan
    if sd == 0:
        return 0.0
    level = alpha / max(1, family)
    try:
        if paired:
            d = TTestPower().solve_power(effect_size=None, nobs=n_a, alpha=level, power=power)
        else:
            d = TTestIndPower().solve_power(effect_size=None, nobs1=n_a, ratio=n_b / n_a,
                                            alpha=level, power=power)
    except (ValueError, RuntimeError):
        return math.nan
    return float(np.squeeze(d)) * sd


def seeds_needed(sd_diff: float, effect=DEFAULTS.power_effect, alpha=DEFAULTS.alpha, family=1, power=TARGET_POWER, *,
                 paired=True) -> int | None:
    """The smallest n (pairs; seeds per arm when unpaired) whose two-sided t-test reaches
    ``power`` against a true difference ``effect`` at ``alpha / family``, given the sd of the
    paired differences (pooled sd when unpaired). Never below 3. None when the sd is unknown.

    Example: sd 0.04, effect 0.02 (d_z = 0.5), alpha 0.05, one comparison -> 34 (G*Power)."""
    if sd_diff is None or math.isnan(sd_diff) or not effect > 0:
        return None
    if sd_diff == 0:
        return MIN_N
    level = alpha / max(1, family)

    return _smallest_n(lambda n: _power_at(effect, sd_diff, n, n, paired=paired, alpha=level) >= power)


def _smallest_n(ok: Callable[[int], bool], limit: int = 10 ** 8) -> int | None:
    """The smallest n >= MIN_N with ok(n), for an ok that stays true once true (power rises with
    n): double, then bisect (lo fails, hi passes). None beyond ``limit``."""
    lo, hi = MIN_N - 1, MIN_N
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > limit:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def tost_power(sd_diff: float, n: int, *, margin: float, alpha=DEFAULTS.alpha, diff: float = 0.0) -> float:
    """Power of the paired TOST (:func:`tost`) within ±``margin`` at level ``alpha`` with n pairs,
    when the true mean difference is ``diff`` and the paired differences have sd ``sd_diff``.

    Exact for normal differences: both one-sided tests reject iff |mean - 0| < margin - c·s/√n
    (c = t_{1-alpha, n-1}, s the sample sd). The mean is N(diff, sd²/n) independently of s, and
    (n-1)s²/sd² is chi-square with n-1 df, so the power is one integral over that chi-square
    (Owen's formula for two one-sided tests). The central-t shortcut, T((margin - diff)/se - c) +
    T((margin + diff)/se - c) - 1, understates it at small n. tests/test_stats.py checks it
    against a simulation of the test itself."""
    if n < MIN_N or math.isnan(sd_diff) or not margin > 0:
        return math.nan
    if sd_diff == 0:
        return 1.0 if abs(diff) < margin else 0.0
    from scipy import integrate

    df, se = n - 1, sd_diff / math.sqrt(n)
    crit = stats.t.ppf(1 - alpha, df)
    q_max = df * (margin / (crit * se)) ** 2  # beyond it the acceptance interval is empty

    def accept(q: float) -> float:
        half = margin - crit * se * math.sqrt(q / df)
        return (stats.norm.cdf((half - diff) / se) - stats.norm.cdf((-half - diff) / se)) * stats.chi2.pdf(q, df)

    value, _ = integrate.quad(accept, 0.0, q_max, limit=200)
    return float(min(1.0, max(0.0, value)))


def tost_seeds_needed(sd_diff: float, margin: float, alpha=DEFAULTS.alpha, family=1,
                      power=TARGET_POWER) -> int | None:
    """The smallest n (pairs) whose paired TOST within ±``margin`` shows equivalence with ``power``
    when the arms truly do not differ, at ``alpha / family`` (Holm's strictest step). None when the
    sd is unknown or more than 10^6 pairs would be needed."""
    if sd_diff is None or math.isnan(sd_diff) or not margin > 0:
        return None
    level = alpha / max(1, family)
    return _smallest_n(lambda n: tost_power(sd_diff, n, margin=margin, alpha=level) >= power, limit=10 ** 6)

