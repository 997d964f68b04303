"""gr-bench's figures beside a paper's: is the published figure reproduced?

For each configuration with a published figure (mean, SEM and the paper's number of seeds n_pub):
gr-bench's mean final average accuracy over its n seeds with a 95% t-interval (n - 1 degrees of
freedom: honest coverage at 5 seeds, where a bootstrap is too narrow), and the difference
d = ours - published judged as an equivalence question, by Welch's t on the two means:

- standard error ``se = sqrt(s²/n + SEM²)`` (s: gr-bench's sample sd; the paper's sd is
  SEM·sqrt(n_pub), so its variance of the mean is SEM²), degrees of freedom by Welch–Satterthwaite
  ``df = se⁴ / ((s²/n)²/(n - 1) + SEM⁴/(n_pub - 1))``;
- ``p_tost``: two one-sided t-tests of |d| < margin (default ``MARGIN``, 1.5 points), the larger
  one-sided p; equivalently, the (1 - 2·alpha) Welch interval of d (90%, ``ci90_low``/``ci90_high``)
  lies inside ±margin exactly when p_tost < alpha;
- ``p_diff``: the two-sided Welch test of d = 0.

Verdicts, at ``alpha`` (default 0.05), in order:

- "reproduced (within ±1.5)": p_tost < alpha, the difference is shown to lie within the margin
  (a real but small difference can be both significant and reproduced);
- "differs": p_diff < alpha and not reproduced: gr-bench's mean is shown to differ from the
  published one, and not shown to be within the margin (the 90% interval tells by how much);
- "can't tell": neither test reaches alpha: too few or too noisy seeds to say either;
- "too few seeds" below 3 runs (no interval, no test), "not run" with no run at all, and no
  verdict ("") for a configuration without a published figure.

An entry without n (a study spec written before n was recorded, still loaded by a study that was
running) takes the published SEM as known exactly: its term leaves the Welch df (slightly liberal).

A non-significant difference never counts as reproduced: the older rule ("the published mean lies
inside gr-bench's 95% interval or within 2 points of its mean") passed almost any noisy
reproduction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import stats
from ..thresholds import DEFAULTS

MARGIN = 1.5  # accuracy points: a reproduction within ±1.5 of the published mean counts as one
ALPHA = DEFAULTS.alpha  # each one-sided test of TOST, and the two-sided difference test
MIN_RUNS = 3  # below this many runs: "too few seeds", no interval and no test
COLUMNS = ("configuration", "n", "mean", "ci_low", "ci_high", "published_mean", "published_sem",
           "published_n", "difference", "se_welch", "df_welch", "margin", "ci90_low", "ci90_high",
           "p_tost", "p_diff", "verdict", "source")


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): stats.t_interval with the mean; NaN bounds below 3 values."""
    x = np.asarray(values, dtype=float)
    return (float(x.mean()) if len(x) else math.nan, *stats.t_interval(x, confidence=confidence))


def welch_against_published(values, mean: float, sem: float, n: int | None, *, margin: float = MARGIN,
                            alpha: float = ALPHA) -> dict:
    """d = mean(values) - mean with Welch's se and df, the TOST p within ±margin, the two-sided p of
    d = 0 and the (1 - 2·alpha) interval of d (the one TOST uses). ``n`` None: the SEM taken as
    exact (no df from the paper's side). Zero se (no spread on either side): d alone decides."""
    x = np.asarray(values, dtype=float)
    d = float(x.mean()) - mean
    ours, theirs = float(x.var(ddof=1)) / len(x), sem ** 2
    se = math.sqrt(ours + theirs)
    if se == 0:
        return dict(difference=d, se_welch=0.0, df_welch=math.inf, ci90_low=d, ci90_high=d,
                    p_tost=0.0 if abs(d) < margin else 1.0, p_diff=1.0 if d == 0 else 0.0)
    df = se ** 4 / (ours ** 2 / (len(x) - 1) + (0.0 if n is None else theirs ** 2 / (n - 1)))
    half = st.t.ppf(1 - alpha, df) * se
    p_tost = max(st.t.sf((d + margin) / se, df), st.t.cdf((d - margin) / se, df))
    return dict(difference=d, se_welch=se, df_welch=float(df), ci90_low=float(d - half), ci90_high=float(d + half),
                p_tost=float(p_tost), p_diff=float(2 * st.t.sf(abs(d) / se, df)))


