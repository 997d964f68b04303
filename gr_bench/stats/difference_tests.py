"""The difference tests, one registered function each, and what a family does with their p-values.

A test is a function of two clean samples (NaNs dropped; paired ones aligned, equal length, at
least 2 values each) returning ``(statistic, two-sided p)``, registered under its name with
:func:`register_test`; compare_pair() dispatches through TESTS by name, so adding a test is one
decorated function. The design picks its tests (DEFAULT_TESTS): the paired t-test with the exact
Wilcoxon signed-rank beside it, or Welch's t-test with the Mann–Whitney U beside it.

Also here: Holm's adjustment, the smallest p a test can reach, and exact rows (a cost that
differs by the same amount on every seed is stated, not tested)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .intervals import _constant

_EXACT_PERMUTATIONS = 20_000  # enumerate Mann-Whitney permutations exactly up to this many
PAIRED_TESTS = ("paired-t", "wilcoxon")  # primary test names of a paired row ("wilcoxon": old rows)


def _any_p(n_a: int, n_b: int) -> float:
    """A continuous statistic (a t-test) reaches any p with 2 values (pairs) a side; none below."""
    return 0.0 if min(n_a, n_b) >= 2 else 1.0


@dataclass(frozen=True)
class DifferenceTest:
    """A registered two-sample test: its name (stats.csv's ``test`` / ``test_secondary``), whether
    it pairs the samples by seed, the function giving (statistic, two-sided p), and the smallest
    two-sided p it can return at sizes (n_a, n_b)."""

    name: str
    paired: bool
    run: Callable[[np.ndarray, np.ndarray], tuple[float, float]]
    min_p: Callable[[int, int], float] = _any_p


TESTS: dict[str, DifferenceTest] = {}  # name -> test; register_test adds to it
DEFAULT_TESTS = {True: ("paired-t", "wilcoxon"), False: ("welch-t", "mann-whitney")}  # paired -> (primary, secondary)


def register_test(name: str, *, paired: bool, min_p: Callable[[int, int], float] = _any_p):
    """Decorator: register ``run(a, b) -> (statistic, two-sided p)`` as the test ``name``
    (``compare_pair(..., test=name)`` then uses it). ``min_p(n_a, n_b)``: the smallest p it can
    return, 0 for a continuous statistic by default (it decides "underpowered" by design)."""

    def add(run: Callable[[np.ndarray, np.ndarray], tuple[float, float]]):
        TESTS[name] = DifferenceTest(name, paired, run, min_p)
        return run

    return add


def get_test(name: str, *, paired: bool) -> DifferenceTest:
    """The registered test ``name``; a one-line error for an unknown one or a paired test on
    unpaired samples (and the reverse)."""
    if name not in TESTS:
        raise ValueError(f"unknown test {name!r}; registered: {', '.join(TESTS)}")
    found = TESTS[name]
    if found.paired != paired:
        raise ValueError(f"{name} is {'a paired' if found.paired else 'an unpaired'} test; "
                         f"the comparison is {'paired' if paired else 'unpaired'}")
    return found


def _tolerance(a: np.ndarray, b: np.ndarray) -> float:
    return 1e-12 * max(1.0, float(np.max(np.abs(np.concatenate([a, b])))))


def _snapped(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b snapped to a 1e-12 grid, so float noise neither hides zeros nor breaks ties."""
    tol = _tolerance(a, b)
    return np.round((a - b) / tol) * tol


@register_test("paired-t", paired=True)
def paired_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """scipy's ttest_rel; all differences zero: t 0, p 1; the same non-zero difference on every seed:
    t infinite, p 0."""
    d = a - b
    if not np.count_nonzero(_snapped(a, b)):  # identical results on every seed: no difference
        return 0.0, 1.0
    if _constant(d):
        # The same non-zero difference on every seed: sd 0, so t is infinite and p is 0 (scipy
        # would give a huge finite t from float noise, or NaN). Only exact costs such as FLOPs
        # do this, and compare_pair() decides those by the size of the difference (row["exact"]).
        return math.copysign(math.inf, float(d.mean())), 0.0
    res = stats.ttest_rel(a, b)
    return float(res.statistic), float(res.pvalue)


@register_test("wilcoxon", paired=True, min_p=lambda n_a, n_b: min(1.0, 2.0 / 2.0 ** n_a))
def wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The exact Wilcoxon signed-rank test (scipy 'auto': exact null if no ties/zeros; exact
    permutation if ties/zeros and n <= 13; normal approximation beyond). Zeros are dropped
    (``zero_method="wilcox"``: the reachable p is 2 / 2**nonzero); all zero: p 1."""
    snapped = _snapped(a, b)
    if not np.count_nonzero(snapped):  # nothing to rank
        return 0.0, 1.0
    res = stats.wilcoxon(snapped, zero_method="wilcox", alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


@register_test("welch-t", paired=False)
def welch_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """scipy's ttest_ind(equal_var=False); no spread on either side: t is 0 or infinite."""
    if _constant(a) and _constant(b):
        gap = float(a.mean() - b.mean())
        if abs(gap) <= _tolerance(a, b):
            return 0.0, 1.0
        return math.copysign(math.inf, gap), 0.0
    res = stats.ttest_ind(a, b, equal_var=False)
    return float(res.statistic), float(res.pvalue)


@register_test("mann-whitney", paired=False,
               min_p=lambda n_a, n_b: min(1.0, 2.0 / math.comb(n_a + n_b, n_a)))
def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The Mann–Whitney U test: an exact permutation test when there are ties in small samples
    (scipy's normal approximation would undercut the exact minimum p), else scipy's 'auto'
    (exact if no ties and min(n) <= 8, else asymptotic)."""
    ties = len(np.unique(np.concatenate([a, b]))) < len(a) + len(b)
    if ties and math.comb(len(a) + len(b), len(a)) <= _EXACT_PERMUTATIONS:
        method = stats.PermutationMethod(n_resamples=np.inf)  # full enumeration: exact
    else:
        method = "auto"
    res = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
    return float(res.statistic), float(res.pvalue)


def difference_test(row: dict, a: np.ndarray, b: np.ndarray) -> None:
    """Fill a compare_pair() row's primary test (statistic, p_value, min_p) and secondary p
    (p_secondary) from the tests it names (``test``, ``test_secondary``; "" for none)."""
    primary = TESTS[row["test"]]
    row["min_p"] = primary.min_p(len(a), len(b))
    row["statistic"], row["p_value"] = primary.run(a, b)
    if row["test_secondary"]:
        row["p_secondary"] = TESTS[row["test_secondary"]].run(a, b)[1]


def min_attainable_p(n_a: int, n_b: int, *, paired: bool, test: str) -> float:
    """Smallest two-sided p the test can return with these sample sizes (its registered min_p).

    t-tests ("paired-t", "welch-t"; "t" for either): 0.0 with at least 2 values (pairs) on each
    side, since a continuous statistic can reach any p; 1.0 below (no variance, no test).
    Exact Wilcoxon signed-rank, n pairs: ``2 / 2**n`` (all signs equal; n=5 -> 0.0625).
    Exact Mann–Whitney: ``2 / C(n_a + n_b, n_a)`` (complete separation; 5 vs 5 -> 2/252).
    """
    if test == "t":
        return _any_p(n_a, n_b)
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}")
    found = TESTS[test]
    if found.paired and (not paired or n_a != n_b):
        raise ValueError(f"{test} needs paired samples of equal size")
    return found.min_p(n_a, n_b)


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


def state_exact(row: dict) -> None:
    """A difference that is the same on every seed (training FLOPs, bytes, parameters) is stated,
    not tested: test "exact", no statistic, p-value or interval (a t-test would print p 0 and an
    interval of zero width); its size decides the verdict (verdicts.decide)."""
    nan = math.nan
    row.update(test="exact", statistic=nan, p_value=nan, p_secondary=nan, test_secondary="", ci_low=nan,
               ci_high=nan, ci95_low=nan, ci95_high=nan, tost_p=nan, effect_size=nan, min_p=nan,
               min_p_holm=nan)
