"""Continual-learning metrics as pure functions of the accuracy matrix.

``R[i, j]`` is the test accuracy on task ``j`` after training task ``i`` (T x T, every task
evaluated after every task, so the upper triangle holds accuracies on tasks not yet trained).
``b[j]`` is the accuracy of the randomly initialised model on task ``j`` (for forward transfer).
:data:`METRIC_SENSE` says, for every stored run metric, which way is better and in what unit it is shown.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def _matrix(R) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] == 0:
        raise ValueError(f"accuracy matrix must be square T x T, got shape {R.shape}")
    return R


def avg_acc_seen(row, i: int) -> float:
    """Average accuracy after task i from its row of R (the accuracy on every task after training
    task i): the mean of row[0..i], the tasks seen so far. For callers that hold one row at a time
    (a progress bar, a pruner's intermediate value); :func:`avg_acc_after` applies it to every row."""
    row = np.asarray(row, dtype=float)
    if row.ndim != 1 or not 0 <= i < row.shape[0]:
        raise ValueError(f"need a row of accuracies with task {i} in it, got shape {row.shape}")
    return float(row[: i + 1].mean())


def avg_acc_after(R) -> np.ndarray:
    """Average accuracy after each task i: mean of R[i, 0..i] (the seed's Figure 2)."""
    R = _matrix(R)
    return np.array([avg_acc_seen(R[i], i) for i in range(R.shape[0])])


def final_avg_acc(R) -> float:
    """Mean of the last row: accuracy over all tasks at the end of training."""
    return float(_matrix(R)[-1].mean())


def forgetting(R) -> np.ndarray:
    """Forgetting of each task j < T-1 (Chaudhry et al. 2018).

    f_j = max over i in [j, T-2] of R[i, j]  -  R[T-1, j]

    the best accuracy the task ever had after it was trained, before the last task, minus its
    final accuracy. Rows before task j was trained do not count. The last task has none.
    """
    R = _matrix(R)
    T = R.shape[0]
    return np.array([R[j : T - 1, j].max() - R[T - 1, j] for j in range(T - 1)])


def avg_forgetting(R) -> float:
    """Mean forgetting over tasks 0..T-2 (0.0 for a single task)."""
    f = forgetting(R)
    return float(f.mean()) if f.size else 0.0


def bwt(R) -> float:
    """Backward transfer (Lopez-Paz & Ranzato 2017): mean over j < T-1 of R[T-1, j] - R[j, j].

    Negative values are forgetting measured from the accuracy right after training the task.
    """
    R = _matrix(R)
    T = R.shape[0]
    if T < 2:
        return 0.0
    return float(np.mean([R[T - 1, j] - R[j, j] for j in range(T - 1)]))


def fwt(R, b) -> float:
    """Forward transfer (Lopez-Paz & Ranzato 2017): mean over j >= 1 of R[j-1, j] - b[j].

    The accuracy on task j just before training it, against a randomly initialised model's.
    """
    R = _matrix(R)
    b = np.asarray(b, dtype=float)
    T = R.shape[0]
    if b.shape != (T,):
        raise ValueError(f"b must have one accuracy per task ({T}), got shape {b.shape}")
    if T < 2:
        return 0.0
    return float(np.mean([R[j - 1, j] - b[j] for j in range(1, T)]))


def summary(R, b) -> dict[str, float]:
    """The scalar metrics stored with every run."""
    return {
        "final_avg_acc": final_avg_acc(R),
        "avg_forgetting": avg_forgetting(R),
        "bwt": bwt(R),
        "fwt": fwt(R, b),
    }


class MetricSense(NamedTuple):
    """Which way a stored metric improves, and how to show it: ``value * scale`` in ``unit``."""

    better: str  # "higher" or "lower"
    unit: str  # the unit of the shown value (and of a shown difference)
    scale: float  # stored value -> shown value


_POINTS = MetricSense("higher", "points", 100.0)  # accuracies are stored as fractions, shown in points
_SECONDS = MetricSense("lower", "s", 1.0)
_MIB = MetricSense("lower", "MiB", 1.0 / 2**20)

# The run metrics a comparison may be asked about (runs.csv columns), one source for every report.
METRIC_SENSE: dict[str, MetricSense] = {
    "final_avg_acc": _POINTS,
    "avg_forgetting": _POINTS._replace(better="lower"),  # less forgetting is better
    "bwt": _POINTS,  # backward transfer: negative is forgetting, so higher is better
    "fwt": _POINTS,
    "time_total_s": _SECONDS,
    "time_generator_s": _SECONDS,
    "time_replay_s": _SECONDS,
    "time_classifier_s": _SECONDS,
    "time_eval_s": _SECONDS,
    "cpu_s": _SECONDS,  # process CPU seconds: less sensitive to other load than wall time
    "flops_train": MetricSense("lower", "GFLOP", 1e-9),  # training matmul FLOPs: free of machine load
    "memory_bytes": _MIB,
    "peak_rss_bytes": _MIB,
}
