"""Is a difference between two configurations real? Tests, Holm, bootstrap CIs, effect sizes.

Inputs are per-seed values (one number per run). Paired designs compare the same seeds.
"Better" needs both a small Holm-adjusted p and a difference of at least ``min_effect``; when the
sample sizes cannot produce p < alpha at all we say "underpowered", never "no difference"
(DESIGN.md principle 7). Pure functions over numpy/scipy/pandas; no torch.
"""
from __future__ import annotations

import math
import warnings
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

FAMILY_KEYS = ("study", "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low",
               "ci_high", "test", "statistic", "p_value", "p_holm", "effect_size", "effect_kind",
               "prob_improvement", "verdict", "cliffs_delta", "min_p", "underpowered",
               "test_secondary", "p_secondary", "min_p_holm", "confidence")
_EXACT_PERMUTATIONS = 20_000  # enumerate Mann-Whitney permutations exactly up to this many


def _constant(x: np.ndarray) -> bool:
    """No spread beyond float rounding (0.812-0.802 and 0.513-0.503 differ in the 17th digit)."""
    return x.size == 0 or np.ptp(x) <= 1e-12 * max(1.0, float(np.max(np.abs(x))))


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def _boot_ci(data: tuple, statistic, confidence: float, seed: int, n_resamples: int):
    """Seeded bootstrap CI: BCa, falling back to percentile when BCa is degenerate (warns/NaN)."""
    if all(_constant(d) for d in data):  # no spread to resample: the CI is the point itself
        v = float(statistic(*data, axis=-1))
        return v, v
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.bootstrap(data, statistic, n_resamples=n_resamples, vectorized=True,
                                  confidence_level=confidence, method=method,
                                  rng=np.random.default_rng(seed))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        degenerate = any(issubclass(w.category, stats.DegenerateDataWarning) for w in caught)
        if np.isfinite(lo) and np.isfinite(hi) and not degenerate:
            return lo, hi
    return lo, hi


def describe(values, *, confidence=0.95, seed=0, n_resamples=9999) -> dict:
    """n, mean, sd (ddof=1), t-based CI ``mean ± t_{(1+c)/2, n-1} · sd/√n`` and a bootstrap CI.

    NaNs are dropped; with n < 2 the sd and both CIs are NaN.
    """
    x = _clean(values)
    n = len(x)
    out = dict(n=n, mean=float(x.mean()) if n else math.nan, sd=math.nan, ci_low=math.nan,
               ci_high=math.nan, boot_low=math.nan, boot_high=math.nan)
    if n < 2:
        return out
    sd = 0.0 if _constant(x) else float(x.std(ddof=1))
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    boot = _boot_ci((x,), lambda s, axis: s.mean(axis=axis), confidence, seed, n_resamples)
    out.update(sd=sd, ci_low=out["mean"] - half, ci_high=out["mean"] + half,
               boot_low=boot[0], boot_high=boot[1])
    return out


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    With the m non-NaN p sorted ascending p_(0) <= ... <= p_(m-1):
    ``adj_(i) = max_{j<=i} min(1, (m - j) · p_(j))``. NaN entries stay NaN and do not count in m.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)  # step-down: adjusted p never decreases
    return out


def min_attainable_p(n_a: int, n_b: int, *, paired: bool, test: str) -> float:
    """Smallest two-sided p the test can return with these sample sizes.

    Exact Wilcoxon signed-rank, n pairs: ``2 / 2**n`` (all signs equal; n=5 -> 0.0625).
    Exact Mann–Whitney: ``2 / C(n_a + n_b, n_a)`` (complete separation; 5 vs 5 -> 2/252).
    t-tests: 0.0 (a continuous statistic can reach any p).
    """
    if test == "wilcoxon":
        if not paired or n_a != n_b:
            raise ValueError("wilcoxon needs paired samples of equal size")
        return min(1.0, 2.0 / 2.0 ** n_a)
    if test == "mann-whitney":
        return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))
    if test in ("paired-t", "welch-t", "t"):
        return 0.0
    raise ValueError(f"unknown test {test!r}")


def cliffs_delta(a, b) -> float:
    """``(#(a_i > b_j) - #(a_i < b_j)) / (n_a n_b)`` over all pairs; in [-1, 1]."""
    a, b = _clean(a), _clean(b)
    if not len(a) or not len(b):
        return math.nan
    sign = np.sign(a[:, None] - b[None, :])
    return float(sign.sum() / sign.size)


