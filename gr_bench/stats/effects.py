"""Effect sizes of a difference (Cohen's d, the dominance deltas, the probability of improvement),
and a row read in its metric's sense (orient)."""

from __future__ import annotations

import math

import numpy as np

from .intervals import _clean, _constant, _pooled_sd


def cliffs_delta(a, b) -> float:
    """Unpaired Cliff's delta: ``(#(a_i > b_j) - #(a_i < b_j)) / (n_a n_b)`` over all pairs, in
    [-1, 1]. For independent samples only; paired designs use paired_delta."""
    a, b = _clean(a), _clean(b)
    if not len(a) or not len(b):
        return math.nan
    sign = np.sign(a[:, None] - b[None, :])
    return float(sign.sum() / sign.size)


def paired_delta(a, b) -> float:
    """Paired analogue of Cliff's delta: ``(#(a_i > b_i) - #(a_i < b_i)) / n`` over the pairs,
    i.e. the share of seeds where a wins minus the share where b wins, in [-1, 1]."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    return float(np.sign(d).mean()) if d.size else math.nan


def prob_improvement(a, b, *, paired: bool) -> float:
    """Paired: mean_i [a_i > b_i] + ½[a_i = b_i]. Unpaired: P(X > Y) + ½ P(X = Y), all pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        keep = ~(np.isnan(a) | np.isnan(b))
        d = a[keep] - b[keep]
    else:
        d = (_clean(a)[:, None] - _clean(b)[None, :]).ravel()
    return float(np.mean((d > 0) + 0.5 * (d == 0))) if d.size else math.nan


def orient(row: dict, better: str) -> dict:
    """Make a compare_pair() row read in its metric's sense, in place. For a lower-is-better metric
    (time, memory, forgetting) a smaller ``a`` is the improvement: the verdict swaps better/worse,
    ``prob_improvement`` becomes P(a < b) + ½P(a = b), and the dominance deltas (``paired_delta``,
    ``cliffs_delta``: "share where a is larger") change sign. ``diff``, the CI and the effect
    size stay a - b, in the metric's own direction."""
    if better == "lower":
        row["verdict"] = {"better": "worse", "worse": "better"}.get(row["verdict"], row["verdict"])
        row["prob_improvement"] = 1.0 - row["prob_improvement"]  # NaN stays NaN
        for key in ("paired_delta", "cliffs_delta"):
            row[key] = -row[key]
    return row


def cohens_d(a, b, *, paired: bool) -> tuple[float, str]:
    """Paired: ``d_z = mean(a - b) / sd(a - b)``. Unpaired: ``d = (mean_a - mean_b) / s_pooled``
    with ``s_pooled² = ((n_a-1)s_a² + (n_b-1)s_b²) / (n_a + n_b - 2)``.
    NaN when the sd is 0 or n < 2."""
    if paired:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        d = (a - b)[~(np.isnan(a) | np.isnan(b))]
        sd = d.std(ddof=1) if len(d) >= 2 and not _constant(d) else 0.0
        return (float(d.mean() / sd) if sd > 0 else math.nan), "d_z"
    a, b = _clean(a), _clean(b)
    if len(a) < 2 or len(b) < 2:
        return math.nan, "d"
    pooled = _pooled_sd(a, b)
    return (float((a.mean() - b.mean()) / pooled) if pooled > 0 else math.nan), "d"
