"""One comparison of two configurations' per-seed values (compare_pair), and the rule that turns its
tests into a verdict (decide): better, worse, equivalent, negligible, inconclusive, no evidence or
underpowered."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..thresholds import DEFAULTS, Thresholds
from .difference_tests import DEFAULT_TESTS, difference_test, get_test, state_exact
from .effects import cliffs_delta, cohens_d, paired_delta, prob_improvement
from .intervals import MIN_N, UNADJUSTED, _clean, _pooled_sd, _sd, diff_interval, family_level, tost
from .power import TARGET_POWER, _power_at, min_detectable_effect, seeds_needed

# "not judged (wall clock)": a wall-clock comparison (comparisons.wall_clock_rule, which sets it:
# shared machines' load swings); its numbers stand, its verdict is withheld
WALL_CLOCK_VERDICT = "not judged (wall clock)"
VERDICTS = ("better", "worse", "equivalent", "negligible", "inconclusive", "no evidence",
            "underpowered", WALL_CLOCK_VERDICT)


def _thresholds(row: dict, thresholds: Thresholds, relative: bool) -> None:
    """Absolute thresholds for this pair: relative ones scale with |mean_b| (cost metrics)."""
    if relative:
        rel = thresholds.min_rel_effect
        base = abs(row["mean_b"]) if not math.isnan(row["mean_b"]) else math.nan
        row.update(min_effect=rel * base, margin=rel * base, power_effect=rel * base, min_rel_effect=rel)
    else:
        margin = thresholds.min_effect if thresholds.margin is None else thresholds.margin
        row.update(min_effect=thresholds.min_effect, margin=margin, power_effect=thresholds.power_effect,
                   min_rel_effect=math.nan)


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


def _aligned(a, b, *, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """The values compared: paired ones without a pair that has a NaN, unpaired ones without NaNs."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if not paired:
        return _clean(a), _clean(b)
    if len(a) != len(b):
        raise ValueError(f"paired comparison needs equal lengths, got {len(a)} and {len(b)}")
    keep = ~(np.isnan(a) | np.isnan(b))  # drop the whole pair so seeds stay aligned
    return a[keep], b[keep]


def compare_pair(a, b, *, paired: bool, thresholds: Thresholds = DEFAULTS, relative: bool = False,
            confidence=None, test: str | None = None) -> dict:
    """Compare per-seed values a vs b (diff = a - b, in the metric's unit); one comparison.

    Paired (same seeds, same order; a pair with a NaN is dropped): primary paired t-test
    (``test="paired-t"``; all differences zero -> p = 1.0; the same non-zero difference on every
    seed -> p = 0.0), secondary exact Wilcoxon signed-rank (``test_secondary="wilcoxon"``, zero
    differences dropped, ``zero_method="wilcox"``); CI: paired t interval; effect sizes d_z and
    paired_delta.
    Unpaired: primary Welch t-test (``test="welch-t"``), secondary Mann–Whitney U (exact
    permutation test when there are ties in small samples, where scipy's normal approximation
    undercuts the exact minimum p); CI: Welch interval; effect sizes d and cliffs_delta.
    ``test``: another registered primary test (tests.register_test) in place of the t-test.
    CI level: ``confidence``, by default 1 - alpha (the verdict's level; ``ci_level`` and
    ``confidence`` record it); ``ci95_low``/``ci95_high`` are the unadjusted 95% bounds.
    Thresholds: ``min_effect`` (verdict), ``margin`` (TOST, default min_effect), ``power_effect``
    (power and seeds needed); ``relative`` (a cost) replaces all three by ``min_rel_effect`` of
    |mean_b|. compare_family() recomputes p_holm, tost_p_holm, power and the verdict over its family.
    """
    primary, secondary = DEFAULT_TESTS[paired]
    primary = primary if test is None else get_test(test, paired=paired).name
    a, b = _aligned(a, b, paired=paired)
    n_a, n_b = len(a), len(b)
    enough = min(n_a, n_b) >= MIN_N
    nan, alpha = math.nan, thresholds.alpha
    confidence = family_level(alpha) if confidence is None else confidence
    row = dict(n_a=n_a, n_b=n_b, mean_a=float(a.mean()) if n_a else nan,
               mean_b=float(b.mean()) if n_b else nan, diff=nan, ci_low=nan, ci_high=nan,
               test=primary, statistic=nan, p_value=nan, test_secondary=secondary, p_secondary=nan,
               effect_size=nan, effect_kind="d_z" if paired else "d", prob_improvement=nan,
               paired_delta=nan, cliffs_delta=nan, min_p=1.0, family_size=1, alpha=alpha,
               confidence=confidence, ci_level=confidence, ci95_low=nan, ci95_high=nan, tost_p=nan)
    _thresholds(row, thresholds, relative)
    row["diff"] = float((a - b).mean()) if paired and n_a else row["mean_a"] - row["mean_b"]
    row["sd_diff"] = _sd(a - b) if paired else _pooled_sd(a, b)
    # A cost (judged relative to the other arm) with the same difference on every seed, such as
    # training FLOPs: a fact of the configurations, not a sample; its size decides, not a test
    # (t is infinite, the rank tests cannot reach alpha at a few seeds). Accuracies are never
    # taken as exact.
    row["exact"] = bool(paired and enough and relative and row["sd_diff"] == 0)
    if enough:
        row["ci_low"], row["ci_high"] = diff_interval(a, b, paired=paired, confidence=confidence)
        row["ci95_low"], row["ci95_high"] = diff_interval(a, b, paired=paired, confidence=UNADJUSTED)
        row["effect_size"] = cohens_d(a, b, paired=paired)[0]
        row["prob_improvement"] = prob_improvement(a, b, paired=paired)
        row["paired_delta" if paired else "cliffs_delta"] = (paired_delta(a, b) if paired
                                                              else cliffs_delta(a, b))
        row["tost_p"] = tost(a, b, paired=paired, margin=row["margin"])
    if n_a >= 2 and n_b >= 2:
        difference_test(row, a, b)
    row["min_p_holm"] = row["min_p"]
    if row["exact"]:
        state_exact(row)
    _power_fields(row, paired=paired, level=alpha)
    _finish(row, alpha, p_key="p_value", tost_key="tost_p")
    return row


def _finish(row: dict, alpha: float, *, p_key: str, tost_key: str) -> None:
    row["equivalent"] = bool(row[tost_key] < alpha)  # NaN < alpha is False
    row["underpowered"] = _is_underpowered(row, alpha)
    row["verdict"] = verdict(row, alpha=alpha, p_key=p_key)


def verdict(row: Mapping, *, alpha=DEFAULTS.alpha, min_effect=None, p_key="p_holm") -> str:
    """Classify a compare_pair()/compare_family() row from ``row[p_key]`` (falls back to p_value) and
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


