"""gr-bench's figures beside a paper's: is the published figure reproduced?

For each configuration with a published figure (mean, SEM and the paper's number of seeds n_pub):
gr-bench's mean final average accuracy over its n seeds with a 95% t-interval (n - 1 degrees of
freedom: honest coverage at 5 seeds, where a bootstrap is too narrow), and the difference
d = ours - published judged against a margin (default thresholds.REPRODUCTION.margin, 1.5 points)
by Welch's t on the two means (the maths: stats/published.py; this module builds the table and
words the verdicts):

- standard error ``se = sqrt(s²/n + SEM²)`` (s: gr-bench's sample sd; the paper's sd is
  SEM·sqrt(n_pub), so its variance of the mean is SEM²), degrees of freedom by Welch–Satterthwaite
  ``df = se⁴ / ((s²/n)²/(n - 1) + SEM⁴/(n_pub - 1))``;
- ``p_tost``: two one-sided t-tests of |d| < margin (TOST), the larger one-sided p,
  ``P(T > (margin - |d|)/se)``;
- ``p_beyond``: the one-sided test of |d| > margin on the side d falls,
  ``P(T > (|d| - margin)/se)`` (the two sides' rejection regions are disjoint, so its size under
  |d| <= margin is alpha plus the far side's negligible share);
- ``p_diff``: the two-sided test of d = 0.

One family: the configurations that have a published figure and at least
``REPRODUCTION.min_runs`` (3) runs. Each of the three p-values is Holm-adjusted over that family
(``p_tost_holm``, ``p_beyond_holm``, ``p_diff_holm``, ``family_size`` rows), and each outcome
comes from its own test at ``alpha`` (default 0.05), in order:

- "reproduced (within ±1.5)": p_tost_holm < alpha, the difference is shown to lie within the
  margin (a real but small difference can be both significant and reproduced);
- "differs (beyond ±1.5)": p_beyond_holm < alpha, the difference is shown to exceed the margin;
- "higher/lower than published (within reach of ±1.5)": p_diff_holm < alpha, gr-bench's mean is
  shown to differ from the published one, but neither within nor beyond the margin;
- "can't tell": none of the three: too few or too noisy seeds to say anything;
- "too few seeds" below 3 runs (no interval, no test), "not run" with no run at all, and no
  verdict ("") for a configuration without a published figure.

The interval of d beside a verdict is at the level of the test that decided it (``ci_level``,
``diff_low``/``diff_high``): a one-sided test at level a reads off the (1 - 2a) Welch interval
(inside ±margin: TOST; entirely beyond it: p_beyond; past zero on one side: the two-sided p_diff
at 2a), and Holm rejects a row exactly when its raw p is below ``alpha · p / p_holm``, the row's
step-down level. So "reproduced" sits beside an interval inside ±margin, "differs" beside one
outside it, "higher"/"lower" beside one that excludes zero; "can't tell" shows the widest of the
three, which does none of these. ``ci90_low``/``ci90_high`` keep the unadjusted 90% interval.

An entry without n (a study spec written before n was recorded, still loaded by a study that was
running) takes the published SEM as known exactly: its term leaves the Welch df (slightly liberal).

A non-significant difference never counts as reproduced: the older rule ("the published mean lies
inside gr-bench's 95% interval or within 2 points of its mean") passed almost any noisy
reproduction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from .. import stats
from ..thresholds import DEFAULTS, REPRODUCTION
from .frames import ok_rows

ALPHA = DEFAULTS.alpha  # family-wise level of each of the three tests, Holm over the published rows
COLUMNS = ("configuration", "n", "mean", "ci_low", "ci_high", "published_mean", "published_sem",
           "published_n", "difference", "se_welch", "df_welch", "margin", "ci90_low", "ci90_high",
           "p_tost", "p_diff", "verdict", "source", "p_beyond", "family_size", "p_tost_holm",
           "p_beyond_holm", "p_diff_holm", "ci_level", "diff_low", "diff_high", "closest_margin")
_TESTS = ("p_tost", "p_beyond", "p_diff")  # each Holm-adjusted over the family on its own


def reproduction_verdict(row: Mapping, *, margin: float = REPRODUCTION.margin, alpha: float = ALPHA) -> str:
    """The module docstring's rule on a row's Holm-adjusted p-values (and the sign of its difference):
    reproduced, differs, higher/lower than published, else can't tell."""
    if row["p_tost_holm"] < alpha:
        return f"reproduced (within ±{margin:g})"
    if row["p_beyond_holm"] < alpha:
        return f"differs (beyond ±{margin:g})"
    if row["p_diff_holm"] < alpha:
        side = "higher" if row["difference"] > 0 else "lower"
        return f"{side} than published (within reach of ±{margin:g})"
    return "can't tell"


