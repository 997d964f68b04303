"""report.md's judged sections: the verdicts and their rules, attribution and the compute control,
what each comparison changes, power, and every stats row with the Friedman test and the fits."""

from __future__ import annotations

import math

import pandas as pd

from .. import stats
from ..paired_comparisons import JUDGED_COSTS, WALL_CLOCK_VERDICT
from .analysis import (
    Analysis,
    attribution_rows,
    compute_rows,
    differing_fields,
    headline_rows,
    power_summary,
    power_table,
    sense,
    shown,
)
from .markdown import ci_cell, ci_levels, fixed, fmt, md_table, points


def verdicts_section(result: Analysis, sequential: str | None) -> list[str]:
    """The rules every verdict follows (at the analysis's thresholds), then one plain answer per
    primary and headline-cost comparison; ``sequential``: the sentence stating a --sequential
    study's looks (study.sequential.describe)."""
    t = result.thresholds
    alpha, min_effect, power_effect = t.alpha, t.min_effect, t.power_effect
    margin_pts = 100 * (min_effect if t.margin is None else t.margin)
    kind = result.comparisons.kind
    md = [f"## Verdicts ({'grid' if kind == 'grid' else result.stage + ' stage'}, paired by seed)\n",
          f"Holm families (each adjusted within itself): {families_text(result) or 'none'}.  \n"
          f"alpha {alpha}. p is the paired t-test's (the exact Wilcoxon signed-rank p is stats.csv's "
          f"p_secondary). \"better\"/\"worse\" needs p < alpha (p_holm in a family of more than one) and a "
          f"difference of at least {points(100 * min_effect)}; \"equivalent\" needs a paired TOST within "
          f"±{points(margin_pts)} with p < alpha, and a non-significant difference alone never means equal. "
          f"Power and the minimum detectable effect (MDE, 80% power) are for a paired t-test at alpha / family "
          f"size, power at a difference of {points(100 * power_effect)}; below 0.8 an inconclusive result is "
          f"\"underpowered\". Cost metrics use {100 * t.min_rel_effect:g}% of the other arm as minimum, margin and "
          f"power effect. {WALL_CLOCK_RULE} {ci_text(result, sequential=bool(sequential))}"
          f"{exact_text(result.rows)}\n"]
    if sequential:
        md.append(sequential[0].upper() + sequential[1:] + ".\n")
    rows = headline_rows(result)
    md += [verdict_table([(what, r) for what, r in rows], "metric"),
           "Power, TOST and the minimum detectable effect of each row: the Statistics table below and stats.csv.\n"
           ] if rows else ["No comparison (fewer than two configurations).\n"]
    note = wall_clock_note(result.rows)
    return md + ([f"\n{note}\n"] if note else [])


# report.md's rule for wall-clock rows (comparisons.wall_clock_rule)
WALL_CLOCK_RULE = ("Wall-clock times (time_*) are never judged: machines are shared and their load swings, so "
                   f"their differences, intervals and p-values are shown for reading only, with the verdict "
                   f"\"{WALL_CLOCK_VERDICT}\"; the judged costs are {' and '.join(f'`{m}`' for m in JUDGED_COSTS)} "
                   "(CPU seconds and training FLOPs).")


def verdict_table(rows: list[tuple[str, dict]], what: str) -> str:
    """Verdicts as a table: per row the comparison, ``what`` (its metric and role, or the group it
    measures), the difference with its interval at the verdict's level, p_holm (p alone in a family
    of one) and the verdict; the details stay in the Statistics table and stats.csv."""
    out = []
    for label, r in rows:
        scale, unit = shown(r)
        unit = "points" if unit == "pts" else unit
        k = int(r["family_size"])
        rel = r.get("min_rel_effect", math.nan)
        pct = (f" ({100 * r['diff'] / abs(r['mean_b']):+.1f}%)" if rel is not None and not math.isnan(rel)
               and r["mean_b"] else "")
        out.append({"a": r["a"], "b": r["b"],
                    what: f"`{r['metric']}` ({label})" if what == "metric" else label,
                    "difference [CI]": f"{fixed(scale * r['diff'], '+.1f')} {unit}{pct} {ci_cell(r, scale, '+.1f')} "
                                       f"({stats.level_text(r.get('ci_level', 0.95))})",
                    "p_holm": f"{fmt(r['p_holm'], 2)} (k={k})" if k > 1 else f"{fmt(r['p_value'], 2)} (p)",
                    "verdict": stats.verdict_label(r, scale=scale, unit=unit)
                               + (" (exact: same on every seed)" if r.get("exact") else "")})
    return md_table(pd.DataFrame(out))


def wall_clock_note(rows: list[dict]) -> str | None:
    """One sentence under the verdicts when some comparisons are on wall clock, else None."""
    wall = [r for r in rows if r.get("verdict") == WALL_CLOCK_VERDICT]
    if not wall:
        return None
    metrics = ", ".join(f"`{m}`" for m in dict.fromkeys(r["metric"] for r in wall))
    judged = [m for m in JUDGED_COSTS if any(r["metric"] == m for r in rows)]
    instead = (f"read {' and '.join(f'`{m}`' for m in judged)} for a verdict on cost" if judged
               else "these runs have no CPU seconds or FLOP counts to judge cost by")
    return (f"{len(wall)} comparison{'s' if len(wall) != 1 else ''} on {metrics}: wall clock, not judged; their "
            f"numbers are in the Statistics table for reading only; {instead}.")


def ci_text(result: Analysis, *, sequential: bool = False) -> str:
    """The sentence on the intervals: paired t, each at the level its row's p was held to at its
    step of Holm's procedure (1 - alpha/k at the first step of a family of k, up to 1 - alpha at the
    last; a row never rejected, the last step's), so that an interval excludes zero exactly beside a
    significant verdict; under a sequential design, 1 minus the reported look's nominal level at
    that step's share of alpha. The levels this report uses are listed."""
    levels = ci_levels(result.rows)
    where = ("the nominal level of the look it is reported at, at the share of alpha of the Holm round that "
             "decided it (alpha/k in the first round, more once others are rejected)" if sequential else
             "alpha/k at the first step of Holm's procedure in a family of k, up to alpha at the last; a "
             "comparison never rejected, the last step's")
    return ("CIs are paired t intervals at one minus the level each comparison's p was held to: " + where
            + (f"; the intervals here are at {', '.join(stats.level_text(lv) for lv in levels)}" if levels else "")
            + ". So an interval excludes zero exactly when its verdict says the configurations differ. They are "
            "intervals for one comparison each, not simultaneous ones; stats.csv's ci_level"
            + (", alpha_nominal, look and looks" if sequential else " and alpha_nominal")
            + ", with the unadjusted 95% bounds in ci95_low/ci95_high (none below 3 seeds: —).")


def exact_text(rows: list[dict]) -> str:
    """A sentence when some rows are exact: a cost with the same difference on every seed."""
    exact = [r for r in rows if r.get("exact")]
    if not exact:
        return ""
    metrics = ", ".join(f"`{m}`" for m in dict.fromkeys(r["metric"] for r in exact))
    return (f" {len(exact)} comparison{'s' if len(exact) != 1 else ''} on {metrics} "
            f"{'are' if len(exact) != 1 else 'is'} exact: the same difference on every seed (a count such as "
            "training FLOPs), decided by its size without a test (stats.csv's exact).")


def families_text(result: Analysis) -> str:
    """Which Holm family each metric's comparisons belong to, and its size."""
    parts = []
    for f in result.families:
        note = ", wall-clock seconds: machine-dependent" if f["wall_clock"] else ""
        parts.append(f"{f['role']}: `{f['metric']}`, {f['size']} comparison{'s' if f['size'] != 1 else ''}{note}")
    return "; ".join(parts)


def attribution_section(result: Analysis) -> list[str]:
    """A search's attribution (one group of fields at a time) and its compute-matched control."""
    if not result.attribution:
        return []
    md = ["\n## Attribution: what the search changed, one group at a time\n",
          "Each row compares the reference with one group of fields taken from the search's best "
          "configuration; the two arms differ in that group only.\n"]
    attribution = attribution_rows(result)
    measured = [(g.detail if g.group == g.detail else f"{g.group}: {g.detail}", g.row) for g in attribution
                if g.row is not None]
    md += [verdict_table(measured, "only this differs")] if measured else []
    md += [f"- {g.lead}: {g.note}" for g in attribution if g.row is None]
    compute, conclusion = compute_rows(result)
    if compute:
        md.append("\n## Replay set or extra training?\n")
        both = all(e.get("generator_samples_control") for e in result.attribution if e.get("kind") == "compute")
        md.append("A larger replay set also means more training. The control is the reference with its "
                  + ("classifier's and its generator's epochs scaled so that both train on as many samples as the "
                     "best's" if both else "classifier epochs scaled so that it trains on as many samples as the best "
                     "(its generator is not matched: it trains on the reference's samples)")
                  + "; it keeps the reference's replay set and learning rate.\n")
        shown = [(g.lead, g.row) for g in compute if g.row is not None]
        md += [verdict_table(shown, "what it measures")] if shown else []
        md += [f"- {g.group} ({g.note}, {g.detail}): not measured" for g in compute if g.row is None]
        if conclusion:
            md.append(f"\n{conclusion[0].upper() + conclusion[1:]}.\n")
    return md


