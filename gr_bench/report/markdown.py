"""Markdown and number formats every report.md section shares: tables, numbers, intervals,
durations and seed ranges, one way each."""

from __future__ import annotations

import math

import pandas as pd


def md_table(df: pd.DataFrame) -> str:
    """A frame as a markdown table, cells as str() writes them; "_none_" when it is empty."""
    if df.empty:
        return "_none_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def fmt(x: object, digits: int = 3) -> str:
    """A number to ``digits`` significant digits; "—" for None and NaN."""
    if x is None:
        return "—"
    if isinstance(x, float):
        return "—" if math.isnan(x) else f"{x:.{digits}g}"
    return str(x)


def fixed(x: float, spec: str = ".2f") -> str:
    """A number in a fixed format; "—" for NaN."""
    return "—" if math.isnan(x) else format(x, spec)


def ci_levels(rows: list[dict]) -> list[float]:
    """The distinct levels of the rows' intervals (ci_level), smallest first; missing and NaN left out.
    Rounded so that one level reached by two float paths counts once."""
    return sorted({round(float(r["ci_level"]), 10) for r in rows
                   if r.get("ci_level") is not None and r["ci_level"] == r["ci_level"]})


def ci_cell(r: dict, scale: float, spec: str = ".2f") -> str:
    """A row's interval, '[low, high]', in the unit it is shown in."""
    return f"[{fixed(scale * r['ci_low'], spec)}, {fixed(scale * r['ci_high'], spec)}]"


def points(x: float) -> str:
    """'1 point', '2.5 points'."""
    return f"{x:g} point" + ("" if x == 1 else "s")


def duration_text(seconds: float) -> str:
    """'1 h 52 min', '17 min 40 s', '45 s': one way to write a duration everywhere."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min {s % 60} s"
    return f"{s} s"


def seed_ranges(seeds: list[int]) -> str:
    """'0-4, 7, 9-10': sorted seeds as runs of consecutive numbers."""
    out: list[str] = []
    for s in seeds:
        if out and int(out[-1].split("-")[-1]) == s - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{s}"
        else:
            out.append(str(s))
    return ", ".join(out)
