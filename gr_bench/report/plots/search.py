"""Search figures: the optimisation history and the parameter importances."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import frames
from .common import SIZE, PercentTicks, metric_name, new_axes, no_data, plural, wrap

_LENGTHS = (("epochs", "epochs per task"), ("iters", "iterations per task"), ("vae_epochs", "generator"),
            ("vae_iters", "generator iterations"))


def _full_lengths(runs) -> dict[str, int]:
    """The training lengths the final stage ran at (its most common epochs, vae_epochs, iters and
    vae_iters): what a search trial's reduced fidelity is a share of."""
    df = frames.as_frame(runs)
    if df.empty or "stage" not in df:
        return {}
    final = df[df["stage"].astype(str) == "final"]
    out = {}
    for key, _ in _LENGTHS:
        if key in final:
            values = pd.to_numeric(final[key], errors="coerce").dropna()
            if len(values):
                out[key] = int(values.mode().iloc[0])
    return out


def _one_fidelity(text: str, full: Mapping[str, int]) -> str:
    """'epochs=2 vae_epochs=2' -> '2 of 10 epochs per task (generator: 2 of 10)'; 'full' -> full fidelity."""
    if text.strip() == "full":
        return "full fidelity (every epoch of every task)"
    pairs = dict(p.split("=", 1) for p in text.split() if "=" in p)
    shown = {}
    for key, name in _LENGTHS:
        if key in pairs:
            value = pairs[key]
            shown[key] = (f"{value} of {full[key]}" if key in full else value) + (
                f" {name}" if not key.startswith("vae") else "")
    main = [shown.pop(k) for k in ("epochs", "iters") if k in shown]
    extra = [f"{name}: {shown[k]}" for k, name in _LENGTHS if k in shown]
    if not main:
        return ", ".join(extra) or text
    return ", ".join(main) + (f" ({', '.join(extra)})" if extra else "")


def fidelity_note(trials, runs=None, stage: str | None = "search") -> str | None:
    """What a search trial's value is: 'search trials: validation split, 2 of 10 epochs per task
    (generator: 2 of 10)', from trials.csv's fidelity column (and the final stage's lengths in
    ``runs``); None where the trials carry no fidelity (a grid, an older export)."""
    df = frames.as_frame(trials)
    if df.empty or "fidelity" not in df:
        return None
    if stage is not None and "stage" in df:
        df = df[df["stage"].astype(str) == stage]
    values = [v for v in dict.fromkeys(df["fidelity"].dropna().astype(str)) if v.strip()]
    if not values:
        return None
    full = _full_lengths(runs)
    texts = [_one_fidelity(v, full) for v in values]
    return "search trials: validation split, " + "; ".join(texts[:2]) + ("; ..." if len(texts) > 2 else "")


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
    note = fidelity_note(df, runs, stage)
    title = f"{title}: {metric_name(metric)}"
    if note:
        title += "\n" + wrap(note, 80)
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
    percent = "time" not in metric and len(values) and np.nanmin(values) >= 0 and np.nanmax(values) <= 1
    if percent:  # decimals as the range needs: no two ticks read alike (11%, 11%)
        ax.yaxis.set_major_formatter(PercentTicks())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial number")
    unit = " (s)" if metric.endswith("_s") else ""
    ax.set_ylabel(metric_name(metric) + (", validation split" if note else "") + unit)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def param_importances(importances: Mapping[str, float] | None, ax: Axes | None = None,
                      title: str = "Hyperparameter importances", *, trials=None) -> Figure:
    """Horizontal bars, the most important parameter on top (e.g. optuna.importance output;
    frames.importance_frame), each with its value to two decimals ('<0.01' when smaller).

    Parameters of a conditional space that no trial or hardly any used (the replay sizes of a
    `manual` schedule family that was seldom drawn) get an importance of exactly 0: they are left out
    and named in the title, as are those no search trial in ``trials`` (trials.csv) has a value for."""
    importances = {str(k): v for k, v in (importances or {}).items()}
    unused = set()
    df = frames.as_frame(trials)
    if not df.empty:
        search = df[df["stage"].astype(str) == "search"] if "stage" in df else df
        unused = {k for k in importances if f"param_{k}" in search and search[f"param_{k}"].isna().all()}
    dropped = sorted(frames.param_name(k) for k, v in importances.items() if k in unused or v == 0)
    kept = {k: v for k, v in importances.items() if k not in unused and v != 0}
    imp = frames.importance_frame(kept)
    fig, ax = new_axes(ax, (SIZE[0], max(2.4, 1.6 + 0.4 * len(imp))))
    note = (wrap(f"Not shown, importance exactly 0 (conditional parameters that no or hardly any trial used): "
                 f"{_joined(dropped)}.", 60) if dropped else "")
    if imp.empty:
        fig = no_data(ax, title)
        if note:
            ax.set_xlabel(note, fontsize=8, loc="left")
        return fig
    names, vals = list(imp["parameter"]), imp["importance"].to_numpy(dtype=float)
    y = np.arange(len(imp))
    ax.barh(y, vals, height=0.6, color="tab:blue")
    vmax = float(vals.max()) if vals.max() > 0 else 1.0
    for yi, v in zip(y, vals):
        ax.text(v + 0.01 * vmax, yi, f"{v:.2f}" if abs(v) >= 0.005 else "<0.01", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, float(vals.min())), vmax * 1.15)
    ax.set_xlabel("importance" + (f"\n\n{note}" if note else ""), fontsize=10 if not note else 8)
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def _joined(names: list[str]) -> str:
    """Readable parameter names, the replay sizes after tasks 1, 2, 3 and 4 as one: 'replay sizes
    after tasks 1-4'."""
    sizes = sorted(int(n.rsplit(" ", 1)[1]) for n in names if n.startswith("replay size after task "))
    rest = [n for n in names if not n.startswith("replay size after task ")]
    if len(sizes) > 1 and sizes == list(range(sizes[0], sizes[-1] + 1)):
        rest.append(f"replay sizes after tasks {sizes[0]}-{sizes[-1]}")
    elif sizes:
        rest.append("replay size" + ("s" if len(sizes) > 1 else "") + " after task" + ("s" if len(sizes) > 1 else "")
                    + " " + ", ".join(map(str, sizes)))
    return ", ".join(rest)