def verdict_level(row: Mapping, *, alpha: float = ALPHA) -> float:
    """The one-sided level of the interval shown beside a row's verdict: that of the test which
    decided it (the two-sided p_diff counts half its level per side), or for "can't tell" the
    smallest of the three, whose wider interval neither lies within, nor beyond, nor off zero."""
    k = int(row["family_size"])
    tost, beyond, diff = (stats.holm_level(row[t], row[f"{t}_holm"], alpha, k) for t in _TESTS)
    if row["p_tost_holm"] < alpha:
        return tost
    if row["p_beyond_holm"] < alpha:
        return beyond
    if row["p_diff_holm"] < alpha:
        return diff / 2
    return min(tost, beyond, diff / 2)


def _figure(label: str, ref: Mapping[str, object]) -> tuple[float, float, int | None]:
    """The published mean, SEM and seed count (None when not given) of one entry; a one-line error
    for a mean without its SEM or an impossible n."""
    if "sem" not in ref:
        raise ValueError(f"published figure {label!r} has a mean but no sem (needs mean, sem and n, "
                         f"the paper's number of seeds)")
    if ref.get("n") is None:
        return float(ref["mean"]), float(ref["sem"]), None
    n = int(ref["n"])
    if n < 2:
        raise ValueError(f"published figure {label!r}: n must be the paper's number of seeds (>= 2), got {n}")
    return float(ref["mean"]), float(ref["sem"]), n


def _judge_family(rows: list[dict], *, margin: float, alpha: float) -> None:
    """Holm over the tested rows (one family), then each one's verdict and the interval at its level."""
    tested = [r for r in rows if not math.isnan(r["p_tost"])]
    for test in _TESTS:
        for r, p in zip(tested, stats.holm([r[test] for r in tested])):
            r[f"{test}_holm"] = float(p)
    for r in tested:
        r["family_size"] = len(tested)
        r["verdict"] = reproduction_verdict(r, margin=margin, alpha=alpha)
        level = verdict_level(r, alpha=alpha)
        r["ci_level"] = 1 - 2 * level
        r["diff_low"], r["diff_high"] = stats.welch_interval(r["difference"], r["se_welch"], r["df_welch"], level)


