"""gr-bench's figures beside a paper's: does the reproduction agree with the published table?

For each configuration with a published figure: gr-bench's mean final average accuracy over seeds
with a 95% t-interval (n - 1 degrees of freedom: honest coverage at 5 seeds, where a bootstrap is
too narrow), the published mean ± SEM, and a verdict. "agrees" when the published mean lies inside
gr-bench's interval or within `tolerance` points of its mean; "differs" otherwise; "too few seeds"
below 3 runs, where no interval is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import stats

COLUMNS = ("configuration", "n", "mean", "ci_low", "ci_high", "published_mean", "published_sem",
           "difference", "verdict", "source")


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): stats.t_interval with the mean; NaN bounds below 3 values."""
    x = np.asarray(values, dtype=float)
    return (float(x.mean()) if len(x) else math.nan, *stats.t_interval(x, confidence=confidence))


def published_table(runs: pd.DataFrame, published: Mapping[str, Mapping[str, object]], *,
                    metric: str = "final_avg_acc", confidence: float = 0.95, tolerance: float = 2.0) -> pd.DataFrame:
    """One row per configuration (published ones first): means and bounds in accuracy points.

    `runs` needs columns label, status and `metric` (a fraction); one row per run."""
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    labels = [*published, *(lab for lab in dict.fromkeys(ok["label"]) if lab not in published)]
    rows = []
    for label in labels:
        values = 100 * ok.loc[ok["label"] == label, metric].astype(float).to_numpy()
        mean, low, high = t_interval(values, confidence)
        ref = published.get(label, {})
        pub = float(ref["mean"]) if "mean" in ref else math.nan
        if not len(values) or math.isnan(pub):
            verdict = "" if len(values) else "not run"
        elif len(values) < 3:
            verdict = "too few seeds"
        else:
            verdict = "agrees" if (low <= pub <= high or abs(mean - pub) <= tolerance) else "differs"
        rows.append({"configuration": label, "n": len(values), "mean": mean, "ci_low": low, "ci_high": high,
                     "published_mean": pub, "published_sem": float(ref.get("sem", math.nan)),
                     "difference": mean - pub, "verdict": verdict, "source": ref.get("source", "")})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as people read it: '91.3 [90.1, 92.5]' beside '90.79 ± 0.41'."""

    def fmt(x: float, digits: int = 1) -> str:
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"

    out = pd.DataFrame({
        "configuration": table["configuration"],
        "n": table["n"],
        "gr-bench % [95% CI]": [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" if not math.isnan(lo) else fmt(m)
                                for m, lo, hi in zip(table["mean"], table["ci_low"], table["ci_high"])],
        "published % ± SEM": [f"{fmt(m, 2)} ± {fmt(s, 2)}" if not math.isnan(m) else "—"
                              for m, s in zip(table["published_mean"], table["published_sem"])],
        "difference (points)": [("—" if math.isnan(d) else f"{d:+.1f}") for d in table["difference"]],
        "verdict": table["verdict"].replace("", "—"),
    })
    return out