def differences_section(result: Analysis, trials: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """The config fields each compared pair differs in."""
    if not result.pairs:
        return []
    return ["\n## What each comparison changes (config fields that differ, a vs b)\n", md_table(pd.DataFrame(
        [{"a": a, "b": b, "differs in": "; ".join(f"`{f}` {va} vs {vb}" for f, va, vb in
                                                  differing_fields(trials, runs, result.stage, a, b))
          or "nothing in the stored overrides"} for a, b in result.pairs]))]


def power_section(result: Analysis) -> list[str]:
    """The primary family's power: MDE and the seeds a target effect needs, per comparison."""
    power_effect = result.thresholds.power_effect
    power = power_summary(result, power_effect)
    if not power:
        return []
    table = power_table(result, power_effect)
    sn = sense(result.primary)
    shown_target = f"{sn.scale * power_effect:g} {sn.unit}".rstrip()
    return ["\n## Power (primary metric, paired t at alpha / family size, 80% power)\n",
            power[0].upper() + power[1:] + ".\n", md_table(pd.DataFrame({
                "a": table["a"], "b": table["b"], "seeds": table["seeds"], "family": table["family"],
                "sd of differences": [fixed(x) for x in table["sd_diff"]], "MDE": [fixed(x) for x in table["mde"]],
                f"seeds for {shown_target}": [fmt(x) for x in table["seeds_needed"]]}))]


def statistics_section(result: Analysis) -> list[str]:
    """Every stats.csv row, the Friedman test across configurations, power-law fits of time."""
    md = ["\n## Statistics (stats.csv; accuracy differences in points)\n", md_table(stats_display(result.rows))]
    if result.friedman:
        md += friedman_text(result.friedman, result.thresholds.alpha)
    for family, fit in result.fits.items():
        md.append(f"\nTime ~ T^k for `{family}`: k = {fmt(fit['exponent'])} (95% CI {fmt(fit['ci_low'])} to "
                  f"{fmt(fit['ci_high'])}, n={fit['n']}); quadratic (k = 2) "
                  f"{'inside' if fit['consistent_with_expected'] else 'outside'} the CI.\n")
    return md


def stats_display(rows: list[dict]) -> pd.DataFrame:
    """report.md's statistics table: differences in points (fractions) or the metric's unit."""
    out = []
    for r in rows:
        k, (scale, unit) = int(r["family_size"]), shown(r)
        tost = r["tost_p_holm"] if k > 1 else r["tost_p"]
        out.append({"metric": r["metric"] + (" (wall-clock)" if r.get("wall_clock") else ""),
                    "family": f"{r['role']}, k={k}",
                    "a": r["a"], "b": r["b"], "n": r["n_a"], "unit": unit or "-",
                    "mean a": f"{scale * r['mean_a']:.4g}", "mean b": f"{scale * r['mean_b']:.4g}",
                    "diff": fixed(scale * r["diff"], "+.2f"),
                    "CI (its Holm level)": ci_cell(r, scale), "CI level": fmt_level(r),
                    "p": fmt(r["p_value"]), "p_holm": fmt(r["p_holm"]) if k > 1 else "—",
                    "TOST p": fmt(tost),
                    "margin": stats.margin_text(r, scale=scale, unit="points" if unit == "pts" else unit),
                    "effect": "—" if math.isnan(r["effect_size"]) else f"{r['effect_kind']} {r['effect_size']:.2f}",
                    "MDE": fixed(scale * r["mde"]), "power": fmt(r["power_at_min_effect"], 2),
                    "seeds needed": fmt(r["seeds_needed"]),
                    "test": "exact: size decides" if r.get("exact") else r["test"], "verdict": r["verdict"]})
    return pd.DataFrame(out)


def fmt_level(r: dict) -> str:
    """A row's interval level, '97.5%', or — for an exact row (no interval)."""
    level = r.get("ci_level")
    return "—" if r.get("exact") or level is None or level != level else stats.level_text(level)


def friedman_text(fried: dict, alpha: float) -> list[str]:
    """The Friedman line; when it is significant at alpha, the pairwise post-hocs under it (every
    pair, paired by seed, Holm across the pairs): which configurations differ."""
    k, n = len(fried.get("labels", [])), fried.get("n_seeds")
    p = fried.get("p_value", math.nan)
    out = [f"\nFriedman test across {k} configurations on {n} seeds: statistic {fmt(fried.get('statistic'))}, "
           f"p {fmt(p)} {fried.get('reason') or ''}".rstrip() + "\n"]
    posthoc = fried.get("posthoc") or []
    if not posthoc or not p < alpha:  # a NaN p (no configuration ranked apart on any seed) is not significant
        if posthoc:
            out.append(f"Not significant at alpha {alpha}: no pairwise post-hoc test is shown.\n")
        return out
    scale, unit = shown(posthoc[0])
    out.append(f"Significant at alpha {alpha}. Post-hoc, every pair of the {k} configurations on "
               f"`{posthoc[0]['metric']}` (paired t-test by seed, Holm across the {len(posthoc)} pairs; "
               f"differences a - b in {'points' if unit == 'pts' else unit}, the verdict in the metric's "
               f"sense):\n")
    out.append(md_table(pd.DataFrame([
        {"a": r["a"], "b": r["b"], "n": r["n_a"], "diff": fixed(scale * r["diff"], "+.2f"),
         "CI (its Holm level)": ci_cell(r, scale), "CI level": fmt_level(r),
         "p_holm": fmt(r["p_holm"]), "verdict": r["verdict"]} for r in posthoc])))
    return out
