"""Is a difference between two configurations real, and is it large? Tests, Holm, t intervals,
equivalence (TOST), power and effect sizes.

Inputs are per-seed values (one number per run), in the metric's own unit. Paired designs compare
the same seeds. The rules (docs/statistics.md gives them with their reasons):

- the difference test is the paired t-test (Welch's t-test for unpaired samples), Holm-adjusted
  across a family of comparisons; the exact Wilcoxon signed-rank (Mann–Whitney U) p is reported
  beside it as ``p_secondary``. Test, interval, equivalence and power thus rest on one model, and a
  t-test can reach any p from 2 pairs on (the exact Wilcoxon cannot go below 2/2**n: 0.0625 at 5
  pairs, so under Holm no comparison of a 5-seed study could ever be significant);
- the CI on the difference is the paired t interval (Welch's for unpaired samples), which covers at
  its nominal level for normal differences at any n >= 3 (a bootstrap BCa covered ~87.5% at n = 8);
  its level is the verdict's: 1 - alpha for one comparison, 1 - alpha/K (Bonferroni) in a family of
  K. Holm's adjusted p is below alpha whenever the raw p is below alpha/K, so an interval that
  excludes zero always sits beside a significant difference (a 95% interval beside a Holm verdict
  could exclude zero while the verdict said "underpowered"). The unadjusted 95% bounds are kept
  beside it (``ci95_low``, ``ci95_high``);
- "better"/"worse" needs a small adjusted p *and* |diff| >= ``min_effect``;
- "equivalent" needs its own test: TOST (two one-sided paired t-tests) within ±``margin``, Holm-
  adjusted across the family; a non-significant difference test never says "equal";
- power is the paired-t power at ``power_effect`` with alpha / family size (Holm's strictest step);
  below 0.8, or when the design cannot reach alpha at all (fewer than 2 values on a side), an
  inconclusive result is "underpowered".
- with fewer than 3 values (pairs) there is no CI and no effect size (NaN).

Pure functions over numpy/scipy/statsmodels/pandas; no torch.
"""
from __future__ import annotations

import math
import warnings
from itertools import combinations
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower

from . import group_sequential as gs
from .thresholds import DEFAULTS

MIN_N = 3  # below this many values (pairs) on a side: no CI, no effect size, no power
TARGET_POWER = 0.8


# "not judged (wall clock)": a wall-clock comparison (comparisons.wall_clock_rule, which sets it:
# shared machines' load swings); its numbers stand, its verdict is withheld
WALL_CLOCK_VERDICT = "not judged (wall clock)"
VERDICTS = ("better", "worse", "equivalent", "negligible", "inconclusive", "no evidence",
            "underpowered", WALL_CLOCK_VERDICT)
FAMILY_KEYS = (  # keys of every compare_family() row, each once, in the metric's own unit
    "study", "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high",
    "test", "statistic", "p_value", "p_holm", "effect_size", "effect_kind", "prob_improvement",
    "verdict", "family_size", "alpha", "min_effect", "min_rel_effect", "margin", "tost_p",
    "tost_p_holm", "equivalent", "sd_diff", "power_effect", "mde", "power_at_min_effect",
    "seeds_needed", "underpowered", "paired_delta", "cliffs_delta", "min_p", "min_p_holm",
    "test_secondary", "p_secondary", "confidence", "exact", "ci_level", "ci95_low", "ci95_high",
    "look", "looks", "alpha_nominal", "boundary")
_EXACT_PERMUTATIONS = 20_000  # enumerate Mann-Whitney permutations exactly up to this many
PAIRED_TESTS = ("paired-t", "wilcoxon")  # primary test names of a paired row ("wilcoxon": old rows)
UNADJUSTED = 0.95  # level of ci95_low / ci95_high, kept beside the verdict-level interval


def _constant(x: np.ndarray) -> bool:
    """No spread beyond float rounding (0.812-0.802 and 0.513-0.503 differ in the 17th digit)."""
    return x.size == 0 or np.ptp(x) <= 1e-12 * max(1.0, float(np.max(np.abs(x))))


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def _sd(x: np.ndarray) -> float:
    return math.nan if len(x) < 2 else 0.0 if _constant(x) else float(x.std(ddof=1))


def t_interval(x, *, confidence=0.95) -> tuple[float, float]:
    """``mean ± t_{(1+c)/2, n-1} · sd/√n`` (NaN, NaN for n < 3; the point itself when sd is 0).

    Applied to paired differences this is the paired t interval on the mean difference."""
    x = _clean(x)
    if len(x) < MIN_N:
        return math.nan, math.nan
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 1) * _sd(x) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def family_level(alpha: float, family: int = 1) -> float:
    """Confidence level of an interval at a verdict's level: ``1 - alpha / K`` (Bonferroni).

    Holm rejects every hypothesis whose raw p is below alpha / K, so an interval at this level that
    excludes zero never sits beside a non-significant verdict (a 95% interval could)."""
    return 1.0 - alpha / max(1, int(family))


