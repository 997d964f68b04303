"""Search figures: the optimisation history and the parameter importances."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import frames
from .common import PCT, SIZE, new_axes, no_data, plural


def optimization_history(trials, objective: str | None = None, direction: str | None = None,
                         stage: str | None = "search", ax: Axes | None = None, *, metric: str | None = None,
                         runs=None) -> Figure:
    """The objective of every complete trial by trial number, the best so far, and pruned trials.

    objective: a column of trials (default: "value" when filled, else "value_acc"); metric: the run
    metric it holds, shown as the y label and title (default: final_avg_acc for value / value_acc,
    time_total_s for value_time_s); direction: "maximize" or "minimize" (default: the metric's
    sense in metrics.METRIC_SENSE). Pruned trials are drawn with their own marker at the mean of
    the seeds they finished (their value, else ``runs``' metric for that trial); when neither is
    known, as a mark along the bottom edge (frames.search_history).
    """
    fig, ax = new_axes(ax)
    title = "Search history"
    df = frames.as_frame(trials)
    if df.empty:
        return no_data(ax, title)
    if objective is None:
        objective = frames.default_objective(df)
    frames.require(df, ("number", objective), "optimization_history")
    metric = metric or frames.OBJECTIVE_METRICS.get(objective, objective)
    if direction is None:
        direction = frames.metric_direction(metric)
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    complete, pruned = frames.search_history(df, objective, metric, direction, stage, runs)
    title = f"{title}: {metric}"
    if complete.empty and pruned.empty:
        return no_data(ax, title)
    x, y = complete["number"].to_numpy(dtype=float), complete["value"].to_numpy(dtype=float)
    if len(y):
        ax.scatter(x, y, s=20, color="tab:blue", alpha=0.75, linewidths=0, zorder=3,
                   label=f"complete ({plural(len(y), 'trial')})")
        ax.step(x, complete["best"].to_numpy(dtype=float), where="post", color="tab:red", linewidth=1.5,
                label=f"best so far ({direction[:3]})")
    known = pruned.dropna(subset=["y"])
    if len(known):
        ax.scatter(known["number"], known["y"], s=28, marker="x", color="tab:orange", linewidths=1.2, zorder=3,
                   label=f"pruned ({plural(len(known), 'trial')}, mean of the seeds it finished)")
    unknown = pruned[pruned["y"].isna()]
    if len(unknown):
        ax.scatter(unknown["number"], np.full(len(unknown), 0.02), s=28, marker="v", color="tab:orange", zorder=3,
                   transform=ax.get_xaxis_transform(), clip_on=False,
                   label=f"pruned ({plural(len(unknown), 'trial')}, no value)")
        numbers = np.concatenate([x, pruned["number"].to_numpy(dtype=float)])  # not autoscaled: axes y
        ax.set_xlim(numbers.min() - 0.5, numbers.max() + 0.5)
    values = np.concatenate([y, known["y"].to_numpy(dtype=float)])
    if "time" not in metric and len(values) and np.nanmin(values) >= 0 and np.nanmax(values) <= 1:
        ax.yaxis.set_major_formatter(PCT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial number")
    ax.set_ylabel(metric)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def param_importances(importances: Mapping[str, float] | None, ax: Axes | None = None,
                      title: str = "Hyperparameter importances") -> Figure:
    """Horizontal bars, the most important parameter on top (e.g. optuna.importance output;
    frames.importance_frame)."""
    imp = frames.importance_frame(importances)
    fig, ax = new_axes(ax, (SIZE[0], max(2.4, 1.2 + 0.4 * len(imp))))
    if imp.empty:
        return no_data(ax, title)
    names, vals = list(imp["parameter"]), imp["importance"].to_numpy(dtype=float)
    y = np.arange(len(imp))
    ax.barh(y, vals, height=0.6, color="tab:blue")
    vmax = float(vals.max()) if vals.max() > 0 else 1.0
    for yi, v in zip(y, vals):
        ax.text(v + 0.01 * vmax, yi, f"{v:.2f}", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, float(vals.min())), vmax * 1.15)
    ax.set_xlabel("importance")
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig
