"""Accuracy figures: each task during training, the average over tasks seen, the accuracy matrix."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import frames
from .common import DPI, MARKERS, PCT, data_limits, legend_outside, new_axes, no_data, palette, root, wrap


def task_accuracy_curves(accuracy, label: str | None = None, ax: Axes | None = None) -> Figure:
    """Accuracy on every task after every epoch: x = global epoch (task t, epoch e -> t*E + e).

    One line per evaluated task, the mean over seeds, shaded from the lowest to the highest seed
    (the seed's Figure 1); dashed lines mark task boundaries; x = 0 is the untrained model. Without
    ``label`` and with several configurations in the data, a figure of its own gets one panel per
    configuration (given an ``ax``, pass ``label``).
    """
    title = "Accuracy on each task during training"
    df = frames.accuracy_rows(accuracy, "task_accuracy_curves")
    if df.empty:
        return no_data(new_axes(ax)[1], title)
    df = df.dropna(subset=["after_task", "eval_task", "epoch"])
    if label is not None:
        df = df[df["label"] == str(label)]
    labels = frames.first_seen(df["label"])
    if not labels:
        return no_data(new_axes(ax)[1], f"{title}: {label}" if label is not None else title)
    if len(labels) > 1 and ax is not None:
        raise ValueError(f"task_accuracy_curves: {len(labels)} configurations in the data; pass label=... "
                         f"(one of {', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''})")
    if ax is None:
        fig = Figure(figsize=(9.0, 3.6 * len(labels) + 0.4), dpi=DPI, layout="constrained")
        axes = fig.subplots(len(labels), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    else:
        fig, axes = root(ax), [ax]
    for a, lab in zip(axes, labels):
        _curves_panel(a, df[df["label"] == lab], f"{title}: {lab}" if lab != "all" else title)
    for a in axes[:-1]:
        a.set_xlabel("")
    return fig


def _curves_panel(ax: Axes, df: pd.DataFrame, title: str) -> None:
    curves, E, T = frames.task_curves(df)
    if not T:
        no_data(ax, title)
        return
    n_seeds = df["seed"].nunique()
    tasks = sorted(int(j) for j in df["eval_task"].unique())
    colors = palette(max(T, len(tasks)))
    for j in tasks:
        g = curves[curves["eval_task"] == j]
        if g.empty:
            continue
        x = g["x"].to_numpy(dtype=float)
        ax.fill_between(x, g["min"].to_numpy(), g["max"].to_numpy(), color=colors[j], alpha=0.18, linewidth=0)
        ax.plot(x, g["mean"].to_numpy(), color=colors[j], linewidth=1.6, label=f"task {j}")
    bounds = [t * E for t in range(1, T)]
    if bounds:
        ax.vlines(bounds, 0, 1, colors="0.35", linestyles="dashed", linewidth=0.9, zorder=0)
    trans = ax.get_xaxis_transform()
    for t in range(T):
        ax.text(t * E + E / 2, 1.01, f"task {t}", transform=trans, ha="center", va="bottom", fontsize=8, color="0.3")
    ax.set_xlim(0, T * E)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PCT)
    ax.set_xlabel(f"epoch (global: task t, epoch e → t·{E} + e)")
    ax.set_ylabel("test accuracy")
    band = "band: min-max over seeds" if n_seeds > 1 else "1 seed"
    ax.set_title(f"{title}\nmean over {n_seeds} seed{'s' if n_seeds != 1 else ''}, {band}", fontsize=10, pad=14)
    ax.grid(True, axis="y", alpha=0.3)
    legend_outside(ax, title="evaluated on", fontsize=8, title_fontsize=8)


def accuracy_vs_tasks(accuracy, ax: Axes | None = None) -> Figure:
    """Average accuracy over the tasks seen so far, after each task (frames.avg_acc_curves, the
    seed's Figure 2); one line per configuration, mean ± sd over seeds."""
    fig, ax = new_axes(ax)
    title = "Average accuracy over the tasks seen so far"
    curves = frames.avg_acc_curves(accuracy)
    if curves.empty:
        return no_data(ax, title)
    labels = frames.first_seen(curves["label"])
    colors = palette(len(labels))
    for i, lab in enumerate(labels):
        c = curves[curves["label"] == lab]
        ax.errorbar(c["after_task"].to_numpy(dtype=float) + 1, c["mean"].to_numpy(), yerr=c["sd"].to_numpy(),
                    color=colors[i], marker=MARKERS[i % len(MARKERS)], markersize=5, capsize=3, linewidth=1.5,
                    label=str(lab))
    T = int(curves["after_task"].max()) + 1
    ax.set_xticks(range(1, T + 1))
    ax.set_xlim(0.7, T + 0.3)
    low, high = float((curves["mean"] - curves["sd"]).min()), float((curves["mean"] + curves["sd"]).max())
    ax.set_ylim(*data_limits(low, high))  # the data's range, not 0-100%: differences stay visible
    ax.yaxis.set_major_formatter(PCT)
    ax.set_xlabel("tasks completed")
    ax.set_ylabel("average accuracy on tasks seen")
    ax.set_title(f"{title}\nmean ± sd over seeds (up to {int(curves['n'].max())})", fontsize=10)
    ax.grid(True, alpha=0.3)
    legend_outside(ax, fontsize=8)
    return fig


def accuracy_heatmap(R, ax: Axes | None = None, title: str = "Accuracy matrix R[i, j] (%)") -> Figure:
    """The T x T accuracy matrix as a heatmap, every cell annotated in % ("-" where NaN).

    One decimal up to 6 tasks, whole percents beyond.
    """
    M = np.asarray(R if R is not None else [], dtype=float)
    T = M.shape[0] if M.ndim == 2 else 0
    fig, ax = new_axes(ax, (max(4.2, 0.6 * T + 2.2), max(3.6, 0.55 * T + 1.6)))
    if M.ndim != 2 or M.size == 0:
        return no_data(ax, title)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    fontsize = 9 if max(M.shape) <= 8 else 7 if max(M.shape) <= 14 else 5
    digits = 1 if max(M.shape) <= 6 else 0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            v = M[i, j]
            text, color = (("-", "black") if not np.isfinite(v)
                           else (f"{100 * v:.{digits}f}", "black" if v > 0.6 else "white"))
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color=color)
    ax.set_xticks(range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]))
    ax.set_xlabel("evaluated on task j")
    ax.set_ylabel("after training task i")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_title(wrap(title, 48), fontsize=10)
    cbar = root(ax).colorbar(im, ax=ax, fraction=0.05, pad=0.03)
    cbar.ax.yaxis.set_major_formatter(PCT)
    cbar.set_label("test accuracy")
    return fig
