"""Figures from exported study data (see export.collect): pure functions that return a Figure.

Every plotting function takes plain data (pandas DataFrames, or lists of row dicts as export.collect
returns them) and an optional matplotlib Axes. Without ``ax`` it builds its own Figure of a fixed
size with ``matplotlib.figure.Figure`` (no pyplot, no GUI backend, nothing global touched); with
``ax`` it draws into it and returns that Axes' Figure. Nothing here reads files, trains or imports
torch. Empty input gives a figure that says "no data"; NaNs are skipped.

Input shapes:
- ``accuracy``: long format, columns label, seed, after_task, eval_task, epoch, acc (0..1); the
  untrained model is after_task -1, epoch 0; epochs are 1..E within each task. The study export's
  accuracy.csv has no label column: :func:`attach_labels` adds it from runs.csv.
- ``runs``: one row per (configuration, seed): label, seed, strategy, final_avg_acc, time_*_s,
  memory_bytes, n_tasks, schedule, status, ... Rows whose status is not "ok" are left out.
- ``trials``: stage, number, state, value_acc, value_time_s (or value), label.

:func:`save` writes a figure as PNG and SVG, atomically and byte-for-byte reproducibly.
"""

from __future__ import annotations

import math
import os
import pickle
import textwrap
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, PercentFormatter

from ..files import temp_file
from ..metrics import METRIC_SENSE

DPI = 100  # the figures' own dpi; save() renders PNGs at SAVE_DPI
SAVE_DPI = 150
SIZE = (6.4, 4.2)  # inches, single-panel figures
SVG_HASHSALT = "gr-bench"  # fixed so that SVG element ids are the same on every save

PHASES = ("generator", "replay", "classifier", "eval")
_PCT = PercentFormatter(xmax=1.0, decimals=0)
_MIB = 2**20
_REFERENCE_COLORS = ("tab:green", "tab:purple", "tab:brown", "tab:gray", "tab:olive", "tab:cyan")


# --- helpers -------------------------------------------------------------------------------------

def _frame(data) -> pd.DataFrame:
    if data is None:
        return pd.DataFrame()
    return data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {', '.join(missing)}; it has {', '.join(map(str, df.columns))}")


def _checked(data, columns: Sequence[str], what: str) -> pd.DataFrame:
    """The data as a frame: empty when there is none (the caller draws "no data"), otherwise
    checked to have `columns`."""
    df = _frame(data)
    if not df.empty:
        _require(df, columns, what)
    return df


def _axes(ax: Axes | None, figsize: tuple[float, float] = SIZE) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        return fig, fig.add_subplot()
    return _root(ax), ax


def _root(ax: Axes) -> Figure:
    try:
        return ax.get_figure(root=True)  # matplotlib >= 3.10: the Figure, not a SubFigure
    except TypeError:
        return ax.figure


def _no_data(ax: Axes, title: str = "") -> Figure:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, fontsize=14, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return _root(ax)


def _colors(n: int) -> list:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _numeric(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    df = df.copy()
    for c in columns:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"].astype(str) == "ok"] if "status" in runs.columns else runs


def _labels(df: pd.DataFrame) -> pd.Series:
    """The configuration of each row: the label column, or one group when there is none."""
    if "label" in df.columns:
        return df["label"].fillna("").astype(str)
    return pd.Series("all", index=df.index)


def _order(values: pd.Series) -> list:
    """Distinct values in order of first appearance (the caller's order, deterministic)."""
    return list(dict.fromkeys(values.tolist()))


def _sd(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in str(text).split("\n"))


def _data_limits(low: float, high: float, floor: float = 0.0, ceiling: float = 1.0) -> tuple[float, float]:
    """Axis limits around [low, high] with a margin of 8% of the range (at least 0.01), kept
    within [floor, ceiling] (accuracies: 0..1) unless the data itself goes beyond."""
    pad = max(0.08 * (high - low), 0.01)
    return max(min(floor, low), low - pad), min(max(ceiling, high), high + pad)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _g(value: float, _pos=None) -> str:
    return f"{value:g}"


def _legend_outside(ax: Axes, **kw) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, **kw)


def attach_labels(accuracy, runs) -> pd.DataFrame:
    """accuracy.csv rows with the label of their run from runs.csv (joined on stage, trial,
    final_trial and seed: a search or grid row has a trial number, a final-stage row a final_trial)."""
    acc, runs = _frame(accuracy), _frame(runs)
    keys = [k for k in ("stage", "trial", "final_trial", "seed") if k in acc.columns and k in runs.columns]
    if acc.empty or runs.empty or not keys or "label" not in runs.columns:
        return acc
    lab = runs[[*keys, "label"]].drop_duplicates(keys)
    return acc.drop(columns=["label"], errors="ignore").merge(lab, on=keys, how="left")


