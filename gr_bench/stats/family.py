"""A family of comparisons judged together: Holm's rule over the pairs, look by look under a
sequential design (group_sequential), each pair reported at the look that decided it; the Friedman
test with its post-hoc family."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from .. import group_sequential as gs
from ..thresholds import DEFAULTS, Thresholds
from .difference_tests import holm
from .intervals import diff_interval
from .verdicts import _is_underpowered, _power_fields, compare_pair, decide

FAMILY_KEYS = (  # keys of every compare_family() row, each once, in the metric's own unit
    "study", "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high",
    "test", "statistic", "p_value", "p_holm", "effect_size", "effect_kind", "prob_improvement",
    "verdict", "family_size", "alpha", "min_effect", "min_rel_effect", "margin", "tost_p",
    "tost_p_holm", "equivalent", "sd_diff", "power_effect", "mde", "power_at_min_effect",
    "seeds_needed", "underpowered", "paired_delta", "cliffs_delta", "min_p", "min_p_holm",
    "test_secondary", "p_secondary", "confidence", "exact", "ci_level", "ci95_low", "ci95_high",
    "look", "looks", "alpha_nominal", "boundary")


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
                   thresholds: Thresholds = DEFAULTS, relative: bool = False,
                   design: gs.Design | None = None) -> list[dict]:
    """compare_pair() each (a, b) pair as one Holm family: the difference tests and the TOSTs each
    under Holm's rule, power at the level each p is held to, verdicts.

    Without ``design`` there is one look (every seed) and this is Holm's procedure: ``p_holm``
    and ``tost_p_holm`` are the adjusted p-values and a row is significant when p_holm < alpha.
    With a sequential ``design`` (group_sequential.Design: the seeds at each look, the cap and the
    spending function) each pair is tested at each look that added seeds to it, by Holm's rule
    over group-sequential tests (group_sequential.holm_sequential); a row reports the first look
    at which its verdict was decided, else its last look (``look`` of ``looks``), and
    ``alpha_nominal`` is the level its p is held to there, at the share of alpha of the Holm round
    that decided it (alpha / K in the first). p_holm then
    adjusts the reported looks' p-values for reading; the verdict is the design's.

    Exact rows (a cost with the same difference on every seed) are stated, not tested: they take
    no part in either Holm family (``family_size`` counts the other rows).

    The CI (``ci_low``, ``ci_high``) is at the verdict's level, ``ci_level = 1 - alpha_nominal``:
    the level the row's p was held to at its Holm step (one look: alpha / K at the first step, up
    to alpha at the last; a row never rejected, the last step's share), so that the interval
    excludes zero exactly when the verdict says a difference. These are per-row intervals, not
    simultaneous ones (those would be at 1 - alpha / K); ``ci95_low``/``ci95_high`` keep the
    unadjusted 95% bounds. Power is at Holm's strictest step, alpha / K.
    ``thresholds`` and ``relative`` (a cost: thresholds relative to the other arm) as in compare_pair().

    ``groups``: label -> per-seed values (paired: same seed order), or a DataFrame with columns
    label, seed, <metric> (paired pairs inner-joined on seed; required with a design) and
    optionally code: then a seed pairs two runs only when they ran the same code (a study whose
    seeds ran at two codes compares within each, never across). Holm
    multiplies the smallest p by m, so with m comparisons no adjusted p can fall below
    ``min_p_holm = max(min_p, m · min over the family of min_p)``; rows whose ``min_p_holm``
    exceeds alpha are underpowered.
    """
    alpha = thresholds.alpha
    values = [_looks_of(groups, a, b, metric, paired, design) for a, b in pairs]
    looks = [[compare_pair(x, y, paired=paired, thresholds=thresholds, relative=relative) for x, y in pair]
             for pair in values]  # every look at the plain level
    k = max(1, sum(not seq[-1]["exact"] for seq in looks))  # pairs too small to test still count
    decisions = _holm_decisions(looks, alpha, design)
    out = []
    for i, (a, b) in enumerate(pairs):
        r, chosen = _reported_look(looks[i], decisions.get(i), alpha / k, design, paired=paired)
        x, y = values[i][chosen]
        level = 1.0 - r["alpha_nominal"]
        if not r["exact"]:
            r["ci_low"], r["ci_high"] = diff_interval(x, y, paired=paired, confidence=level)
        spending = design.spending if design is not None else ""
        r.update(study=study, metric=metric, a=a, b=b, confidence=level, ci_level=level, look=chosen + 1,
                 looks=len(looks[i]), boundary=gs.describe_boundary(spending) if spending else "holm",
                 family_size=k)
        out.append(r)
    return _finish_family(out, alpha, k)


def _holm_decisions(looks: list[list[dict]], alpha: float, design: gs.Design | None) -> dict[int, tuple]:
    """Pair index -> (look index its difference test rejects at, look index its TOST rejects at,
    the share of alpha its difference test was held to), the looks None when it does not reject:
    Holm's rule over the tested pairs' looks (holm_sequential_shares), the difference test
    two-sided, the TOST's one-sided tests one-sided."""
    tested = [i for i, seq in enumerate(looks) if _tested(seq[-1])]
    caps = {i: _cap(looks[i], design) for i in tested}
    spending = design.spending if design is not None else gs.DEFAULT_SPENDING
    planned = design.planned if design is not None else None

    def seq(key: str) -> dict[int, list[tuple[int, float]]]:
        return {i: [(r["n_a"], r[key]) for r in looks[i] if not math.isnan(r[key])] for i in tested}

    diff_at = gs.holm_sequential_shares(seq("p_value"), caps, alpha, spending, 2, planned)
    tost_at = gs.holm_sequential(seq("tost_p"), caps, alpha, spending, 1, planned)
    return {i: (diff_at[i][0], tost_at[i], diff_at[i][1]) for i in tested}