def published_table(runs: pd.DataFrame, published: Mapping[str, Mapping[str, object]], *,
                    metric: str = "final_avg_acc", confidence: float = 0.95, margin: float = REPRODUCTION.margin,
                    alpha: float = ALPHA) -> pd.DataFrame:
    """One row per configuration (published ones first): means, bounds and differences in accuracy
    points, Welch's se and df, the three tests' raw and Holm-adjusted p-values, the verdict and the
    interval of the difference at the verdict's level.

    `runs` needs columns label, status and `metric` (a fraction); one row per run. `published`:
    label -> {"mean", "sem", "n", "source"}; an entry without a mean is no published figure."""
    ok = ok_rows(runs)
    labels = [*published, *(lab for lab in dict.fromkeys(ok["label"]) if lab not in published)]
    nan = math.nan
    untested = dict(se_welch=nan, df_welch=nan, ci90_low=nan, ci90_high=nan, p_tost=nan, p_beyond=nan,
                    p_diff=nan, family_size=nan, p_tost_holm=nan, p_beyond_holm=nan, p_diff_holm=nan,
                    ci_level=nan, diff_low=nan, diff_high=nan)
    rows = []
    for label in labels:
        values = 100 * ok.loc[ok["label"] == label, metric].astype(float).to_numpy()
        mean, low, high = stats.mean_interval(values, confidence)
        ref = published.get(label, {})
        pub, sem, n_pub = _figure(label, ref) if "mean" in ref else (nan, nan, None)
        row = dict(untested, difference=mean - pub)
        if not len(values) or math.isnan(pub):
            row["verdict"] = "" if len(values) else "not run"
        elif len(values) < REPRODUCTION.min_runs:
            row["verdict"] = "too few seeds"
        else:
            row.update(stats.welch_against_published(values, pub, sem, n_pub, margin=margin, alpha=alpha))
        rows.append({"configuration": label, "n": len(values), "mean": mean, "ci_low": low, "ci_high": high,
                     "published_mean": pub, "published_sem": sem, "published_n": nan if n_pub is None else n_pub,
                     **row, "margin": margin, "source": ref.get("source", ""),
                     "closest_margin": nan if math.isnan(pub) else stats.closest_margin(sem, n_pub, alpha)})
    _judge_family(rows, margin=margin, alpha=alpha)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as people read it: '92.1 [90.9, 93.3]' beside '90.79 ± 0.41 (n 20)', the
    difference with its Welch interval at the verdict's level (the level in its own column), the
    three Holm-adjusted p-values and the verdict."""

    def nan(x) -> bool:
        return x is None or (isinstance(x, float) and math.isnan(x))

    def fmt(x: float, digits: int = 1) -> str:
        return "—" if nan(x) else f"{x:.{digits}f}"

    def published(m: float, s: float, k: float) -> str:
        return "—" if nan(m) else f"{fmt(m, 2)} ± {fmt(s, 2)}" + ("" if nan(k) else f" (n {int(k)})")

    def diff(d: float, lo: float, hi: float) -> str:
        return "—" if nan(d) else f"{d:+.1f}" if nan(lo) else f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"

    def p_holm(r: Mapping) -> str:
        return "—" if nan(r["p_tost_holm"]) else " / ".join(f"{r[f'{t}_holm']:.2g}" for t in _TESTS)

    records = table.to_dict("records")
    out = pd.DataFrame({
        "configuration": table["configuration"],
        "n": table["n"],
        "gr-bench % [95% CI]": [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" if not math.isnan(lo) else fmt(m)
                                for m, lo, hi in zip(table["mean"], table["ci_low"], table["ci_high"])],
        "published % ± SEM": [published(m, s, k) for m, s, k in
                              zip(table["published_mean"], table["published_sem"], table["published_n"])],
        "difference (points) [CI at the verdict's level]": [
            diff(d, lo, hi) for d, lo, hi in zip(table["difference"], table["diff_low"], table["diff_high"])],
        "CI level": ["—" if nan(c) else stats.level_text(c) for c in table["ci_level"]],
        "p_holm: within / beyond / ≠ 0": [p_holm(r) for r in records],
        "verdict": table["verdict"].replace("", "—"),
    })
    return out


def out_of_reach(table: pd.DataFrame) -> list[str]:
    """One line per "can't tell" row whose margin no number of gr-bench seeds could reach: the
    published SEM alone keeps TOST above it (stats.closest_margin), so more seeds can still show
    "differs" or "higher"/"lower", never "reproduced"."""
    lines = []
    for r in table.to_dict("records"):
        if r["verdict"] != "can't tell" or not r["closest_margin"] >= r["margin"]:
            continue
        n = "" if math.isnan(r["published_n"]) else f", n {int(r['published_n'])}"
        lines.append(f"- {r['configuration']}: ±{r['margin']:g} is out of reach at any number of gr-bench seeds: "
                     f"the published SEM alone ({r['published_sem']:.2f}{n}) keeps TOST at alpha {ALPHA} from "
                     f"showing a margin below {r['closest_margin']:.2f} points, so more seeds could show "
                     "\"differs\" or \"higher\"/\"lower\", never \"reproduced\".")
    return lines


def rule_text(table: pd.DataFrame) -> str:
    """The rule of the published section, with its margin, level and family (the module docstring)."""
    margin = float(table["margin"].iloc[0]) if len(table) else REPRODUCTION.margin
    k = int(table["family_size"].max()) if len(table) and table["family_size"].notna().any() else 0
    runs = REPRODUCTION.min_runs
    return ("gr-bench's mean final average accuracy with its 95% t-interval over seeds, beside the published "
            "mean ± SEM (n: the paper's seeds). The difference d (gr-bench - published) has a Welch standard "
            "error sqrt(s²/n + SEM²) with Welch–Satterthwaite df, and three tests, each Holm-adjusted over the "
            f"{k} configuration{'s' if k != 1 else ''} with a published figure and at least {runs} runs, "
            f"at alpha {ALPHA}: \"reproduced (within ±{margin:g})\": two one-sided tests (TOST) show |d| "
            f"below {margin:g} points; \"differs (beyond ±{margin:g})\": a one-sided test shows |d| above it; "
            f"\"higher\" or \"lower than published (within reach of ±{margin:g})\": only the two-sided test "
            "of d = 0 rejects; \"can't tell\": none does; \"too few seeds\" below "
            f"{runs} runs. The interval of d is at the level of the test that decided the verdict (CI "
            "level; Holm's step-down level for that row), so it lies inside the margin beside \"reproduced\", "
            "beyond it beside \"differs\" and off zero beside \"higher\"/\"lower\"; beside \"can't tell\" "
            "the widest of the three. A non-significant difference alone never counts as reproduced.\n")
