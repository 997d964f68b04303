"""Time figures: where the time goes (phases), and total time against the number of tasks."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .. import frames
from .common import MARKERS, SIZE, legend_outside, new_axes, no_data, palette, sig

_PHASE_COLORS = ("tab:purple", "tab:orange", "tab:blue", "tab:green", "0.7")  # PHASES, then "other"


def phase_times(runs, ax: Axes | None = None) -> Figure:
    """Stacked horizontal bars per configuration: mean seconds in each training phase (frames.phase_means)."""
    title = "Where the time goes"
    means = frames.phase_means(runs)
    n = len(means)
    fig, ax = new_axes(ax, (SIZE[0] + 1.0, max(2.6, 1.2 + 0.42 * n)))
    if means.empty:
        return no_data(ax, title)
    y = np.arange(n)
    left = np.zeros(n)
    colors = dict(zip((*frames.PHASES, "other"), _PHASE_COLORS))
    for p in (*frames.PHASES, "other"):
        v = means[p].to_numpy(dtype=float)
        ax.barh(y, v, left=left, height=0.65, color=colors[p], label=p, edgecolor="white", linewidth=0.5)
        left += v
    xmax = float(left.max()) if len(left) and left.max() > 0 else 1.0
    for yi, tot in zip(y, left):
        ax.text(tot + 0.01 * xmax, yi, f"{sig(tot)} s", va="center", fontsize=8)  # 0.932 s, 6.25 s, 20.0 s
    ax.set_yticks(y, [str(lab) for lab in means.index])
    ax.invert_yaxis()
    ax.set_xlim(0, xmax * 1.15)
    ax.set_xlabel("mean seconds per run")
    ax.set_title(f"{title}: mean seconds per phase over seeds", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    legend_outside(ax, fontsize=8, title="phase", title_fontsize=8)
    return fig


def _fit_c(fit: Mapping) -> float | None:
    if fit.get("c") is not None:
        return float(fit["c"])
    if fit.get("intercept") is not None:
        return math.exp(float(fit["intercept"]))  # natural-log intercept: ln t = intercept + k ln T
    return None


def time_vs_tasks(runs, fits: Mapping[str, Mapping] | None = None, by: str = "schedule",
                  ax: Axes | None = None) -> Figure:
    """Total training time against the number of tasks, log-log, one series per schedule.

    Points: mean over seeds with min-max bars (frames.scaling_summary). ``fits`` maps a series name
    (see frames.time_series_key) to {"exponent": k, "c": c or "intercept": ln c, "ci_low", "ci_high"}:
    the line t = c * T^k is drawn and k (with its interval) goes in the legend. A dashed grey line of
    slope 2 is the seed's claim (quadratic total time).
    """
    fig, ax = new_axes(ax)
    title = "Training time against the number of tasks"
    if frames.as_frame(runs).empty:
        return no_data(ax, title)
    df = frames.scaling_runs(runs, by)
    summary = frames.scaling_summary(df)
    fits = dict(fits or {})
    if df.empty and not fits:
        return no_data(ax, title)
    series = frames.first_seen(df["series"]) + [k for k in fits if k not in set(df["series"])]
    colors = palette(len(series))
    all_n = sorted(set(df["n_tasks"].astype(float)))
    lo_n, hi_n = (min(all_n), max(all_n)) if all_n else (2.0, 10.0)
    for i, s in enumerate(series):
        g = summary[summary["series"] == s]
        fit = fits.get(s)
        k = float(fit["exponent"]) if fit and fit.get("exponent") is not None else math.nan
        c = _fit_c(fit) if fit else None
        has_fit = math.isfinite(k) and c is not None and math.isfinite(c) and c > 0
        name = str(s)
        if has_fit:
            lo, hi = fit.get("ci_low"), fit.get("ci_high")
            ci = (f" [{float(lo):.2f}, {float(hi):.2f}]" if lo is not None and hi is not None
                  and math.isfinite(float(lo)) and math.isfinite(float(hi)) else "")
            name += f": t ∝ T^{k:.2f}{ci}"
        if not g.empty:
            x, m = g["n_tasks"].to_numpy(dtype=float), g["mean"].to_numpy()
            yerr = np.vstack([m - g["min"].to_numpy(), g["max"].to_numpy() - m])
            ax.errorbar(x, m, yerr=yerr, color=colors[i], marker=MARKERS[i % len(MARKERS)], markersize=6, capsize=3,
                        linestyle="none" if has_fit else "-", linewidth=1.2, label=name)
            name = None
        if has_fit:
            xs = np.geomspace(lo_n, hi_n, 50) if lo_n < hi_n else np.array([lo_n * 0.8, lo_n * 1.25])
            ax.plot(xs, c * xs**k, color=colors[i], linewidth=1.3, label=name)
    if not df.empty:
        n0 = min(all_n)
        t0 = float(np.exp(np.log(df[df["n_tasks"] == n0]["time_total_s"]).mean()))
        xs = np.geomspace(lo_n, hi_n, 50) if lo_n < hi_n else np.array([lo_n * 0.8, lo_n * 1.25])
        ax.plot(xs, t0 * (xs / n0) ** 2, color="0.45", linestyle="--", linewidth=1.0,
                label="slope 2: quadratic (the source report's claim)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    if all_n:
        ax.set_xticks(all_n, [f"{v:g}" for v in all_n])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("number of tasks T (log scale)")
    ax.set_ylabel("total training time (s, log scale)")
    ax.set_title(f"{title}\nmean over seeds, bars: min-max", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig
