"""Trade-off figures: accuracy against memory, against a cost per run, and a search's Pareto front."""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ...metrics import METRIC_SENSE
from .. import frames
from .common import PCT, PercentTicks, general, metric_name, new_axes, no_data, palette, plain

_REFERENCE_COLORS = ("tab:green", "tab:purple", "tab:brown", "tab:gray", "tab:olive", "tab:cyan")


def _label_column(x: list[float], y: list[float], gap: float = 0.035, near: float = 0.6) -> list[tuple[float, float]]:
    """Where to write each point's label on a log-x plot: points whose x are within `near` (relative)
    of their neighbour form a cluster (the VAE, cvae and RtF all keep about 4.1-4.25 MiB; the buffers
    and mixtures all train in 115-230 GFLOP), whose labels stand in a column just right of its
    rightmost point, ordered by height: each at its point's height where it can be, else `gap`
    below the label above it. (A narrower `near` let one cluster's column run over the next's points.)"""
    spots = [(0.0, 0.0)] * len(x)
    clusters: list[list[int]] = []
    for i in sorted(range(len(x)), key=lambda i: x[i]):
        if clusters and x[i] <= x[clusters[-1][-1]] * (1 + near):
            clusters[-1].append(i)
        else:
            clusters.append([i])
    for members in clusters:
        column, above = max(x[i] for i in members) * 1.25, None
        for i in sorted(members, key=lambda i: -y[i]):  # from the top down
            height = y[i] if above is None else min(y[i], above - gap)
            spots[i], above = (column, height), height
    return spots


def _label(ax: Axes, text: str, point: tuple[float, float], spot: tuple[float, float], color: str) -> None:
    """`text` at `spot`, joined to its point by a thin line."""
    ax.annotate(text, point, xytext=spot, textcoords="data", va="center", fontsize=7, color=color,
                arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.5, "alpha": 0.6})