def _cap(seq: list[dict], design: gs.Design | None) -> int:
    """A pair's cap: the design's, or with one look its own seeds (information fraction 1)."""
    return max(design.cap if design is not None else 0, seq[-1]["n_a"])


def _reported_look(seq: list[dict], decision: tuple | None, share: float, design: gs.Design | None, *,
                   paired: bool) -> tuple[dict, int]:
    """The look a pair is reported at: the first at which its verdict is decided, else its last.
    Every look gets the level its p was held to (``alpha_nominal``, the interval's level: its own
    Holm step's share of alpha, from the decision) and the power at the Bonferroni ``share``
    (Holm's strictest step). Returns (that look's row, its index)."""
    diff_at, tost_at, held_share = decision if decision is not None else (None, None, share)
    tested = [j for j, r in enumerate(seq) if not math.isnan(r["p_value"])]

    def at_share(x: float) -> list[float]:
        """Each look's level at share x; a look with no p (under 2 pairs) tests nothing: x, for reading."""
        levels = [x] * len(seq)
        if decision is not None and tested:  # the levels of the looks holm_sequential tested
            spending = design.spending if design is not None else gs.DEFAULT_SPENDING
            at = gs.t_levels(tuple(seq[j]["n_a"] for j in tested), _cap(seq, design), x, spending, 2,
                             design.planned if design is not None else None)
            for j, level in zip(tested, at):
                levels[j] = level
        return levels

    power_levels, held = at_share(share), at_share(held_share)
    for j, r in enumerate(seq):
        sig, eq = diff_at is not None and diff_at <= j, tost_at is not None and tost_at <= j
        r["_decision"], r["alpha_nominal"] = (sig, eq), held[j]
        _power_fields(r, paired=paired, level=power_levels[j])
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


def friedman(df: pd.DataFrame, *, metric: str, labels: list[str] | None = None, study: str = "",
             thresholds: Thresholds = DEFAULTS, relative: bool = False) -> dict:
    """Friedman chi-square over >= 3 configurations on the seeds common to all, plus pairwise
    paired compare_pair() with Holm across the pairs ("posthoc"). scipy uses the chi-square
    approximation, which is rough for few seeds; the post-hoc rows say when n is too small.
    ``thresholds`` and ``relative`` pass to compare_family."""
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
                                      study=study, paired=True, thresholds=thresholds, relative=relative))
    return out