def level_text(level: float) -> str:
    """'95%', '97.5%', '98.33%': a confidence level as people read it."""
    return f"{100 * level:.4g}%"


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Standard error of mean(a) - mean(b) and the Welch–Satterthwaite degrees of freedom."""
    va, vb = _sd(a) ** 2 / len(a), _sd(b) ** 2 / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else math.inf
    return se, df


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


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values, in the input order (statsmodels
    ``multipletests(method="holm")``): with the m non-NaN p sorted ascending,
    ``adj_(i) = max_{j<=i} min(1, (m - j) · p_(j))``. NaN entries stay NaN and do not count in m."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def min_attainable_p(n_a: int, n_b: int, *, paired: bool, test: str) -> float:
    """Smallest two-sided p the test can return with these sample sizes.

    t-tests ("paired-t", "welch-t"): 0.0 with at least 2 values (pairs) on each side, since a
    continuous statistic can reach any p; 1.0 below (no variance, no test).
    Exact Wilcoxon signed-rank, n pairs: ``2 / 2**n`` (all signs equal; n=5 -> 0.0625).
    Exact Mann–Whitney: ``2 / C(n_a + n_b, n_a)`` (complete separation; 5 vs 5 -> 2/252).
    """
    if test in ("paired-t", "wilcoxon") and (not paired or n_a != n_b):
        raise ValueError(f"{test} needs paired samples of equal size")
    if test in ("paired-t", "welch-t", "t"):
        return 0.0 if min(n_a, n_b) >= 2 else 1.0
    if test == "wilcoxon":
        return min(1.0, 2.0 / 2.0 ** n_a)
    if test == "mann-whitney":
        return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))
    raise ValueError(f"unknown test {test!r}")


# ---- power --------------------------------------------------------------------------------
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


# ---- effect sizes -------------------------------------------------------------------------
def cliffs_delta(a, b) -> float:
    """Unpaired Cliff's delta: ``(#(a_i > b_j) - #(a_i < b_j)) / (n_a n_b)`` over all pairs, in
    [-1, 1]. For independent samples only; paired designs use paired_delta."""
    a, b = _clean(a), _clean(b)
    if not len(a) or not len(b):
        return math.nan
    sign = np.sign(a[:, None] - b[None, :])
    return float(sign.sum() / sign.size)


def paired_delta(a, b) -> float:
    """Paired analogue of Cliff's delta: ``(#(a_i > b_i) - #(a_i < b_i)) / n`` over the pairs,
    i.e. the share of seeds where a wins minus the share where b wins, in [-1, 1]."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    return float(np.sign(d).mean()) if d.size else math.nan


def prob_improvement(a, b, *, paired: bool) -> float:
    """Paired: mean_i [a_i > b_i] + ½[a_i = b_i]. Unpaired: P(X > Y) + ½ P(X = Y), all pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        keep = ~(np.isnan(a) | np.isnan(b))
        d = a[keep] - b[keep]
    else:
        d = (_clean(a)[:, None] - _clean(b)[None, :]).ravel()
    return float(np.mean((d > 0) + 0.5 * (d == 0))) if d.size else math.nan


def orient(row: dict, better: str) -> dict:
    """Make a compare() row read in its metric's sense, in place. For a lower-is-better metric
    (time, memory, forgetting) a smaller ``a`` is the improvement: the verdict swaps better/worse,
    ``prob_improvement`` becomes P(a < b) + ½P(a = b), and the dominance deltas (``paired_delta``,
    ``cliffs_delta``: "share where a is larger") change sign. ``diff``, the CI and the effect
    size stay a - b, in the metric's own direction."""
    if better == "lower":
        row["verdict"] = {"better": "worse", "worse": "better"}.get(row["verdict"], row["verdict"])
        row["prob_improvement"] = 1.0 - row["prob_improvement"]  # NaN stays NaN
        for key in ("paired_delta", "cliffs_delta"):
            row[key] = -row[key]
    return row


def cohens_d(a, b, *, paired: bool) -> tuple[float, str]:
    """Paired: ``d_z = mean(a - b) / sd(a - b)``. Unpaired: ``d = (mean_a - mean_b) / s_pooled``
    with ``s_pooled² = ((n_a-1)s_a² + (n_b-1)s_b²) / (n_a + n_b - 2)``.
    NaN when the sd is 0 or n < 2."""
    if paired:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        d = (a - b)[~(np.isnan(a) | np.isnan(b))]
        sd = d.std(ddof=1) if len(d) >= 2 and not _constant(d) else 0.0
        return (float(d.mean() / sd) if sd > 0 else math.nan), "d_z"
    a, b = _clean(a), _clean(b)
    if len(a) < 2 or len(b) < 2:
        return math.nan, "d"
    pooled = _pooled_sd(a, b)
    return (float((a.mean() - b.mean()) / pooled) if pooled > 0 else math.nan), "d"


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if _constant(a) and _constant(b):
        return 0.0
    return math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                     / (len(a) + len(b) - 2))