def accuracy_vs_memory(runs, ax: Axes | None = None) -> Figure:
    """Final average accuracy (mean ± sd over seeds) against memory in MiB (log x).

    Buffer configurations form a line sorted by bytes; generative replay is a star at its bytes.
    Other strategies (none, joint) are horizontal reference lines, as their memory is not comparable.
    """
    fig, ax = new_axes(ax, (9.0, 5.0))  # wide: a column of labels beside each cluster of generators
    title = "Final average accuracy against memory"
    g = frames.memory_points(runs)
    if g.empty:
        return no_data(ax, title)
    on_axis = g["mib"].gt(0) & g["mib"].notna()
    drawn = False
    buf = g[(g["kind"] == "buffer") & on_axis].sort_values("mem")
    if not buf.empty:
        ax.errorbar(buf["mib"], buf["acc"], yerr=buf["sd"], color="tab:blue", marker="o", markersize=5,
                    capsize=3, linewidth=1.5, label="buffer replay")
        for _, r in buf.iterrows():  # above the line, which rises to the right
            ax.annotate(str(r["label"]), (r["mib"], r["acc"]), xytext=(0, 7), textcoords="offset points",
                        ha="center", fontsize=7, color="tab:blue")
        drawn = True
    gen = g[(g["kind"] == "generative") & on_axis].sort_values("mem")
    for k, (_, r) in enumerate(gen.iterrows()):
        ax.errorbar([r["mib"]], [r["acc"]], yerr=[r["sd"]], color="tab:red", marker="*", markersize=13,
                    capsize=3, linestyle="none", label="generative replay" if k == 0 else None)
        drawn = True
    for (_, r), spot in zip(gen.iterrows(), _label_column(gen["mib"].tolist(), gen["acc"].tolist())):
        _label(ax, str(r["label"]), (r["mib"], r["acc"]), spot, "tab:red")
    kept = g[g["kind"].isin(["buffer", "generative"]) & on_axis]
    if len(kept):  # no arm is at least as accurate at no more bytes
        front = kept[frames.pareto_mask(kept["acc"], kept["mem"])]
        ax.scatter(front["mib"], front["acc"], s=260, facecolors="none", edgecolors="black", linewidths=1.1,
                   zorder=3, label="Pareto front (accuracy, bytes)")
    others = g[~g["kind"].isin(["buffer", "generative"])]
    for k, (_, r) in enumerate(others.iterrows()):
        ax.axhline(r["acc"], color=_REFERENCE_COLORS[k % len(_REFERENCE_COLORS)], linestyle=":", linewidth=1.4,
                   label=f"{r['label']} (reference)")
    off_axis = g[g["kind"].isin(["buffer", "generative"]) & ~on_axis]
    if not drawn and others.empty:
        return no_data(ax, title)
    if not drawn:
        ax.set_xlim(0.1, 10)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(general))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.08)
    shown = g.loc[on_axis, "mib"]
    if len(shown) and shown.max() / shown.min() < 10:
        # Bytes-matched arms sit within one example of each other: a log axis zoomed onto them
        # prints unreadable ticks, so show at least a decade around them.
        ax.set_xlim(shown.min() / 3, shown.max() * 3)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PCT)
    ax.set_xlabel("memory for replay (MiB, log scale)")
    ax.set_ylabel("final average accuracy")
    note = f"; not shown (no bytes): {', '.join(map(str, off_axis['label']))}" if len(off_axis) else ""
    ax.set_title(f"{title}\nmean ± sd over seeds; ringed: the Pareto front{note}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


_FLOP_UNITS = (("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6), ("kFLOP", 1e3))


def cost_unit(cost: str, largest: float) -> tuple[str, float]:
    """The unit a cost per run is shown in and the factor from its stored value: FLOPs in the
    largest of PFLOP ... kFLOP that keeps the largest value at 1 or more (200 GFLOP, 4.5 TFLOP, so
    that ticks stay short plain numbers); any other cost in its declared unit (metrics.METRIC_SENSE)."""
    if cost.startswith("flops"):
        return next(((unit, 1 / f) for unit, f in _FLOP_UNITS if largest >= f), ("FLOP", 1.0))
    sense = METRIC_SENSE.get(cost)
    return (sense.unit, sense.scale) if sense else ("", 1.0)


def accuracy_vs_cost(runs, cost: str = "flops_train", ax: Axes | None = None) -> Figure:
    """Final average accuracy (mean ± sd over seeds) against a cost per run (training FLOPs by
    default, log x), one point per configuration; the Pareto front (no other configuration is at
    least as accurate for at most the cost) is joined by a line and its points ringed. Axes and title
    use human names ("training compute (TFLOP)"); x ticks are plain numbers at 1, 2 and 5 of each decade."""
    fig, ax = new_axes(ax, (9.0, 5.0))  # wide: a column of labels beside each cluster of points
    title = f"Final average accuracy against {metric_name(cost)}"
    g = frames.cost_points(runs, cost)
    if g.empty:
        return no_data(ax, title)
    unit, scale = cost_unit(cost, float(g["cost"].max()))
    g = g.assign(x=g["cost"] * scale)
    colors = palette(len(g))
    low, high = float((g["acc"] - g["sd"].fillna(0)).min()), float((g["acc"] + g["sd"].fillna(0)).max())
    gap = 0.07 * max(high - low, 0.02)  # between stacked labels: a share of the accuracies' range
    spots = _label_column(g["x"].tolist(), g["acc"].tolist(), gap=gap)
    for k, (_, r) in enumerate(g.iterrows()):
        ax.errorbar([r["x"]], [r["acc"]], yerr=[r["sd"]], color=colors[k], marker="o", capsize=3, linestyle="none")
        _label(ax, str(r["label"]), (r["x"], r["acc"]), spots[k], "black")
    f = g[g["pareto"]].sort_values("x")
    ax.plot(f["x"], f["acc"], color="black", linewidth=1, linestyle="--", label="Pareto front")
    ax.scatter(f["x"], f["acc"], s=160, facecolors="none", edgecolors="black", linewidths=1.2)
    ax.set_xscale("log")
    # The labels' column must lie inside the axes, with room for its text right of it (about a
    # third of the width); at least a decade is shown so that a 1-2-5 tick falls on it.
    left = float(g["x"].min()) / 1.4
    column = max(x for x, _ in spots)
    right = max(left * (column / left) ** 1.5, left * 10)
    ax.set_xlim(left, right)
    decades = math.log10(right / left)
    subs = (1.0, 2.0, 3.0, 5.0) if decades <= 1.5 else (1.0, 2.0, 5.0) if decades <= 4 else (1.0,)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(plain))
    ax.xaxis.set_minor_formatter(NullFormatter())
    bottom = min([low, *(y for _, y in spots)])
    ax.set_ylim(bottom - gap, high + gap)
    ax.yaxis.set_major_formatter(PercentTicks(symbol=""))  # the label says (%)
    unit_text = f"{unit}, log scale" if unit else "log scale"
    ax.set_xlabel(f"{metric_name(cost)} ({unit_text})")
    ax.set_ylabel("final average accuracy (%)")
    ax.set_title(f"{title}\nmean ± sd over seeds; ringed: the Pareto front", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def pareto_front(trials, stage: str | None = "search", ax: Axes | None = None) -> Figure:
    """Search trials by time (x) and accuracy (y); the Pareto-optimal ones (frames.pareto_trials)
    highlighted and joined."""
    fig, ax = new_axes(ax)
    title = "Search trials: accuracy against training time"
    df = frames.pareto_trials(trials, stage)
    if df.empty:
        return no_data(ax, title)
    rest, front = df[~df["pareto"]], df[df["pareto"]].sort_values(["value_time_s", "value_acc"])
    ax.scatter(rest["value_time_s"], rest["value_acc"], s=22, color="0.6", alpha=0.8, linewidths=0,
               label=f"dominated ({len(rest)})")
    ax.step(front["value_time_s"], front["value_acc"], where="post", color="tab:red", linewidth=1.2, alpha=0.8)
    ax.scatter(front["value_time_s"], front["value_acc"], s=55, color="tab:red", edgecolors="black",
               linewidths=0.6, zorder=3, label=f"Pareto-optimal ({len(front)})")
    if "number" in front.columns:
        for _, r in front.iterrows():
            ax.annotate(f"#{r['number']}", (r["value_time_s"], r["value_acc"]), xytext=(5, -10),
                        textcoords="offset points", fontsize=7)
    ax.yaxis.set_major_formatter(PCT)
    ax.set_xlabel("training time per run (s)")
    ax.set_ylabel("mean accuracy (objective)")
    ax.set_title(f"{title}\n{len(df)} complete trials; best: high accuracy, low time (top left)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig
