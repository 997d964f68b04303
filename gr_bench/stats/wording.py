"""A comparison row in words: its verdict with the margin, its p as the design holds it, the
numbers behind the verdict (details), an exact row's statement and a confidence level."""

from __future__ import annotations

import math
from collections.abc import Mapping

from .difference_tests import TESTS
from .intervals import UNADJUSTED


def level_text(level: float) -> str:
    """'95%', '97.5%', '98.33%': a confidence level as people read it."""
    return f"{100 * level:.4g}%"


def _paired(row: Mapping) -> bool:
    """Whether a row comes from a paired comparison (its primary test is a paired one)."""
    test = row.get("test")
    return test == "exact" or (test in TESTS and TESTS[test].paired)  # exact rows are paired by seed


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
    if row.get("test") == "exact":  # compare_pair() names every exact row so
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
