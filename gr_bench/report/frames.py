"""Tidy frames for the figures, from exported study data (see export.collect): pure pandas, no drawing.

Every builder takes plain data (a DataFrame, or a list of row dicts as export.collect returns
them, or None) and returns a DataFrame, empty when there is nothing to show; NaNs are skipped.
report.plots draws these frames and computes nothing of its own.

Input shapes:
- ``accuracy``: long format, columns label, seed, after_task, eval_task, epoch, acc (0..1); the
  untrained model is after_task -1, epoch 0; epochs are 1..E within each task. The study export's
  accuracy.csv has no label column: :func:`attach_labels` adds it from runs.csv.
- ``runs``: one row per (configuration, seed): label, seed, strategy, final_avg_acc, time_*_s,
  memory_bytes, n_tasks, schedule, status, started_at, ... Rows whose status is not "ok" are left out.
- ``trials``: stage, number, state, value_acc, value_time_s (or value), label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import metrics
from ..errors import ConfigError
from ..paired_comparisons import interleaved, restored_generator  # noqa: F401  (frames.interleaved, frames.restored_generator)
from ..plugins import BUILTIN_STRATEGIES

PHASES = ("generator", "replay", "classifier", "eval")  # trainer.PHASES (not imported: no torch here)
ACCURACY_COLUMNS = ("after_task", "eval_task", "epoch", "acc")


# --- input ----------------------------------------------------------------------------------------

def as_frame(data) -> pd.DataFrame:
    if data is None:
        return pd.DataFrame()
    return data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))


def require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {', '.join(missing)}; it has {', '.join(map(str, df.columns))}")


def checked(data, columns: Sequence[str], what: str) -> pd.DataFrame:
    """The data as a frame: empty when there is none, otherwise checked to have `columns`."""
    df = as_frame(data)
    if not df.empty:
        require(df, columns, what)
    return df


def numeric(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    df = df.copy()
    for c in columns:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def ok_rows(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"].astype(str) == "ok"] if "status" in runs.columns else runs


def config_labels(df: pd.DataFrame) -> pd.Series:
    """The configuration of each row: the label column, or one group when there is none."""
    if "label" in df.columns:
        return df["label"].fillna("").astype(str)
    return pd.Series("all", index=df.index)


def first_seen(values: pd.Series) -> list:
    """Distinct values in order of first appearance (the caller's order, deterministic)."""
    return list(dict.fromkeys(values.tolist()))


def seed_sd(x: pd.Series) -> float:
    """Standard deviation over seeds (ddof=1); 0 for a single seed."""
    x = x.dropna()
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def attach_labels(accuracy, runs) -> pd.DataFrame:
    """accuracy.csv rows with the label of their run from runs.csv (joined on stage, trial,
    final_trial and seed: a search or grid row has a trial number, a final-stage row a final_trial)."""
    acc, runs = as_frame(accuracy), as_frame(runs)
    keys = [k for k in ("stage", "trial", "final_trial", "seed") if k in acc.columns and k in runs.columns]
    if acc.empty or runs.empty or not keys or "label" not in runs.columns:
        return acc
    lab = runs[[*keys, "label"]].drop_duplicates(keys)
    return acc.drop(columns=["label"], errors="ignore").merge(lab, on=keys, how="left")


# --- accuracy ---------------------------------------------------------------------------------------

def accuracy_rows(accuracy, what: str = "accuracy") -> pd.DataFrame:
    """Accuracy rows checked and made numeric, with a label (one group "all" without one) and a
    seed (0 without one)."""
    df = checked(accuracy, ACCURACY_COLUMNS, what)
    if df.empty:
        return df
    df = numeric(df.assign(label=config_labels(df)), ACCURACY_COLUMNS)
    if "seed" not in df.columns:
        df["seed"] = 0
    return df


def _last_epoch(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows at the last epoch of each task (of each group of `keys`)."""
    return df[df["epoch"] == df.groupby(keys, sort=False)["epoch"].transform("max")]


def _cells(df: pd.DataFrame) -> pd.DataFrame:
    """R[i, j] (rows after_task, columns eval_task) from last-epoch rows, averaged over their runs."""
    return df.groupby(["after_task", "eval_task"])["acc"].mean().unstack("eval_task")


def mean_matrix(accuracy: pd.DataFrame, label: str) -> np.ndarray:
    """Mean over seeds of R[i, j] (last epoch of each task) for one configuration."""
    a = accuracy[(accuracy["label"] == label) & (accuracy["after_task"] >= 0)]
    return _cells(_last_epoch(a, ["seed", "after_task"])).to_numpy()


def task_curves(df: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """One configuration's accuracy on each task by global epoch, from :func:`accuracy_rows`:
    eval_task, x, mean, min, max over seeds, where x = t*E + e for task t, epoch e (x = 0 the
    untrained model); with E, the epochs per task, and T, the number of tasks. Nothing trained:
    an empty frame and E = T = 0."""
    trained = df[df["after_task"] >= 0]
    if trained.empty or df["acc"].notna().sum() == 0:
        return pd.DataFrame(columns=["eval_task", "x", "mean", "min", "max"]), 0, 0
    E = int(trained["epoch"].max())
    T = int(max(trained["after_task"].max(), df["eval_task"].max())) + 1
    df = df.assign(x=np.where(df["after_task"] < 0, 0, df["after_task"].clip(lower=0) * E + df["epoch"]))
    curves = df.groupby(["eval_task", "x"])["acc"].agg(["mean", "min", "max"]).dropna(subset=["mean"])
    return curves.reset_index(), E, T


def avg_acc_rows(accuracy) -> pd.DataFrame:
    """Per (label, seed, after_task): the average accuracy over the tasks seen so far,
    metrics.avg_acc_after of the run's R at the last epoch of each task (a task whose row misses a
    seen task's accuracy has none)."""
    columns = ["label", "seed", "after_task", "avg_acc"]
    df = accuracy_rows(accuracy, "accuracy_vs_tasks")
    if not df.empty:
        df = df.dropna(subset=["after_task", "eval_task", "epoch"])
        df = df[df["after_task"] >= 0].astype({"after_task": int, "eval_task": int})
    if df.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for (label, seed), run in _last_epoch(df, ["label", "seed", "after_task"]).groupby(["label", "seed"], sort=False):
        T = max(run["after_task"].max(), run["eval_task"].max()) + 1
        avg = metrics.avg_acc_after(_cells(run).reindex(index=range(T), columns=range(T)).to_numpy())
        out += [(label, seed, i, avg[i]) for i in sorted(set(run["after_task"]))]
    return pd.DataFrame(out, columns=columns).dropna(subset=["avg_acc"])


def avg_acc_curves(accuracy) -> pd.DataFrame:
    """Per (label, after_task), labels in order of appearance: mean, sd and n over seeds of
    :func:`avg_acc_rows`."""
    rows = avg_acc_rows(accuracy)
    parts = []
    for label in first_seen(rows["label"]):
        g = rows[rows["label"] == label].groupby("after_task")["avg_acc"]
        part = pd.DataFrame({"mean": g.mean(), "sd": g.agg(seed_sd), "n": g.count()}).reset_index()
        parts.append(part.assign(label=label))
    if not parts:
        return pd.DataFrame(columns=["label", "after_task", "mean", "sd", "n"])
    return pd.concat(parts, ignore_index=True)[["label", "after_task", "mean", "sd", "n"]]


# --- accuracy against memory and cost -------------------------------------------------------------

def replay_kind(label: str, strategy: str) -> str:
    """buffer, generative, or the strategy (or label) of a reference such as none or joint: what the
    strategy's class says it replays (strategies.base.NoMemory's attributes, a plug-in's too), or, in
    rows that name no strategy, what the label says."""
    s, lab = strategy.lower(), label.lower()
    if not s:
        return "generative" if "generative" in lab else "buffer" if lab.startswith("buffer") else lab
    from ..strategies import strategy_class  # torch: only when a frame asks

    try:
        cls = strategy_class(s if s in BUILTIN_STRATEGIES else strategy)
    except ConfigError:  # a plug-in that cannot be found or imported here: a reference by its name
        return s
    if getattr(cls, "replays_generated", False):
        return "generative"
    return "buffer" if getattr(cls, "stores_samples", False) else s


def memory_points(runs) -> pd.DataFrame:
    """Per configuration: label, acc (mean final_avg_acc), sd, n, mem (mean memory_bytes),
    strategy, kind (:func:`replay_kind`), mib."""
    df = checked(runs, ("final_avg_acc", "memory_bytes"), "accuracy_vs_memory")
    if not df.empty:
        df = numeric(ok_rows(df), ("final_avg_acc", "memory_bytes"))
        strategy = df["strategy"].fillna("").astype(str) if "strategy" in df.columns else ""
        df = df.assign(label=config_labels(df), strategy=strategy).dropna(subset=["final_avg_acc"])
    if df.empty:
        return pd.DataFrame(columns=["label", "acc", "sd", "n", "mem", "strategy", "kind", "mib"])
    g = df.groupby("label", sort=False).agg(acc=("final_avg_acc", "mean"), sd=("final_avg_acc", seed_sd),
                                            n=("final_avg_acc", "count"), mem=("memory_bytes", "mean"),
                                            strategy=("strategy", "first")).reset_index()
    g["kind"] = [replay_kind(lab, s) for lab, s in zip(g["label"], g["strategy"])]
    g["mib"] = g["mem"] / 2**20
    return g


def pareto_mask(acc: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """True where no other point has at least the accuracy and at most the cost, and is better in one.

    The one Pareto front of frames (search trials by accuracy and time, configurations by
    accuracy and FLOPs); code that holds Optuna trials asks the study's best_trials, the same front."""
    a, t = np.asarray(acc, dtype=float), np.asarray(cost, dtype=float)
    mask = np.zeros(len(a), dtype=bool)
    for i in range(len(a)):
        dominated = (a >= a[i]) & (t <= t[i]) & ((a > a[i]) | (t < t[i]))
        mask[i] = not dominated.any()
    return mask


def cost_points(runs, cost: str = "flops_train") -> pd.DataFrame:
    """Per configuration with a positive mean cost: label, acc (mean final_avg_acc), sd, cost
    (mean, stored unit), pareto (on the front of accuracy against cost)."""
    df = checked(runs, ("final_avg_acc", cost), "accuracy_vs_cost")
    if not df.empty:
        df = numeric(ok_rows(df), ("final_avg_acc", cost)).dropna(subset=["final_avg_acc", cost])
    if df.empty:
        return pd.DataFrame(columns=["label", "acc", "sd", "cost", "pareto"])
    df = df.assign(label=config_labels(df))
    g = df.groupby("label", sort=False).agg(acc=("final_avg_acc", "mean"), sd=("final_avg_acc", seed_sd),
                                            cost=(cost, "mean")).reset_index()
    g = g[g["cost"] > 0]
    return g.assign(pareto=pareto_mask(g["acc"], g["cost"]))


# --- search trials -----------------------------------------------------------------------------------

def complete_trials(trials: pd.DataFrame, stage: str | None) -> pd.DataFrame:
    if "state" in trials.columns:
        trials = trials[trials["state"].astype(str) == "COMPLETE"]
    if stage is not None and "stage" in trials.columns:
        trials = trials[trials["stage"].astype(str) == stage]
    return trials


def pareto_trials(trials, stage: str | None = "search") -> pd.DataFrame:
    """The complete trials of `stage` with both objectives, value_acc and value_time_s numeric, and
    pareto: on the front (high accuracy, low time)."""
    df = checked(trials, ("value_acc", "value_time_s"), "pareto_front")
    if df.empty:
        return df
    df = numeric(complete_trials(df, stage), ("value_acc", "value_time_s")).dropna(subset=["value_acc", "value_time_s"])
    return df.assign(pareto=pareto_mask(df["value_acc"], df["value_time_s"]))


OBJECTIVE_METRICS = {"value": "final_avg_acc", "value_acc": "final_avg_acc", "value_time_s": "time_total_s"}


def default_objective(trials: pd.DataFrame) -> str:
    """"value" when any trial has one, else "value_acc"."""
    if "value" in trials.columns and pd.to_numeric(trials["value"], errors="coerce").notna().any():
        return "value"
    return "value_acc"


def metric_direction(metric: str) -> str:
    """"minimize" or "maximize": the metric's sense in metrics.METRIC_SENSE (unknown: by its name)."""
    sense = metrics.METRIC_SENSE.get(metric)
    lower = sense.better == "lower" if sense else "time" in metric
    return "minimize" if lower else "maximize"


def search_history(trials: pd.DataFrame, objective: str, metric: str, direction: str = "maximize",
                   stage: str | None = "search", runs=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The complete trials (number, value, best: the best so far, by number) and the pruned ones
    (number, y: their own objective value, else the mean of the seeds they finished, runs' metric)."""
    if stage is not None and "stage" in trials.columns:
        trials = trials[trials["stage"].astype(str) == stage]
    pruned = _pruned_values(trials, objective, metric, runs, stage)
    df = numeric(complete_trials(trials, None), ("number", objective)).dropna(subset=["number", objective])
    df = df.sort_values("number")
    y = df[objective].to_numpy(dtype=float)
    best = (np.maximum.accumulate(y) if direction == "maximize" else np.minimum.accumulate(y)) if len(y) else y
    complete = pd.DataFrame({"number": df["number"].to_numpy(dtype=float), "value": y, "best": best})
    return complete, pruned


def _pruned_values(trials: pd.DataFrame, objective: str, metric: str, runs, stage: str | None) -> pd.DataFrame:
    if "state" not in trials.columns:
        return pd.DataFrame({"number": [], "y": []})
    p = numeric(trials[trials["state"].astype(str) == "PRUNED"], ("number", objective)).dropna(subset=["number"])
    out = pd.DataFrame({"number": p["number"].to_numpy(dtype=float), "y": p[objective].to_numpy(dtype=float)})
    r = as_frame(runs)
    if len(out) and not r.empty and {"trial", metric} <= set(r.columns):
        if stage is not None and "stage" in r.columns:
            r = r[r["stage"].astype(str) == stage]
        means = numeric(r, ("trial", metric)).groupby("trial")[metric].mean()
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


def importance_frame(importances: Mapping[str, float] | None) -> pd.DataFrame:
    """parameter (readable name), importance: the finite ones, the most important first;
    parameters shown as 0.00 (fANOVA gives 0 or float noise) by name."""
    items = [(param_name(str(k)), float(v)) for k, v in (importances or {}).items()
             if v is not None and math.isfinite(float(v))]
    items.sort(key=lambda kv: (-kv[1] if round(kv[1], 2) != 0 else 0.0, kv[0]))
    return pd.DataFrame(items, columns=["parameter", "importance"])


# --- time -------------------------------------------------------------------------------------------------

def phase_means(runs) -> pd.DataFrame:
    """Mean seconds per configuration of each phase, and "other" = total minus the phases (>= 0)."""
    df = ok_rows(as_frame(runs))
    cols = [f"time_{p}_s" for p in PHASES]
    if df.empty:
        return pd.DataFrame(columns=[*PHASES, "other", "total"])
    df = df.assign(label=config_labels(df))
    for c in (*cols, "time_total_s"):
        df[c] = pd.to_numeric(df[c], errors="coerce") if c in df.columns else np.nan
    m = df.groupby("label", sort=False)[[*cols, "time_total_s"]].mean()
    out = m[cols].fillna(0.0).clip(lower=0.0).set_axis(list(PHASES), axis=1)
    total = m["time_total_s"].fillna(out.sum(axis=1))
    out["other"] = (total - out.sum(axis=1)).clip(lower=0.0)
    out["total"] = out[[*PHASES, "other"]].sum(axis=1)
    return out


def schedule_family(schedule) -> str:
    """"linear" for linear:1000; "?" for none."""
    s = "" if schedule is None or (isinstance(schedule, float) and math.isnan(schedule)) else str(schedule)
    return s.split(":", 1)[0] or "?"


def time_series_key(runs, by: str = "schedule") -> pd.Series:
    """The series name of each run in plots.time_vs_tasks (the keys its ``fits`` are matched against).

    by="schedule": the schedule family (:func:`schedule_family`, as report.analysis.power_law_fits
    keys its fits); without a schedule column, the label. Any other column: its values.
    """
    df = as_frame(runs)
    if by == "schedule" and "schedule" in df.columns:
        return df["schedule"].map(schedule_family)
    if by == "schedule" or by not in df.columns:
        return config_labels(df)
    return df[by].fillna("").astype(str)


def scaling_runs(runs, by: str = "schedule") -> pd.DataFrame:
    """The successful runs with a positive n_tasks and time_total_s, numeric, with their series."""
    df = checked(runs, ("n_tasks", "time_total_s"), "time_vs_tasks")
    if df.empty:
        return df
    df = ok_rows(df)
    df = numeric(df.assign(series=time_series_key(df, by)), ("n_tasks", "time_total_s"))
    return df[(df["n_tasks"] > 0) & (df["time_total_s"] > 0)]


def scaling_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per (series, n_tasks) of :func:`scaling_runs`: mean, min and max of time_total_s."""
    if df.empty:
        return pd.DataFrame(columns=["series", "n_tasks", "mean", "min", "max"])
    return df.groupby(["series", "n_tasks"])["time_total_s"].agg(["mean", "min", "max"]).reset_index()


# --- when runs ran ----------------------------------------------------------------------------------

# interleaved and restored_generator live in paired_comparisons.py (below study: a --sequential look uses them)