def reproduction_verdict(p_tost: float, p_diff: float, *, margin: float = MARGIN, alpha: float = ALPHA) -> str:
    """The module docstring's rule: reproduced when TOST shows the margin, differs when only the
    difference test is significant, else can't tell."""
    if p_tost < alpha:
        return f"reproduced (within ±{margin:g})"
    return "differs" if p_diff < alpha else "can't tell"


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


def published_table(runs: pd.DataFrame, published: Mapping[str, Mapping[str, object]], *,
                    metric: str = "final_avg_acc", confidence: float = 0.95, margin: float = MARGIN,
                    alpha: float = ALPHA) -> pd.DataFrame:
    """One row per configuration (published ones first): means, bounds and differences in accuracy
    points, Welch's se and df, the TOST and difference p-values and the verdict.

    `runs` needs columns label, status and `metric` (a fraction); one row per run. `published`:
    label -> {"mean", "sem", "n", "source"}; an entry without a mean is no published figure."""
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    labels = [*published, *(lab for lab in dict.fromkeys(ok["label"]) if lab not in published)]
    nan = math.nan
    rows = []
    for label in labels:
        values = 100 * ok.loc[ok["label"] == label, metric].astype(float).to_numpy()
        mean, low, high = t_interval(values, confidence)
        ref = published.get(label, {})
        pub, sem, n_pub = _figure(label, ref) if "mean" in ref else (nan, nan, None)
        test = dict(difference=mean - pub, se_welch=nan, df_welch=nan, ci90_low=nan, ci90_high=nan,
                    p_tost=nan, p_diff=nan)
        if not len(values) or math.isnan(pub):
            verdict = "" if len(values) else "not run"
        elif len(values) < MIN_RUNS:
            verdict = "too few seeds"
        else:
            test = welch_against_published(values, pub, sem, n_pub, margin=margin, alpha=alpha)
            verdict = reproduction_verdict(test["p_tost"], test["p_diff"], margin=margin, alpha=alpha)
        rows.append({"configuration": label, "n": len(values), "mean": mean, "ci_low": low, "ci_high": high,
                     "published_mean": pub, "published_sem": sem, "published_n": nan if n_pub is None else n_pub,
                     **test, "margin": margin, "verdict": verdict, "source": ref.get("source", "")})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as people read it: '92.1 [90.9, 93.3]' beside '90.79 ± 0.41 (n 20)', the
    difference with its 90% Welch interval, the TOST p and the verdict."""

    def nan(x) -> bool:
        return x is None or (isinstance(x, float) and math.isnan(x))

    def fmt(x: float, digits: int = 1) -> str:
        return "—" if nan(x) else f"{x:.{digits}f}"

    def published(m: float, s: float, k: float) -> str:
        return "—" if nan(m) else f"{fmt(m, 2)} ± {fmt(s, 2)}" + ("" if nan(k) else f" (n {int(k)})")

    def diff(d: float, lo: float, hi: float) -> str:
        return "—" if nan(d) else f"{d:+.1f}" if nan(lo) else f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"

    out = pd.DataFrame({
        "configuration": table["configuration"],
        "n": table["n"],
        "gr-bench % [95% CI]": [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" if not math.isnan(lo) else fmt(m)
                                for m, lo, hi in zip(table["mean"], table["ci_low"], table["ci_high"])],
        "published % ± SEM": [published(m, s, k) for m, s, k in
                              zip(table["published_mean"], table["published_sem"], table["published_n"])],
        "difference (points) [90% CI]": [diff(d, lo, hi) for d, lo, hi in
                                         zip(table["difference"], table["ci90_low"], table["ci90_high"])],
        "TOST p": ["—" if nan(p) else f"{p:.2g}" for p in table["p_tost"]],
        "verdict": table["verdict"].replace("", "—"),
    })
    return out
