"""report.md's first section: the question, the answer in one sentence with its numbers, and the
primary family's comparisons as a table."""

from __future__ import annotations

import pandas as pd

from .. import stats
from .analysis import Analysis, shown
from .markdown import ci_cell, ci_levels, fixed, fmt, md_table


def answer_section(result: Analysis, question: str) -> list[str]:
    """report.md's first section. Its first paragraph is the headline: the question, then the answer
    in one sentence with its numbers (headline_text). Then one row per comparison of the primary
    family (both means, the difference with its interval at the verdict's level, p_holm, the
    verdict); power, TOST and MDE details follow in the Statistics table and stats.csv."""
    primary = result.primary
    rows = [r for r in result.rows if r["metric"] == primary]
    out = ["## Answer\n"]
    asked = f"Question: {question}." if question else ""
    if not rows:
        return out + [(f"{asked}  \n" if asked else "") + "No comparison: fewer than two configurations with "
                      "finished runs.\n"]
    out.append((f"{asked}  \n" if asked else "") + f"Answer: {headline_text(rows, result.stage)}\n")
    scale, unit = shown(rows[0])
    k = int(rows[0]["family_size"])
    levels = ci_levels(rows) or [0.95]
    seeds = sorted({int(r["n_a"]) for r in rows})
    said = (f"intervals at {stats.level_text(levels[0])}, the verdict's level" if len(levels) == 1 else
            f"each interval at its own verdict's level, the one its p was held to at its Holm step "
            f"({stats.level_text(levels[0])} to {stats.level_text(levels[-1])}; CI level)")
    out.append(f"{'Each' if k > 1 else 'The'} configuration a against b on `{primary}`, paired by seed "
               f"({seeds[0] if len(seeds) == 1 else f'{seeds[0]} to {seeds[-1]}'} seeds; Holm over {k}; {said}):\n")
    out.append(md_table(pd.DataFrame([{
        "a": r["a"], "b": r["b"], "mean a": fixed(scale * r["mean_a"], ".1f"),
        "mean b": fixed(scale * r["mean_b"], ".1f"),
        f"difference ({'points' if unit == 'pts' else unit or '-'})": fixed(scale * r["diff"], "+.1f"),
        "CI": ci_cell(r, scale, "+.1f"),
        **({"CI level": stats.level_text(r.get("ci_level", 0.95))} if len(levels) > 1 else {}),
        **({"n": int(r["n_a"])} if len(seeds) > 1 else {}),
        "p_holm" if k > 1 else "p": fmt(r["p_holm"] if k > 1 else r["p_value"], 2), "verdict": r["verdict"]}
        for r in rows])))
    return out


def headline_text(rows: list[dict], stage: str) -> str:
    """The answer in one sentence, from the primary family's rows: for a search (its final stage),
    or a single comparison, the first row (the search's best against the reference) with its
    difference, means, interval, p and verdict; for a grid of several comparisons, its verdicts,
    naming the configurations of each decided one (the numbers are in the table under it)."""
    scale, unit = shown(rows[0])
    unit = "points" if unit == "pts" else unit
    k, n = int(rows[0]["family_size"]), int(rows[0]["n_a"])

    def numbers(r: dict) -> str:
        p = f"p_holm {fmt(r['p_holm'], 2)} (Holm over {k})" if k > 1 else f"p {fmt(r['p_value'], 2)}"
        return (f"{fixed(scale * r['diff'], '+.1f')} {unit} ({fixed(scale * r['mean_a'], '.1f')} against "
                f"{fixed(scale * r['mean_b'], '.1f')}), {stats.level_text(r.get('ci_level', 0.95))} CI "
                f"{ci_cell(r, scale, '+.1f')}, {p}, "
                f"{n} paired seeds: **{r['verdict']}**")

    metric = f"`{rows[0]['metric']}`"
    if stage == "final" or len(rows) == 1:
        r = rows[0]
        rest = f"; all {len(rows)} comparisons below" if len(rows) > 1 else ""
        what = " (the search's best against the reference" + rest + ")" if stage == "final" else ""
        return f"{r['a']} against {r['b']} on {metric}{what}: {numbers(r)}."
    against = list(dict.fromkeys(r["b"] for r in rows))
    parts = []
    for verdict in dict.fromkeys(r["verdict"] for r in rows):
        named = [r["a"] for r in rows if r["verdict"] == verdict]
        decided = verdict in ("better", "worse") or verdict.startswith(("equivalent", "negligible"))
        parts.append(f"{verdict}: {', '.join(named)}" if decided and len(named) <= 6 else f"{len(named)} {verdict}")
    more = ", ..." if len(against) > 3 else ""
    return (f"{len(rows)} comparisons on {metric} against {', '.join(against[:3])}{more} "
            f"({n} paired seeds, Holm over {k}): {'; '.join(parts)}. "
            "Each difference with its CI is in the table below.")