def prob_improvement(a, b, *, paired: bool) -> float:
    """Paired: mean_i [a_i > b_i] + ½[a_i = b_i]. Unpaired: P(X > Y) + ½ P(X = Y), all pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        keep = ~(np.isnan(a) | np.isnan(b))
        d = a[keep] - b[keep]
    else:
        d = (_clean(a)[:, None] - _clean(b)[None, :]).ravel()
    return float(np.mean((d > 0) + 0.5 * (d == 0))) if d.size else math.nan


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
    if _constant(a) and _constant(b):
        return math.nan, "d"
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                       / (len(a) + len(b) - 2))
    return (float((a.mean() - b.mean()) / pooled) if pooled > 0 else math.nan), "d"


def compare(a, b, *, paired: bool, alpha=0.05, min_effect=0.01, confidence=0.95, seed=0,
            n_resamples=9999) -> dict:
    """Compare per-seed values a vs b (diff = a - b). See module docs for the rules.

    Paired (same seeds, same order): primary Wilcoxon signed-rank (zero differences dropped,
    ``zero_method="wilcox"``; all differences zero -> p = 1.0), secondary paired t-test; CI by
    bootstrapping the differences. Unpaired: primary Mann–Whitney U (exact permutation test when
    there are ties in small samples, where scipy's normal approximation undercuts the exact minimum
    p), secondary Welch t-test; CI by bootstrapping mean(x) - mean(y) with independent resampling.
    Fewer than 2 values on a side (after dropping NaNs) gives NaN p and ``underpowered=True``.
    ``verdict`` here uses the unadjusted p; compare_family replaces it with the Holm-based one.
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
    d = a - b if paired else None
    eff, kind = cohens_d(a, b, paired=paired)
    row = dict(n_a=n_a, n_b=n_b, mean_a=float(a.mean()) if n_a else math.nan,
               mean_b=float(b.mean()) if n_b else math.nan, diff=math.nan, ci_low=math.nan,
               ci_high=math.nan, test="wilcoxon" if paired else "mann-whitney",
               statistic=math.nan, p_value=math.nan,
               test_secondary="paired-t" if paired else "welch-t", p_secondary=math.nan,
               effect_size=eff, effect_kind=kind, cliffs_delta=cliffs_delta(a, b),
               prob_improvement=prob_improvement(a, b, paired=paired), min_p=1.0,
               underpowered=True, confidence=confidence)
    row["diff"] = float(d.mean()) if paired and n_a else row["mean_a"] - row["mean_b"]
    if n_a < 2 or n_b < 2:
        row["verdict"] = verdict(row, alpha=alpha, min_effect=min_effect, p_key="p_value")
        return row

    if paired:
        row["ci_low"], row["ci_high"] = _boot_ci((d,), lambda s, axis: s.mean(axis=axis),
                                                 confidence, seed, n_resamples)
        # Snap differences to a 1e-12 grid so float noise neither hides zeros nor breaks ties.
        tol = 1e-12 * max(1.0, float(np.max(np.abs(np.concatenate([a, b])))))
        snapped = np.round(d / tol) * tol
        nonzero = int(np.count_nonzero(snapped))
        if nonzero == 0:  # identical results on every seed: nothing to rank
            row.update(statistic=0.0, p_value=1.0)
            row["min_p"] = min_attainable_p(n_a, n_a, paired=True, test="wilcoxon")
        else:
            # scipy 'auto': exact null if no ties/zeros; exact permutation if ties/zeros and
            # n <= 13; normal approximation beyond. Zeros are dropped, so the reachable p
            # depends on the number of non-zero differences.
            res = stats.wilcoxon(snapped, zero_method="wilcox", alternative="two-sided")
            row.update(statistic=float(res.statistic), p_value=float(res.pvalue))
            row["min_p"] = min_attainable_p(nonzero, nonzero, paired=True, test="wilcoxon")
        if not _constant(d):  # constant differences make t infinite; report NaN, not p=0
            row["p_secondary"] = float(stats.ttest_rel(a, b).pvalue)
    else:
        row["ci_low"], row["ci_high"] = _boot_ci(
            (a, b), lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
            confidence, seed, n_resamples)
        ties = len(np.unique(np.concatenate([a, b]))) < n_a + n_b
        if ties and math.comb(n_a + n_b, n_a) <= _EXACT_PERMUTATIONS:
            method = stats.PermutationMethod(n_resamples=np.inf)  # full enumeration: exact
        else:
            method = "auto"  # scipy: exact if no ties and min(n) <= 8, else asymptotic
        res = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
        row.update(statistic=float(res.statistic), p_value=float(res.pvalue))
        row["min_p"] = min_attainable_p(n_a, n_b, paired=False, test="mann-whitney")
        if not (_constant(a) and _constant(b)):
            row["p_secondary"] = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    row["underpowered"] = bool(row["min_p"] > alpha)
    row["verdict"] = verdict(row, alpha=alpha, min_effect=min_effect, p_key="p_value")
    return row


def verdict(row: Mapping, *, alpha=0.05, min_effect=0.01, p_key="p_holm") -> str:
    """Classify a compare()/compare_family() row from ``row[p_key]`` (falls back to p_value).

    - "underpowered": the design cannot reach p < alpha (``min_p``, or ``min_p_holm`` for Holm p);
    - "better" / "worse": p < alpha and |diff| >= min_effect (sign of diff);
    - "negligible": p < alpha but |diff| < min_effect (real, below the practical minimum);
    - "no evidence": otherwise.
    """
    p = row.get(p_key, row.get("p_value", math.nan))
    floor = row.get("min_p_holm", row["min_p"]) if p_key == "p_holm" else row["min_p"]
    if floor > alpha or (math.isnan(p) and row.get("underpowered", False)):
        return "underpowered"
    if not p < alpha:
        return "no evidence"
    if abs(row["diff"]) < min_effect:
        return "negligible"
    return "better" if row["diff"] > 0 else "worse"