# ---- one comparison -----------------------------------------------------------------------
def _thresholds(row: dict, min_effect, min_rel_effect, margin, power_effect) -> None:
    """Absolute thresholds for this pair: relative ones scale with |mean_b| (cost metrics)."""
    if min_rel_effect is not None:
        base = abs(row["mean_b"]) if not math.isnan(row["mean_b"]) else math.nan
        row.update(min_effect=min_rel_effect * base, margin=min_rel_effect * base,
                   power_effect=min_rel_effect * base, min_rel_effect=min_rel_effect)
    else:
        row.update(min_effect=min_effect, margin=min_effect if margin is None else margin,
                   power_effect=power_effect, min_rel_effect=math.nan)


def _power_fields(row: dict, *, paired: bool, level: float) -> None:
    """mde, power_at_min_effect and seeds_needed for a two-sided t-test at ``level`` (the level
    the row's p-value is held to: alpha / family size for Holm's strictest step, or a look's
    nominal level)."""
    n_a, n_b, sd = row["n_a"], row["n_b"], row["sd_diff"]
    enough = min(n_a, n_b) >= MIN_N
    row["mde"] = min_detectable_effect(sd, n_a, n_b, paired=paired, alpha=level)
    row["power_at_min_effect"] = (_power_at(row["power_effect"], sd, n_a, n_b, paired=paired,
                                            alpha=level) if enough else math.nan)
    row["seeds_needed"] = seeds_needed(sd, row["power_effect"], level, paired=paired)


def _is_underpowered(row: Mapping, alpha: float) -> bool:
    if row.get("exact"):
        return False
    power = row.get("power_at_min_effect", math.nan)
    return bool(row.get("min_p_holm", row["min_p"]) > alpha or math.isnan(row["p_value"])
                or math.isnan(power) or power < TARGET_POWER)