# --- 1. accuracy of each task during training (the seed's Figure 1) -------------------------------

def task_accuracy_curves(accuracy, label: str | None = None, ax: Axes | None = None) -> Figure:
    """Accuracy on every task after every epoch: x = global epoch (task t, epoch e -> t*E + e).

    One line per evaluated task, the mean over seeds, shaded from the lowest to the highest seed;
    dashed lines mark task boundaries; x = 0 is the untrained model. Without ``label`` and with
    several configurations in the data, a figure of its own gets one panel per configuration
    (given an ``ax``, pass ``label``).
    """
    df = _frame(accuracy)
    title = "Accuracy on each task during training"
    if df.empty:
        return _no_data(_axes(ax)[1], title)
    _require(df, ("after_task", "eval_task", "epoch", "acc"), "task_accuracy_curves")
    df = _numeric(df.assign(label=_labels(df)), ("after_task", "eval_task", "epoch", "acc"))
    if "seed" not in df.columns:
        df["seed"] = 0
    df = df.dropna(subset=["after_task", "eval_task", "epoch"])
    if label is not None:
        df = df[df["label"] == str(label)]
    labels = _order(df["label"])
    if not labels:
        return _no_data(_axes(ax)[1], f"{title}: {label}" if label is not None else title)
    if len(labels) > 1 and ax is not None:
        raise ValueError(f"task_accuracy_curves: {len(labels)} configurations in the data; pass label=... "
                         f"(one of {', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''})")
    if ax is None:
        fig = Figure(figsize=(9.0, 3.6 * len(labels) + 0.4), dpi=DPI, layout="constrained")
        axes = fig.subplots(len(labels), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    else:
        fig, axes = _root(ax), [ax]
    for a, lab in zip(axes, labels):
        _curves_panel(a, df[df["label"] == lab], f"{title}: {lab}" if lab != "all" else title)
    for a in axes[:-1]:
        a.set_xlabel("")
    return fig


def _curves_panel(ax: Axes, df: pd.DataFrame, title: str) -> None:
    trained = df[df["after_task"] >= 0]
    if trained.empty or df["acc"].notna().sum() == 0:
        _no_data(ax, title)
        return
    E = int(trained["epoch"].max())
    T = int(max(trained["after_task"].max(), df["eval_task"].max())) + 1
    df = df.assign(x=np.where(df["after_task"] < 0, 0, df["after_task"].clip(lower=0) * E + df["epoch"]))
    n_seeds = df["seed"].nunique()
    tasks = sorted(int(j) for j in df["eval_task"].unique())
    colors = _colors(max(T, len(tasks)))
    for j in tasks:
        g = df[df["eval_task"] == j].groupby("x")["acc"].agg(["mean", "min", "max"]).dropna(subset=["mean"])
        if g.empty:
            continue
        x = g.index.to_numpy(dtype=float)
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
    ax.yaxis.set_major_formatter(_PCT)
    ax.set_xlabel(f"epoch (global: task t, epoch e → t·{E} + e)")
    ax.set_ylabel("test accuracy")
    band = "band: min-max over seeds" if n_seeds > 1 else "1 seed"
    ax.set_title(f"{title}\nmean over {n_seeds} seed{'s' if n_seeds != 1 else ''}, {band}", fontsize=10, pad=14)
    ax.grid(True, axis="y", alpha=0.3)
    _legend_outside(ax, title="evaluated on", fontsize=8, title_fontsize=8)


# --- 2. average accuracy against tasks completed (the seed's Figure 2) -----------------------------

def avg_acc_rows(accuracy) -> pd.DataFrame:
    """Per (label, seed, after_task): mean of R[i, 0..i] at the last epoch of task i."""
    df = _checked(accuracy, ("after_task", "eval_task", "epoch", "acc"), "accuracy_vs_tasks")
    if df.empty:
        return pd.DataFrame(columns=["label", "seed", "after_task", "avg_acc"])
    df = _numeric(df.assign(label=_labels(df)), ("after_task", "eval_task", "epoch", "acc"))
    if "seed" not in df.columns:
        df["seed"] = 0
    df = df[(df["after_task"] >= 0) & (df["eval_task"] <= df["after_task"])]
    last = df.groupby(["label", "seed", "after_task"], sort=False)["epoch"].transform("max")
    df = df[df["epoch"] == last]
    out = df.groupby(["label", "seed", "after_task"], sort=False)["acc"].mean().rename("avg_acc").reset_index()
    return out.dropna(subset=["avg_acc"])


def accuracy_vs_tasks(accuracy, ax: Axes | None = None) -> Figure:
    """Average accuracy over the tasks seen so far, after each task; one line per configuration."""
    fig, ax = _axes(ax)
    title = "Average accuracy over the tasks seen so far"
    rows = avg_acc_rows(accuracy)
    if rows.empty:
        return _no_data(ax, title)
    labels = _order(rows["label"])
    colors = _colors(len(labels))
    markers = "osD^vP*Xh<>"
    n_max = 0
    lows, highs = [], []
    for i, lab in enumerate(labels):
        g = rows[rows["label"] == lab].groupby("after_task")["avg_acc"]
        mean, sd, n = g.mean(), g.agg(_sd), g.count()
        n_max = max(n_max, int(n.max()))
        lows.append(float((mean - sd).min()))
        highs.append(float((mean + sd).max()))
        x = mean.index.to_numpy(dtype=float) + 1
        ax.errorbar(x, mean.to_numpy(), yerr=sd.to_numpy(), color=colors[i], marker=markers[i % len(markers)],
                    markersize=5, capsize=3, linewidth=1.5, label=str(lab))
    T = int(rows["after_task"].max()) + 1
    ax.set_xticks(range(1, T + 1))
    ax.set_xlim(0.7, T + 0.3)
    ax.set_ylim(*_data_limits(min(lows), max(highs)))  # the data's range, not 0-100%: differences stay visible
    ax.yaxis.set_major_formatter(_PCT)
    ax.set_xlabel("tasks completed")
    ax.set_ylabel("average accuracy on tasks seen")
    ax.set_title(f"{title}\nmean ± sd over seeds (up to {n_max})", fontsize=10)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax, fontsize=8)
    return fig