def sentence(row: Mapping, a_label: str, b_label: str, question: str | None = None, *,
             scale: float = 100.0, unit: str = "points") -> str:
    """One line for the terminal. Differences are shown times ``scale`` (fractions -> points)."""
    p_key = "p_holm" if "p_holm" in row else "p_value"
    p_name = "p_holm" if p_key == "p_holm" else "p"
    v = row.get("verdict") or verdict(row, p_key=p_key)
    conf = round(100 * row.get("confidence", 0.95))
    nums = (f"diff {scale * row['diff']:+.1f} {unit}, {conf}% CI [{scale * row['ci_low']:.1f}, "
            f"{scale * row['ci_high']:.1f}]")
    n = f"n={row['n_a']}" if row["test"] == "wilcoxon" else f"n={row['n_a']}+{row['n_b']}"
    if v == "underpowered":
        design = f"{n} paired seeds" if row["test"] == "wilcoxon" else f"{n} seeds"
        floor = row.get("min_p_holm", row["min_p"]) if p_key == "p_holm" else row["min_p"]
        holm_note = " after Holm across the family" if floor > row["min_p"] else ""
        text = (f"{a_label} vs {b_label}: underpowered: {design} cannot give {p_name} below "
                f"{floor:.3g} with {row['test']}{holm_note}; run more seeds ({nums})")
    else:
        text = (f"{a_label} vs {b_label}: {v} ({nums}, {p_name} {row[p_key]:.3g}, "
                f"{row['effect_kind']} {row['effect_size']:.2f}, {row['test']}, {n})")
    return f"{question} {text}" if question else text


def _pair_values(groups, a: str, b: str, metric: str, paired: bool):
    if isinstance(groups, pd.DataFrame):
        def get(label):
            return groups.loc[groups["label"] == label, ["seed", metric]]
        if paired:  # align on seed; only seeds both configurations ran count
            m = get(a).merge(get(b), on="seed", suffixes=("_a", "_b")).sort_values("seed")
            return m[f"{metric}_a"].to_numpy(float), m[f"{metric}_b"].to_numpy(float)
        return get(a)[metric].to_numpy(float), get(b)[metric].to_numpy(float)
    return np.asarray(groups[a], dtype=float), np.asarray(groups[b], dtype=float)


def compare_family(groups: Mapping[str, Sequence[float]] | pd.DataFrame,
                   pairs: list[tuple[str, str]], *, metric: str, study: str, paired: bool,
                   alpha=0.05, min_effect=0.01, seed=0, confidence=0.95,
                   n_resamples=9999) -> list[dict]:
    """compare() each (a, b) pair, Holm-adjust the primary p across the family, add verdicts.

    ``groups``: label -> per-seed values (paired: same seed order), or a DataFrame with columns
    label, seed, <metric> (paired pairs inner-joined on seed). Holm multiplies the smallest p by
    m, so with m comparisons no adjusted p can fall below ``min_p_holm = max(min_p, m · min over
    the family of min_p)``; rows whose ``min_p_holm`` exceeds alpha are marked underpowered.
    """
    rows = []
    for a, b in pairs:
        x, y = _pair_values(groups, a, b, metric, paired)
        res = compare(x, y, paired=paired, alpha=alpha, min_effect=min_effect,
                      confidence=confidence, seed=seed, n_resamples=n_resamples)
        rows.append(dict(res, study=study, metric=metric, a=a, b=b))
    adjusted = holm([r["p_value"] for r in rows])
    floor = len(rows) * min((r["min_p"] for r in rows), default=1.0)
    out = []
    for r, p in zip(rows, adjusted):
        r.update(p_holm=float(p), min_p_holm=min(1.0, max(r["min_p"], floor)))
        r["underpowered"] = bool(r["underpowered"] or r["min_p_holm"] > alpha)
        r["verdict"] = verdict(r, alpha=alpha, min_effect=min_effect, p_key="p_holm")
        out.append({k: r[k] for k in FAMILY_KEYS})
    return out


def friedman(df: pd.DataFrame, *, metric: str, labels: list[str] | None = None, alpha=0.05,
             seed=0, min_effect=0.01, study: str = "", n_resamples=9999) -> dict:
    """Friedman chi-square over >= 3 configurations on the seeds common to all, plus pairwise
    paired compare() with Holm across the pairs ("posthoc"). scipy uses the chi-square
    approximation, which is rough for few seeds; the post-hoc rows say when n is too small."""
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
                                      min_effect=min_effect, seed=seed, n_resamples=n_resamples))
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