def compare(a, b, *, paired: bool, alpha=DEFAULTS.alpha, min_effect=DEFAULTS.min_effect, min_rel_effect=None,
            margin=None, power_effect=DEFAULTS.power_effect, confidence=None) -> dict:
    """Compare per-seed values a vs b (diff = a - b, in the metric's unit); one comparison.

    Paired (same seeds, same order; a pair with a NaN is dropped): primary paired t-test
    (``test="paired-t"``; all differences zero -> p = 1.0; the same non-zero difference on every
    seed -> p = 0.0), secondary exact Wilcoxon signed-rank (``test_secondary="wilcoxon"``, zero
    differences dropped, ``zero_method="wilcox"``); CI: paired t interval; effect sizes d_z and
    paired_delta.
    Unpaired: primary Welch t-test (``test="welch-t"``), secondary Mann–Whitney U (exact
    permutation test when there are ties in small samples, where scipy's normal approximation
    undercuts the exact minimum p); CI: Welch interval; effect sizes d and cliffs_delta.
    CI level: ``confidence``, by default 1 - alpha (the verdict's level; ``ci_level`` and
    ``confidence`` record it); ``ci95_low``/``ci95_high`` are the unadjusted 95% bounds.
    Thresholds: ``min_effect`` (verdict), ``margin`` (TOST, default min_effect), ``power_effect``
    (power and seeds needed); ``min_rel_effect`` replaces all three by that fraction of |mean_b|.
    compare_family() recomputes p_holm, tost_p_holm, power and the verdict over its family.
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired comparison needs equal lengths, got {len(a)} and {len(b)}")
        keep = ~(np.isnan(a) | np.isnan(b))  # drop the whole pair so seeds stay aligned
        a, b = a[keep], b[keep]
    else:
        a, b = _clean(a), _clean(b)
    n_a, n_b = len(a), len(b)
    enough = min(n_a, n_b) >= MIN_N
    nan = math.nan
    confidence = family_level(alpha) if confidence is None else confidence
    row = dict(n_a=n_a, n_b=n_b, mean_a=float(a.mean()) if n_a else nan,
               mean_b=float(b.mean()) if n_b else nan, diff=nan, ci_low=nan, ci_high=nan,
               test="paired-t" if paired else "welch-t", statistic=nan, p_value=nan,
               test_secondary="wilcoxon" if paired else "mann-whitney", p_secondary=nan,
               effect_size=nan, effect_kind="d_z" if paired else "d", prob_improvement=nan,
               paired_delta=nan, cliffs_delta=nan, min_p=1.0, family_size=1, alpha=alpha,
               confidence=confidence, ci_level=confidence, ci95_low=nan, ci95_high=nan, tost_p=nan)
    _thresholds(row, min_effect, min_rel_effect, margin, power_effect)
    row["diff"] = float((a - b).mean()) if paired and n_a else row["mean_a"] - row["mean_b"]
    row["sd_diff"] = _sd(a - b) if paired else _pooled_sd(a, b)
    # A cost (judged relative to the other arm) with the same difference on every seed, such as
    # training FLOPs: a fact of the configurations, not a sample; its size decides, not a test
    # (t is infinite, the rank tests cannot reach alpha at a few seeds). Accuracies are never
    # taken as exact.
    row["exact"] = bool(paired and enough and min_rel_effect is not None and row["sd_diff"] == 0)
    if enough:
        row["ci_low"], row["ci_high"] = diff_interval(a, b, paired=paired, confidence=confidence)
        row["ci95_low"], row["ci95_high"] = diff_interval(a, b, paired=paired, confidence=UNADJUSTED)
        row["effect_size"] = cohens_d(a, b, paired=paired)[0]
        row["prob_improvement"] = prob_improvement(a, b, paired=paired)
        row["paired_delta" if paired else "cliffs_delta"] = (paired_delta(a, b) if paired
                                                              else cliffs_delta(a, b))
        row["tost_p"] = tost(a, b, paired=paired, margin=row["margin"])
    if n_a >= 2 and n_b >= 2:
        _difference_test(row, a, b, paired=paired)
    row["min_p_holm"] = row["min_p"]
    if row["exact"]:
        _state_exact(row)
    _power_fields(row, paired=paired, level=alpha)
    _finish(row, alpha, p_key="p_value", tost_key="tost_p")
    return row


def _state_exact(row: dict) -> None:
    """A difference that is the same on every seed (training FLOPs, bytes, parameters) is stated,
    not tested: test "exact", no statistic, p-value or interval (a t-test would print p 0 and an
    interval of zero width); its size decides the verdict (verdict())."""
    nan = math.nan
    row.update(test="exact", statistic=nan, p_value=nan, p_secondary=nan, test_secondary="", ci_low=nan,
               ci_high=nan, ci95_low=nan, ci95_high=nan, tost_p=nan, effect_size=nan, min_p=nan,
               min_p_holm=nan)


def _difference_test(row: dict, a: np.ndarray, b: np.ndarray, *, paired: bool) -> None:
    """The primary t-test (statistic, p, min_p) and the secondary exact rank test p."""
    n_a, n_b = len(a), len(b)
    if paired:
        d = a - b
        row["min_p"] = min_attainable_p(n_a, n_a, paired=True, test="paired-t")
        # Snap differences to a 1e-12 grid so float noise neither hides zeros nor breaks ties.
        tol = 1e-12 * max(1.0, float(np.max(np.abs(np.concatenate([a, b])))))
        snapped = np.round(d / tol) * tol
        nonzero = int(np.count_nonzero(snapped))
        if nonzero == 0:  # identical results on every seed: no difference, nothing to rank
            row.update(statistic=0.0, p_value=1.0, p_secondary=1.0)
            return
        if _constant(d):
            # The same non-zero difference on every seed: sd 0, so t is infinite and p is 0 (scipy
            # would give a huge finite t from float noise, or NaN). Only exact costs such as FLOPs
            # do this, and compare() decides those by the size of the difference (row["exact"]).
            row.update(statistic=math.copysign(math.inf, float(d.mean())), p_value=0.0)
        else:
            res = stats.ttest_rel(a, b)
            row.update(statistic=float(res.statistic), p_value=float(res.pvalue))
        # scipy 'auto': exact null if no ties/zeros; exact permutation if ties/zeros and n <= 13;
        # normal approximation beyond. Zeros are dropped (the reachable p is 2 / 2**nonzero).
        res = stats.wilcoxon(snapped, zero_method="wilcox", alternative="two-sided")
        row["p_secondary"] = float(res.pvalue)
    else:
        row["min_p"] = min_attainable_p(n_a, n_b, paired=False, test="welch-t")
        if _constant(a) and _constant(b):  # no spread on either side: t is 0 or infinite
            gap = float(a.mean() - b.mean())
            tol = 1e-12 * max(1.0, float(np.max(np.abs(np.concatenate([a, b])))))
            if abs(gap) <= tol:
                row.update(statistic=0.0, p_value=1.0)
            else:
                row.update(statistic=math.copysign(math.inf, gap), p_value=0.0)
        else:
            res = stats.ttest_ind(a, b, equal_var=False)
            row.update(statistic=float(res.statistic), p_value=float(res.pvalue))
        ties = len(np.unique(np.concatenate([a, b]))) < n_a + n_b
        if ties and math.comb(n_a + n_b, n_a) <= _EXACT_PERMUTATIONS:
            method = stats.PermutationMethod(n_resamples=np.inf)  # full enumeration: exact
        else:
            method = "auto"  # scipy: exact if no ties and min(n) <= 8, else asymptotic
        res = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
        row["p_secondary"] = float(res.pvalue)


def _finish(row: dict, alpha: float, *, p_key: str, tost_key: str) -> None:
    row["equivalent"] = bool(row[tost_key] < alpha)  # NaN < alpha is False
    row["underpowered"] = _is_underpowered(row, alpha)
    row["verdict"] = verdict(row, alpha=alpha, p_key=p_key)


def verdict(row: Mapping, *, alpha=DEFAULTS.alpha, min_effect=None, p_key="p_holm") -> str:
    """Classify a compare()/compare_family() row from ``row[p_key]`` (falls back to p_value) and
    its TOST p (``tost_p_holm`` with Holm p, else ``tost_p``) held to ``alpha``; decide() gives
    the rule."""
    p = row.get(p_key, row.get("p_value", math.nan))
    holm_p = p_key == "p_holm"
    floor = row.get("min_p_holm", row["min_p"]) if holm_p else row["min_p"]
    tost_p = row.get("tost_p_holm" if holm_p else "tost_p", row.get("tost_p", math.nan))
    reachable = not floor > alpha  # NaN floor (exact rows): decided by size in decide()
    return decide(row, significant=bool(reachable and p < alpha), equivalent=bool(tost_p < alpha),
                  reachable=reachable, min_effect=min_effect)


def decide(row: Mapping, *, significant: bool, equivalent: bool, reachable: bool = True,
           min_effect=None) -> str:
    """A row's verdict from its two tests' decisions (``significant``: the difference test
    rejected at its level; ``equivalent``: the TOST rejected at its level). In order:

    - exact rows (a cost, 3+ paired seeds, the same difference on every seed): "better"/"worse" when
      |diff| >= min_effect, "negligible" below it, "equivalent" at zero;
    - "underpowered": fewer than 3 pairs, no p, or a design that cannot reach its level
      (``reachable`` false), unless the TOST shows equivalence ("equivalent");
    - "better" / "worse": significant and |diff| >= min_effect (sign of diff);
    - "negligible": significant, |diff| < min_effect, and the TOST shows |diff| < margin;
    - "inconclusive": significant, |diff| < min_effect, TOST not significant (real, size unclear);
    - "equivalent": no significant difference and the TOST shows it within ±margin;
    - "underpowered": no significant difference and power at power_effect < 0.8;
    - "no evidence": otherwise (adequately powered, no difference found, none ruled out).
    """
    min_effect = row.get("min_effect", DEFAULTS.min_effect) if min_effect is None else min_effect
    if row.get("exact"):  # the same difference on every seed: its size decides
        if row["diff"] == 0:
            return "equivalent"
        if abs(row["diff"]) >= min_effect:
            return "better" if row["diff"] > 0 else "worse"
        return "negligible"
    # Fewer than MIN_N values (pairs) on a side: no interval, no effect size, and no verdict from
    # a p-value either (a t-test on 2 pairs can reach p < alpha; two seeds are not a finding).
    too_few = min(row.get("n_a", MIN_N), row.get("n_b", MIN_N)) < MIN_N
    if too_few or not reachable or math.isnan(row.get("p_value", math.nan)):
        return "equivalent" if equivalent else "underpowered"
    if significant:
        if abs(row["diff"]) >= min_effect:
            return "better" if row["diff"] > 0 else "worse"
        return "negligible" if equivalent else "inconclusive"
    if equivalent:
        return "equivalent"
    power = row.get("power_at_min_effect", math.nan)
    if math.isnan(power) or power < TARGET_POWER:
        return "underpowered"
    return "no evidence"


# ---- wording ------------------------------------------------------------------------------
def _paired(row: Mapping) -> bool:
    """Whether a row comes from a paired comparison (its primary test is a paired one)."""
    return row.get("test") in PAIRED_TESTS or row.get("test") == "exact"  # exact rows are paired by seed


def _n_text(row: Mapping) -> str:
    return f"n={row['n_a']}" if _paired(row) else f"n={row['n_a']}+{row['n_b']}"


def _num(x: float, spec: str) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _plural(x: float, unit: str) -> str:
    return unit[:-1] if unit == "points" and x == 1 else unit


def margin_text(row: Mapping, *, scale=100.0, unit="points") -> str:
    """'±1 point', or '±5%' when the thresholds are relative to the other arm."""
    rel = row.get("min_rel_effect", math.nan)
    if rel is not None and not math.isnan(rel):
        return f"±{100 * rel:g}%"
    m = scale * row.get("margin", math.nan)
    return f"±{m:.3g} {_plural(round(m, 3), unit)}".rstrip()


def verdict_label(row: Mapping, *, scale=100.0, unit="points") -> str:
    """The verdict for display: 'equivalent' and 'negligible' state their margin."""
    v = row["verdict"]
    if v == "equivalent":
        return f"equivalent within {margin_text(row, scale=scale, unit=unit)}"
    if v == "negligible":
        return f"negligible (real, within {margin_text(row, scale=scale, unit=unit)})"
    return v


def p_text(row: Mapping) -> str:
    """'p 0.031' for a single comparison, 'p_holm 0.093 (Holm over 3)' for a family, and for a
    look of a sequential design 'p 0.004 against its level 0.0061 (look 2 of 4, Holm over 3)'."""
    k = int(row.get("family_size", 1))
    looks = int(or_default(row.get("looks"), 1))
    sequential = str(row.get("boundary") or "holm") not in ("holm", "nan")
    if looks > 1 or sequential:  # held to its design's level, not to Holm's adjusted p
        holm_part = f", Holm over {k}" if k > 1 else ""
        return (f"p {_num(row['p_value'], '.3g')} against its level {_num(row['alpha_nominal'], '.3g')} "
                f"(look {int(row['look'])} of {looks}{holm_part})")
    if k > 1 and "p_holm" in row:
        return f"p_holm {_num(row['p_holm'], '.3g')} (Holm over {k})"
    return f"p {_num(row['p_value'], '.3g')}"


def or_default(value, default):
    """``value`` unless it is missing (None or NaN, as a CSV read back gives it)."""
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else value


def exact_text(row: Mapping, *, scale=100.0, unit="points") -> str:
    """An exact row as it is stated: '+5,440.9 GFLOP (+134%), the same on every seed'."""
    u = f" {unit}" if unit else ""
    rel = ""
    if row.get("mean_b"):
        rel = f" ({100 * row['diff'] / abs(row['mean_b']):+.0f}%)"
    return f"{scale * row['diff']:+,.1f}{u}{rel}, the same on every seed ({_n_text(row)})"


def details(row: Mapping, *, scale=100.0, unit="points") -> str:
    """The numbers behind a verdict, without the verdict itself."""
    if row.get("test") == "exact":  # compare() names every exact row so
        return exact_text(row, scale=scale, unit=unit)
    level = row.get("ci_level", row.get("confidence", UNADJUSTED))
    u = f" {unit}" if unit else ""
    rel = row.get("min_rel_effect", math.nan)
    rel_txt = ""
    if rel is not None and not math.isnan(rel) and row["mean_b"]:
        rel_txt = f" ({100 * row['diff'] / abs(row['mean_b']):+.1f}%)"
    n = _n_text(row)
    parts = [f"diff {scale * row['diff']:+.1f}{u}{rel_txt}",
             f"{level_text(level)} CI [{_num(scale * row['ci_low'], '.1f')}, {_num(scale * row['ci_high'], '.1f')}]",
             p_text(row)]
    if not math.isnan(row.get("tost_p", math.nan)):
        k = int(row.get("family_size", 1))
        tp = row.get("tost_p_holm", row["tost_p"]) if k > 1 else row["tost_p"]
        parts.append(f"TOST {margin_text(row, scale=scale, unit=unit)} "
                     f"{'p_holm' if k > 1 else 'p'} {tp:.3g}")
    if not math.isnan(row["effect_size"]):
        parts.append(f"{row['effect_kind']} {row['effect_size']:.2f}")
    parts += [row["test"], n]
    power = row.get("power_at_min_effect", math.nan)
    if not math.isnan(power):
        pe = row.get("power_effect", math.nan)
        at = (f"±{100 * rel:g}%" if rel is not None and not math.isnan(rel)
              else f"{scale * pe:.3g}{u}")
        parts.append(f"power {power:.2f} at {at}, MDE {_num(scale * row['mde'], '.1f')}{u}")
    return ", ".join(parts)


# ---- families -----------------------------------------------------------------------------
def _pair_values(groups, a: str, b: str, metric: str, paired: bool, seeds=None):
    """The two arms' values, paired on seed (only seeds both ran count); ``seeds``: only these."""
    if isinstance(groups, pd.DataFrame):
        code = "code" in groups.columns  # a seed's two runs pair only when they ran the same code

        def get(label):
            rows = groups.loc[groups["label"] == label, ["seed", metric] + (["code"] if code else [])]
            return rows if seeds is None else rows[rows["seed"].isin(seeds)]
        if paired:  # align on seed; only seeds both configurations ran count
            m = get(a).merge(get(b), on="seed", suffixes=("_a", "_b")).sort_values("seed")
            if code:
                m = m[m["code_a"].astype(str) == m["code_b"].astype(str)]
            return m[f"{metric}_a"].to_numpy(float), m[f"{metric}_b"].to_numpy(float)
        return get(a)[metric].to_numpy(float), get(b)[metric].to_numpy(float)
    return np.asarray(groups[a], dtype=float), np.asarray(groups[b], dtype=float)


def _looks_of(groups, a: str, b: str, metric: str, paired: bool, design: gs.Design | None) -> list[tuple]:
    """A pair's looks as (x, y): one with every seed, or, under a sequential design, one per look
    at which the pair had more seeds than at the one before (a look that added no seed to either
    arm is no new test of this pair)."""
    if design is None or not isinstance(groups, pd.DataFrame):
        return [_pair_values(groups, a, b, metric, paired)]
    out: list[tuple] = []
    for seeds in design.seeds:
        x, y = _pair_values(groups, a, b, metric, paired, seeds)
        if len(x) and (not out or len(x) > len(out[-1][0])):
            out.append((x, y))
    return out or [_pair_values(groups, a, b, metric, paired)]


def _tested(row: dict) -> bool:
    return not row.get("exact") and not math.isnan(row["p_value"])


def compare_family(groups: Mapping[str, Sequence[float]] | pd.DataFrame,
                   pairs: list[tuple[str, str]], *, metric: str, study: str, paired: bool,
                   alpha=DEFAULTS.alpha, min_effect=DEFAULTS.min_effect, min_rel_effect=None, margin=None,
                   power_effect=DEFAULTS.power_effect, confidence=None,
                   design: gs.Design | None = None) -> list[dict]:
    """compare() each (a, b) pair as one Holm family: the difference tests and the TOSTs each
    under Holm's rule, power at the level each p is held to, verdicts.

    Without ``design`` there is one look (every seed) and this is Holm's procedure: ``p_holm``
    and ``tost_p_holm`` are the adjusted p-values and a row is significant when p_holm < alpha.
    With a sequential ``design`` (group_sequential.Design: the seeds at each look, the cap and the
    spending function) each pair is tested at each look that added seeds to it, by Holm's rule
    over group-sequential tests (group_sequential.holm_sequential); a row reports the first look
    at which its verdict was decided, else its last look (``look`` of ``looks``), and
    ``alpha_nominal`` is the level its p is held to there at the share alpha / K. p_holm then
    adjusts the reported looks' p-values for reading; the verdict is the design's.

    Exact rows (a cost with the same difference on every seed) are stated, not tested: they take
    no part in either Holm family (``family_size`` counts the other rows).

    The CI (``ci_low``, ``ci_high``) is at the verdict's level, ``ci_level = 1 - alpha_nominal``
    (one look: 1 - alpha / K, family_level), so that an interval excluding zero always sits beside
    a significant verdict; ``ci95_low``/``ci95_high`` keep the unadjusted 95% bounds.
    ``confidence`` overrides the level.

    ``groups``: label -> per-seed values (paired: same seed order), or a DataFrame with columns
    label, seed, <metric> (paired pairs inner-joined on seed; required with a design) and
    optionally code: then a seed pairs two runs only when they ran the same code (a study whose
    seeds ran at two codes compares within each, never across). Holm
    multiplies the smallest p by m, so with m comparisons no adjusted p can fall below
    ``min_p_holm = max(min_p, m · min over the family of min_p)``; rows whose ``min_p_holm``
    exceeds alpha are underpowered.
    """
    opts = dict(paired=paired, alpha=alpha, min_effect=min_effect, min_rel_effect=min_rel_effect, margin=margin,
                power_effect=power_effect)
    values = [_looks_of(groups, a, b, metric, paired, design) for a, b in pairs]
    looks = [[compare(x, y, **opts) for x, y in pair] for pair in values]  # every look at the plain level
    k = max(1, sum(not seq[-1]["exact"] for seq in looks))  # pairs too small to test still count
    decisions = _holm_decisions(looks, alpha, design)
    out = []
    for i, (a, b) in enumerate(pairs):
        r, chosen = _reported_look(looks[i], decisions.get(i), alpha / k, design, paired=paired)
        x, y = values[i][chosen]
        level = confidence if confidence is not None else 1.0 - r["alpha_nominal"]
        if not r["exact"]:
            r["ci_low"], r["ci_high"] = diff_interval(x, y, paired=paired, confidence=level)
        spending = design.spending if design is not None else ""
        r.update(study=study, metric=metric, a=a, b=b, confidence=level, ci_level=level, look=chosen + 1,
                 looks=len(looks[i]), boundary=gs.describe_boundary(spending) if spending else "holm",
                 family_size=k)
        out.append(r)
    return _finish_family(out, alpha, k)