# --- 3. accuracy against memory --------------------------------------------------------------------

def _kind(label: str, strategy: str) -> str:
    s, lab = strategy.lower(), label.lower()
    if s == "generative" or (not s and "generative" in lab):
        return "generative"
    if s == "buffer" or (not s and lab.startswith("buffer")):
        return "buffer"
    return s or lab


def accuracy_vs_memory(runs, ax: Axes | None = None) -> Figure:
    """Final average accuracy (mean ± sd over seeds) against memory in MiB (log x).

    Buffer configurations form a line sorted by bytes; generative replay is a star at its bytes.
    Other strategies (none, joint) are horizontal reference lines, as their memory is not comparable.
    """
    fig, ax = _axes(ax)
    title = "Final average accuracy against memory"
    df = _checked(runs, ("final_avg_acc", "memory_bytes"), "accuracy_vs_memory")
    if df.empty:
        return _no_data(ax, title)
    df = _numeric(_ok(df), ("final_avg_acc", "memory_bytes"))
    df = df.assign(label=_labels(df), strategy=df["strategy"].fillna("").astype(str) if "strategy" in df.columns else "")
    df = df.dropna(subset=["final_avg_acc"])
    if df.empty:
        return _no_data(ax, title)
    g = df.groupby("label", sort=False).agg(acc=("final_avg_acc", "mean"), sd=("final_avg_acc", _sd),
                                            n=("final_avg_acc", "count"), mem=("memory_bytes", "mean"),
                                            strategy=("strategy", "first")).reset_index()
    g["kind"] = [_kind(lab, s) for lab, s in zip(g["label"], g["strategy"])]
    g["mib"] = g["mem"] / _MIB
    on_axis = g["mib"].gt(0) & g["mib"].notna()
    drawn = False
    buf = g[(g["kind"] == "buffer") & on_axis].sort_values("mem")
    if not buf.empty:
        ax.errorbar(buf["mib"], buf["acc"], yerr=buf["sd"], color="tab:blue", marker="o", markersize=5,
                    capsize=3, linewidth=1.5, label="buffer replay")
        for _, r in buf.iterrows():
            ax.annotate(str(r["label"]), (r["mib"], r["acc"]), xytext=(4, -11), textcoords="offset points",
                        fontsize=7, color="tab:blue")
        drawn = True
    gen = g[(g["kind"] == "generative") & on_axis].sort_values("mem")
    placed: list[float] = []
    for k, (_, r) in enumerate(gen.iterrows()):
        ax.errorbar([r["mib"]], [r["acc"]], yerr=[r["sd"]], color="tab:red", marker="*", markersize=13,
                    capsize=3, linestyle="none", label="generative replay" if k == 0 else None)
        # Generators of nearly the same size (the VAE, cvae and RtF all keep ~4.1-4.25 MiB) would
        # print their labels on top of each other: stack each one line below its close neighbours.
        crowd = sum(1 for m in placed if abs(m - r["mib"]) <= 0.2 * r["mib"])
        placed.append(r["mib"])
        ax.annotate(f"{r['label']} ({r['mib']:.2f} MiB)", (r["mib"], r["acc"]), xytext=(7, 5 - 10 * crowd),
                    textcoords="offset points", fontsize=7, color="tab:red")
        drawn = True
    others = g[~g["kind"].isin(["buffer", "generative"])]
    for k, (_, r) in enumerate(others.iterrows()):
        ax.axhline(r["acc"], color=_REFERENCE_COLORS[k % len(_REFERENCE_COLORS)], linestyle=":", linewidth=1.4,
                   label=f"{r['label']} (reference)")
    off_axis = g[g["kind"].isin(["buffer", "generative"]) & ~on_axis]
    if not drawn and others.empty:
        return _no_data(ax, title)
    if not drawn:
        ax.set_xlim(0.1, 10)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(_g))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.08)
    shown = g.loc[on_axis, "mib"]
    if len(shown) and shown.max() / shown.min() < 10:
        # Bytes-matched arms sit within one example of each other: a log axis zoomed onto them
        # prints unreadable ticks, so show at least a decade around them.
        ax.set_xlim(shown.min() / 3, shown.max() * 3)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(_PCT)
    ax.set_xlabel("memory for replay (MiB, log scale)")
    ax.set_ylabel("final average accuracy")
    note = f"; not shown (no bytes): {', '.join(map(str, off_axis['label']))}" if len(off_axis) else ""
    ax.set_title(f"{title}\nmean ± sd over seeds{note}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def accuracy_vs_cost(runs, cost: str = "flops_train", ax: Axes | None = None) -> Figure:
    """Final average accuracy (mean ± sd over seeds) against a cost per run (training FLOPs by
    default, log x), one point per configuration; the Pareto front (no other configuration is at
    least as accurate for at most the cost) is joined by a line and its points ringed."""
    fig, ax = _axes(ax)
    sense = METRIC_SENSE.get(cost)
    unit, scale = (sense.unit, sense.scale) if sense else ("", 1.0)
    title = f"Final average accuracy against {cost}"
    df = _checked(runs, ("final_avg_acc", cost), "accuracy_vs_cost")
    df = _numeric(_ok(df), ("final_avg_acc", cost)).dropna(subset=["final_avg_acc", cost]) if not df.empty else df
    if df.empty:
        return _no_data(ax, title)
    df = df.assign(label=_labels(df))
    g = df.groupby("label", sort=False).agg(acc=("final_avg_acc", "mean"), sd=("final_avg_acc", _sd),
                                            cost=(cost, "mean")).reset_index()
    g = g[g["cost"] > 0]
    if g.empty:
        return _no_data(ax, title)
    g["x"] = g["cost"] * scale
    front = pareto_mask(g["acc"], g["x"])
    colors = _colors(len(g))
    for k, (_, r) in enumerate(g.iterrows()):
        ax.errorbar([r["x"]], [r["acc"]], yerr=[r["sd"]], color=colors[k], marker="o", capsize=3, linestyle="none")
        ax.annotate(str(r["label"]), (r["x"], r["acc"]), xytext=(5, 4), textcoords="offset points", fontsize=7)
    f = g[front].sort_values("x")
    ax.plot(f["x"], f["acc"], color="black", linewidth=1, linestyle="--", label="Pareto front")
    ax.scatter(f["x"], f["acc"], s=160, facecolors="none", edgecolors="black", linewidths=1.2)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_g))
    ax.margins(x=0.1, y=0.1)
    ax.yaxis.set_major_formatter(_PCT)
    ax.set_xlabel(f"{cost} ({unit}, log scale)" if unit else f"{cost} (log scale)")
    ax.set_ylabel("final average accuracy")
    ax.set_title(f"{title}\nmean ± sd over seeds; ringed: the Pareto front", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


# --- 4. Pareto front of a multi-objective search ----------------------------------------------------

def pareto_mask(acc: Sequence[float], time_s: Sequence[float]) -> np.ndarray:
    """True where no other point has at least the accuracy and at most the time, and is better in one."""
    a, t = np.asarray(acc, dtype=float), np.asarray(time_s, dtype=float)
    mask = np.zeros(len(a), dtype=bool)
    for i in range(len(a)):
        dominated = (a >= a[i]) & (t <= t[i]) & ((a > a[i]) | (t < t[i]))
        mask[i] = not dominated.any()
    return mask


def _complete(trials: pd.DataFrame, stage: str | None) -> pd.DataFrame:
    if "state" in trials.columns:
        trials = trials[trials["state"].astype(str) == "COMPLETE"]
    if stage is not None and "stage" in trials.columns:
        trials = trials[trials["stage"].astype(str) == stage]
    return trials


def pareto_front(trials, stage: str | None = "search", ax: Axes | None = None) -> Figure:
    """Search trials by time (x) and accuracy (y); the Pareto-optimal ones highlighted and joined."""
    fig, ax = _axes(ax)
    title = "Search trials: accuracy against training time"
    df = _checked(trials, ("value_acc", "value_time_s"), "pareto_front")
    if df.empty:
        return _no_data(ax, title)
    df = _numeric(_complete(df, stage), ("value_acc", "value_time_s")).dropna(subset=["value_acc", "value_time_s"])
    if df.empty:
        return _no_data(ax, title)
    df = df.assign(pareto=pareto_mask(df["value_acc"], df["value_time_s"]))
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
    ax.yaxis.set_major_formatter(_PCT)
    ax.set_xlabel("training time per run (s)")
    ax.set_ylabel("mean accuracy (objective)")
    ax.set_title(f"{title}\n{len(df)} complete trials; best: high accuracy, low time (top left)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


# --- 5. time per training phase ----------------------------------------------------------------------

def phase_means(runs) -> pd.DataFrame:
    """Mean seconds per configuration of each phase, and "other" = total minus the phases (>= 0)."""
    df = _ok(_frame(runs))
    cols = [f"time_{p}_s" for p in PHASES]
    if df.empty:
        return pd.DataFrame(columns=[*PHASES, "other", "total"])
    df = df.assign(label=_labels(df))
    for c in (*cols, "time_total_s"):
        df[c] = pd.to_numeric(df[c], errors="coerce") if c in df.columns else np.nan
    m = df.groupby("label", sort=False)[[*cols, "time_total_s"]].mean()
    out = m[cols].fillna(0.0).clip(lower=0.0).set_axis(list(PHASES), axis=1)
    total = m["time_total_s"].fillna(out.sum(axis=1))
    out["other"] = (total - out.sum(axis=1)).clip(lower=0.0)
    out["total"] = out[[*PHASES, "other"]].sum(axis=1)
    return out


def phase_times(runs, ax: Axes | None = None) -> Figure:
    """Stacked horizontal bars per configuration: mean seconds in each training phase."""
    df = _frame(runs)
    title = "Where the time goes"
    means = phase_means(df) if not df.empty else pd.DataFrame()
    n = len(means)
    fig, ax = _axes(ax, (SIZE[0] + 1.0, max(2.6, 1.2 + 0.42 * n)))
    if means.empty:
        return _no_data(ax, title)
    y = np.arange(n)
    left = np.zeros(n)
    colors = dict(zip((*PHASES, "other"), ("tab:purple", "tab:orange", "tab:blue", "tab:green", "0.7")))
    for p in (*PHASES, "other"):
        v = means[p].to_numpy(dtype=float)
        ax.barh(y, v, left=left, height=0.65, color=colors[p], label=p, edgecolor="white", linewidth=0.5)
        left += v
    xmax = float(left.max()) if len(left) and left.max() > 0 else 1.0
    for yi, tot in zip(y, left):
        ax.text(tot + 0.01 * xmax, yi, f"{tot:.3g} s", va="center", fontsize=8)
    ax.set_yticks(y, [str(lab) for lab in means.index])
    ax.invert_yaxis()
    ax.set_xlim(0, xmax * 1.15)
    ax.set_xlabel("mean seconds per run")
    ax.set_title(f"{title}: mean seconds per phase over seeds", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    _legend_outside(ax, fontsize=8, title="phase", title_fontsize=8)
    return fig


# --- 6. time against the number of tasks --------------------------------------------------------------

def _family(schedule) -> str:
    s = "" if schedule is None or (isinstance(schedule, float) and math.isnan(schedule)) else str(schedule)
    return s.split(":", 1)[0] or "?"


def time_series_key(runs, by: str = "schedule") -> pd.Series:
    """The series name of each run in :func:`time_vs_tasks` (the keys ``fits`` is matched against).

    by="schedule": the schedule family ("linear" for linear:1000, as report.analysis.power_law_fits
    keys its fits); without a schedule column, the label. Any other column: its values.
    """
    df = _frame(runs)
    if by == "schedule" and "schedule" in df.columns:
        return df["schedule"].map(_family)
    if by == "schedule" or by not in df.columns:
        return _labels(df)
    return df[by].fillna("").astype(str)


def _fit_c(fit: Mapping) -> float | None:
    if fit.get("c") is not None:
        return float(fit["c"])
    if fit.get("intercept") is not None:
        return math.exp(float(fit["intercept"]))  # natural-log intercept: ln t = intercept + k ln T
    return None


def time_vs_tasks(runs, fits: Mapping[str, Mapping] | None = None, by: str = "schedule",
                  ax: Axes | None = None) -> Figure:
    """Total training time against the number of tasks, log-log, one series per schedule.

    Points: mean over seeds with min-max bars. ``fits`` maps a series name (see
    :func:`time_series_key`) to {"exponent": k, "c": c or "intercept": ln c, "ci_low", "ci_high"}:
    the line t = c * T^k is drawn and k (with its interval) goes in the legend. A dashed grey line of
    slope 2 is the seed's claim (quadratic total time).
    """
    fig, ax = _axes(ax)
    title = "Training time against the number of tasks"
    df = _checked(runs, ("n_tasks", "time_total_s"), "time_vs_tasks")
    if df.empty:
        return _no_data(ax, title)
    df = _ok(df)
    df = _numeric(df.assign(series=time_series_key(df, by)), ("n_tasks", "time_total_s"))
    df = df[(df["n_tasks"] > 0) & (df["time_total_s"] > 0)]
    fits = dict(fits or {})
    if df.empty and not fits:
        return _no_data(ax, title)
    series = _order(df["series"]) + [k for k in fits if k not in set(df["series"])]
    colors = _colors(len(series))
    markers = "osD^vP*Xh<>"
    all_n = sorted(set(df["n_tasks"].astype(float)))
    lo_n, hi_n = (min(all_n), max(all_n)) if all_n else (2.0, 10.0)
    for i, s in enumerate(series):
        g = df[df["series"] == s].groupby("n_tasks")["time_total_s"].agg(["mean", "min", "max"])
        fit = fits.get(s)
        k = float(fit["exponent"]) if fit and fit.get("exponent") is not None else math.nan
        c = _fit_c(fit) if fit else None
        has_fit = math.isfinite(k) and c is not None and math.isfinite(c) and c > 0
        name = str(s)
        if has_fit:
            lo, hi = fit.get("ci_low"), fit.get("ci_high")
            ci = (f" [{float(lo):.2f}, {float(hi):.2f}]"
                  if lo is not None and hi is not None and math.isfinite(float(lo)) and math.isfinite(float(hi)) else "")
            name += f": t ∝ T^{k:.2f}{ci}"
        if not g.empty:
            x, m = g.index.to_numpy(dtype=float), g["mean"].to_numpy()
            yerr = np.vstack([m - g["min"].to_numpy(), g["max"].to_numpy() - m])
            ax.errorbar(x, m, yerr=yerr, color=colors[i], marker=markers[i % len(markers)], markersize=6, capsize=3,
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
                label="slope 2: quadratic (the seed's claim)")
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


# --- 7. the accuracy matrix -----------------------------------------------------------------------------

def accuracy_heatmap(R, ax: Axes | None = None, title: str = "Accuracy matrix R[i, j] (%)") -> Figure:
    """The T x T accuracy matrix as a heatmap, every cell annotated in % ("-" where NaN).

    One decimal up to 6 tasks, whole percents beyond.
    """
    M = np.asarray(R if R is not None else [], dtype=float)
    T = M.shape[0] if M.ndim == 2 else 0
    fig, ax = _axes(ax, (max(4.2, 0.6 * T + 2.2), max(3.6, 0.55 * T + 1.6)))
    if M.ndim != 2 or M.size == 0:
        return _no_data(ax, title)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    fontsize = 9 if max(M.shape) <= 8 else 7 if max(M.shape) <= 14 else 5
    digits = 1 if max(M.shape) <= 6 else 0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            v = M[i, j]
            text, color = ("-", "black") if not np.isfinite(v) else (f"{100 * v:.{digits}f}", "black" if v > 0.6 else "white")
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color=color)
    ax.set_xticks(range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]))
    ax.set_xlabel("evaluated on task j")
    ax.set_ylabel("after training task i")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_title(_wrap(title, 48), fontsize=10)
    cbar = _root(ax).colorbar(im, ax=ax, fraction=0.05, pad=0.03)
    cbar.ax.yaxis.set_major_formatter(_PCT)
    cbar.set_label("test accuracy")
    return fig


# --- 8. search history and parameter importances -----------------------------------------------------

_OBJECTIVE_METRICS = {"value": "final_avg_acc", "value_acc": "final_avg_acc", "value_time_s": "time_total_s"}


def optimization_history(trials, objective: str | None = None, direction: str | None = None,
                         stage: str | None = "search", ax: Axes | None = None, *, metric: str | None = None,
                         runs=None) -> Figure:
    """The objective of every complete trial by trial number, the best so far, and pruned trials.

    objective: a column of trials (default: "value" when filled, else "value_acc"); metric: the run
    metric it holds, shown as the y label and title (default: final_avg_acc for value / value_acc,
    time_total_s for value_time_s); direction: "maximize" or "minimize" (default: the metric's
    sense in metrics.METRIC_SENSE). Pruned trials are drawn with their own marker at the mean of
    the seeds they finished (their value, else ``runs``' metric for that trial); when neither is
    known, as a mark along the bottom edge.
    """
    fig, ax = _axes(ax)
    title = "Search history"
    df = _frame(trials)
    if df.empty:
        return _no_data(ax, title)
    if objective is None:
        objective = ("value" if "value" in df.columns and pd.to_numeric(df["value"], errors="coerce").notna().any()
                     else "value_acc")
    _require(df, ("number", objective), "optimization_history")
    metric = metric or _OBJECTIVE_METRICS.get(objective, objective)
    if direction is None:
        sense = METRIC_SENSE.get(metric)
        lower = sense.better == "lower" if sense else "time" in metric
        direction = "minimize" if lower else "maximize"
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    if stage is not None and "stage" in df.columns:
        df = df[df["stage"].astype(str) == stage]
    pruned = _pruned_values(df, objective, metric, runs, stage)
    df = _numeric(_complete(df, None), ("number", objective)).dropna(subset=["number", objective])
    df = df.sort_values("number")
    title = f"{title}: {metric}"
    if df.empty and pruned.empty:
        return _no_data(ax, title)
    x, y = df["number"].to_numpy(dtype=float), df[objective].to_numpy(dtype=float)
    if len(y):
        best = np.maximum.accumulate(y) if direction == "maximize" else np.minimum.accumulate(y)
        ax.scatter(x, y, s=20, color="tab:blue", alpha=0.75, linewidths=0, zorder=3,
                   label=f"complete ({_n(len(y), 'trial')})")
        ax.step(x, best, where="post", color="tab:red", linewidth=1.5, label=f"best so far ({direction[:3]})")
    known = pruned.dropna(subset=["y"])
    if len(known):
        ax.scatter(known["number"], known["y"], s=28, marker="x", color="tab:orange", linewidths=1.2, zorder=3,
                   label=f"pruned ({_n(len(known), 'trial')}, mean of the seeds it finished)")
    unknown = pruned[pruned["y"].isna()]
    if len(unknown):
        ax.scatter(unknown["number"], np.full(len(unknown), 0.02), s=28, marker="v", color="tab:orange", zorder=3,
                   transform=ax.get_xaxis_transform(), clip_on=False,
                   label=f"pruned ({_n(len(unknown), 'trial')}, no value)")
        numbers = np.concatenate([x, pruned["number"].to_numpy(dtype=float)])  # not autoscaled: axes y
        ax.set_xlim(numbers.min() - 0.5, numbers.max() + 0.5)
    values = np.concatenate([y, known["y"].to_numpy(dtype=float)])
    if "time" not in metric and len(values) and np.nanmin(values) >= 0 and np.nanmax(values) <= 1:
        ax.yaxis.set_major_formatter(_PCT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial number")
    ax.set_ylabel(metric)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def _pruned_values(trials: pd.DataFrame, objective: str, metric: str, runs, stage: str | None) -> pd.DataFrame:
    """number, y of the pruned trials: their own objective value, else the mean of their runs' metric."""
    if "state" not in trials.columns:
        return pd.DataFrame({"number": [], "y": []})
    p = _numeric(trials[trials["state"].astype(str) == "PRUNED"], ("number", objective)).dropna(subset=["number"])
    out = pd.DataFrame({"number": p["number"].to_numpy(dtype=float), "y": p[objective].to_numpy(dtype=float)})
    r = _frame(runs)
    if len(out) and not r.empty and {"trial", metric} <= set(r.columns):
        if stage is not None and "stage" in r.columns:
            r = r[r["stage"].astype(str) == stage]
        means = _numeric(r, ("trial", metric)).groupby("trial")[metric].mean()
        out["y"] = out["y"].fillna(out["number"].map(means))
    return out.sort_values("number")


PARAM_NAMES = {  # search-space parameters (studies/*.py) as a reader says them; others pass through
    "family": "replay schedule family",
    "size": "replay schedule size",
    "ratio": "replay ratio (proportional schedule)",
    "lr": "classifier learning rate",
    "lr_decay": "learning-rate decay per task",
    "lr_schedule": "learning-rate schedule within a task",
    "optimizer": "classifier optimizer",
    "strategy": "replay strategy",
    "vae_hidden": "VAE hidden widths",
    "latent": "VAE latent size",
}


def param_name(name: str) -> str:
    """A readable name for a search parameter: size_1 -> "replay size after task 1"; unknown names unchanged."""
    if name.startswith("size_") and name[5:].isdigit():
        return f"replay size after task {int(name[5:])}"
    return PARAM_NAMES.get(name, name)


def param_importances(importances: Mapping[str, float] | None, ax: Axes | None = None,
                      title: str = "Hyperparameter importances") -> Figure:
    """Horizontal bars, the most important parameter on top (e.g. optuna.importance output)."""
    items = [(param_name(str(k)), float(v)) for k, v in (importances or {}).items()
             if v is not None and math.isfinite(float(v))]
    # The most important on top; parameters shown as 0.00 (fANOVA gives 0 or float noise) by name.
    items.sort(key=lambda kv: (-kv[1] if round(kv[1], 2) != 0 else 0.0, kv[0]))
    fig, ax = _axes(ax, (SIZE[0], max(2.4, 1.2 + 0.4 * len(items))))
    if not items:
        return _no_data(ax, title)
    names, vals = [k for k, _ in items], np.array([v for _, v in items])
    y = np.arange(len(items))
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


# --- saving -----------------------------------------------------------------------------------------------

def _fresh_copy(fig: Figure) -> Figure:
    """An undrawn copy: the layout engine gives the same float positions only from the same state."""
    if getattr(fig.canvas, "manager", None) is not None:
        return fig  # a pyplot figure: unpickling it would open a new pyplot window
    try:
        return pickle.loads(pickle.dumps(fig))
    except Exception:  # an unpicklable artist added by the caller: draw the figure itself
        return fig


def _atomic_save(fig: Figure, path: Path, fmt: str, metadata: dict, dpi: float) -> None:
    fig = _fresh_copy(fig)
    fd, tmp = temp_file(path.parent, prefix=f".{path.name}.")  # an ordinary file's mode (umask)
    try:
        with os.fdopen(fd, "wb") as f:
            with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
                fig.savefig(f, format=fmt, dpi=dpi, metadata=metadata)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(fig: Figure, folder: str | Path, name: str, dpi: float = SAVE_DPI) -> list[Path]:
    """Write ``name.png`` and ``name.svg`` into folder, each whole or not at all.

    The files carry no date or software version, SVG ids come from a fixed salt, and each format
    is drawn from an undrawn copy of the figure (constrained layout moves things by a millionth of
    a pixel from one draw to the next), so saving the same figure twice gives byte-identical files.
    The figure itself is not drawn or changed.
    """
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"figure name must be a plain file name, got {name!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    _atomic_save(fig, png, "png", {"Software": None}, dpi)
    _atomic_save(fig, svg, "svg", {"Date": None, "Creator": None}, dpi)
    return [png, svg]


__all__ = [
    "accuracy_heatmap", "accuracy_vs_memory", "accuracy_vs_tasks", "attach_labels", "avg_acc_rows",
    "optimization_history", "param_importances", "param_name", "pareto_front", "pareto_mask", "phase_means", "phase_times",
    "save", "task_accuracy_curves", "time_series_key", "time_vs_tasks",
]