def _holm_decisions(looks: list[list[dict]], alpha: float, design: gs.Design | None) -> dict[int, tuple]:
    """Pair index -> (look index its difference test rejects at, look index its TOST rejects at),
    each None when it does not: Holm's rule over the tested pairs' looks (holm_sequential), the
    difference test two-sided, the TOST's one-sided tests one-sided."""
    tested = [i for i, seq in enumerate(looks) if _tested(seq[-1])]
    caps = {i: _cap(looks[i], design) for i in tested}
    spending = design.spending if design is not None else gs.DEFAULT_SPENDING
    planned = design.planned if design is not None else None

    def seq(key: str) -> dict[int, list[tuple[int, float]]]:
        return {i: [(r["n_a"], r[key]) for r in looks[i] if not math.isnan(r[key])] for i in tested}

    diff_at = gs.holm_sequential(seq("p_value"), caps, alpha, spending, 2, planned)
    tost_at = gs.holm_sequential(seq("tost_p"), caps, alpha, spending, 1, planned)
    return {i: (diff_at[i], tost_at[i]) for i in tested}


def _cap(seq: list[dict], design: gs.Design | None) -> int:
    """A pair's cap: the design's, or with one look its own seeds (information fraction 1)."""
    return max(design.cap if design is not None else 0, seq[-1]["n_a"])


def _reported_look(seq: list[dict], decision: tuple | None, share: float, design: gs.Design | None, *,
                   paired: bool) -> tuple[dict, int]:
    """The look a pair is reported at: the first at which its verdict is decided, else its last;
    every look gets its nominal level at the Bonferroni share (``alpha_nominal``: the interval's
    level) and the power at it. Returns (that look's row, its index)."""
    diff_at, tost_at = decision if decision is not None else (None, None)
    levels = [share] * len(seq)  # a look with no p (under 2 pairs) tests nothing: the share, for reading
    tested = [j for j, r in enumerate(seq) if not math.isnan(r["p_value"])]
    if decision is not None and tested:  # the levels of the looks holm_sequential tested
        spending = design.spending if design is not None else gs.DEFAULT_SPENDING
        at = gs.t_levels(tuple(seq[j]["n_a"] for j in tested), _cap(seq, design), share, spending, 2,
                         design.planned if design is not None else None)
        for j, level in zip(tested, at):
            levels[j] = level
    for j, r in enumerate(seq):
        sig, eq = diff_at is not None and diff_at <= j, tost_at is not None and tost_at <= j
        r["_decision"], r["alpha_nominal"] = (sig, eq), levels[j]
        _power_fields(r, paired=paired, level=levels[j])
        if _decided(decide(r, significant=sig, equivalent=eq)):
            return r, j
    return seq[-1], len(seq) - 1


def _finish_family(out: list[dict], alpha: float, k: int) -> list[dict]:
    """Holm-adjusted p-values of the reported looks (for reading), the floor of the adjusted p,
    and each row's verdict from its decisions."""
    adjusted = holm([r["p_value"] if _tested(r) else math.nan for r in out])
    tost_adjusted = holm([r["tost_p"] if _tested(r) else math.nan for r in out])
    floor = k * min((r["min_p"] for r in out if _tested(r)), default=1.0)
    rows = []
    for r, p, tp in zip(out, adjusted, tost_adjusted):
        sig, eq = r.pop("_decision")
        r.update(p_holm=float(p), tost_p_holm=float(tp),
                 min_p_holm=math.nan if r["exact"] else min(1.0, max(r["min_p"], floor)))
        r["equivalent"] = eq
        r["underpowered"] = _is_underpowered(r, alpha) if not r["exact"] else False
        r["verdict"] = decide(r, significant=sig, equivalent=eq, reachable=not r["min_p_holm"] > alpha)
        rows.append({key: r[key] for key in FAMILY_KEYS})
    return rows


def _decided(v: str) -> bool:
    """better, worse, equivalent or negligible: a comparison that needs no more seeds."""
    return v in ("better", "worse", "equivalent", "negligible")


def friedman(df: pd.DataFrame, *, metric: str, labels: list[str] | None = None, alpha=DEFAULTS.alpha,
             min_effect=DEFAULTS.min_effect, study: str = "", **thresholds) -> dict:
    """Friedman chi-square over >= 3 configurations on the seeds common to all, plus pairwise
    paired compare() with Holm across the pairs ("posthoc"). scipy uses the chi-square
    approximation, which is rough for few seeds; the post-hoc rows say when n is too small.
    ``thresholds`` (min_rel_effect, margin, power_effect) pass to compare_family."""
    labels = list(labels) if labels is not None else list(pd.unique(df["label"]))
    wide = df.pivot(index="seed", columns="label", values=metric)  # duplicate (label, seed) raises
    wide = wide.reindex(columns=labels).dropna()
    out = dict(statistic=math.nan, p_value=math.nan, n_seeds=len(wide), labels=labels,
               posthoc=[], reason="")
    if len(labels) < 3 or len(wide) < 2:
        out["reason"] = (f"friedman needs >= 3 configurations on >= 2 common seeds, got "
                         f"{len(labels)} on {len(wide)}")
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-equal rows -> NaN, reported as is
        res = stats.friedmanchisquare(*(wide[lab].to_numpy() for lab in labels))
    groups = {lab: wide[lab].to_numpy() for lab in labels}
    out.update(statistic=float(res.statistic), p_value=float(res.pvalue),
               posthoc=compare_family(groups, list(combinations(labels, 2)), metric=metric,
                                      study=study, paired=True, alpha=alpha,
                                      min_effect=min_effect, **thresholds))
    return out


def power_law_fit(x, y, *, confidence=0.95, expected=2.0) -> dict:
    """Fit ``y = c · x^k`` as ``log y = log c + k log x`` (scipy.stats.linregress on natural logs).

    CI of k: ``k ± t_{(1+conf)/2, n-2} · stderr``. ``consistent_with_expected`` is True when
    ``expected`` lies inside it (e.g. quadratic growth of training time with the number of tasks).
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("power_law_fit needs positive x and y (it fits on logarithms)")
    out = dict(exponent=math.nan, ci_low=math.nan, ci_high=math.nan, c=math.nan, r2=math.nan,
               n=len(x), expected=expected, consistent_with_expected=False, reason="")
    if len(np.unique(x)) < 3:
        out["reason"] = f"need at least 3 distinct x values, got {len(np.unique(x))}"
        return out
    res = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 2) * res.stderr
    tol = 1e-9 * max(1.0, abs(res.slope))  # an exact fit has a zero-width CI; allow rounding
    out.update(exponent=float(res.slope), ci_low=float(res.slope - half),
               ci_high=float(res.slope + half), c=float(math.exp(res.intercept)),
               r2=float(res.rvalue ** 2),
               consistent_with_expected=bool(res.slope - half - tol <= expected
                                             <= res.slope + half + tol))
    return out
