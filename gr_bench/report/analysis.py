"""Which comparisons a study asks, and their statistics, from its stored runs (no training).

Comparisons are paired by seed: every configuration of a study runs on the same seeds. Each study
states its question as pairs against an anchor:
- grids: every configuration against the study's declared anchor (the generator study: the seed's
  VAE), else generative replay (the method under test), else the best configuration; a Friedman
  test across all;
- searches: each re-evaluated best configuration against the reference on the test split;
- task_scaling: a power-law fit of training time against the number of tasks per schedule,
  against the seed report's predicted quadratic growth.
"""

from __future__ import annotations

import re

import pandas as pd

from .. import stats

METRICS = {  # metric -> (higher is better, practical minimum difference or None for --min-effect)
    "final_avg_acc": (True, None),
    "avg_forgetting": (False, None),
    "time_total_s": (False, 0.0),
}


def ok_runs(runs: pd.DataFrame, stage: str) -> pd.DataFrame:
    if runs.empty:
        return runs
    return runs[(runs["stage"] == stage) & (runs["status"] == "ok")]


def _anchor(runs: pd.DataFrame) -> str:
    labels = list(dict.fromkeys(runs["label"]))
    gen = [l for l in labels if l == "generative"] or [l for l in labels if "generative" in l]
    if gen:
        return gen[0]
    return str(runs.groupby("label")["final_avg_acc"].mean().idxmax())


def comparison_pairs(kind: str, runs: pd.DataFrame, reference: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """The stage whose runs are compared, and the (a, b) pairs: a is the configuration in question."""
    if kind == "search":
        final = ok_runs(runs, "final")
        labels = list(dict.fromkeys(final["label"])) if len(final) else []
        refs = [r for r in reference if r in labels]
        return "final", [(l, r) for r in refs for l in labels if l not in refs]
    search = ok_runs(runs, "search")
    if search.empty:
        return "search", []
    labels = list(dict.fromkeys(search["label"]))
    declared = next((r for r in reference if r in labels), None)
    if declared:  # a reference: each other configuration is the one in question
        return "search", [(l, declared) for l in labels if l != declared]
    anchor = _anchor(search)
    return "search", [(anchor, l) for l in labels if l != anchor]


def analyse(study: str, kind: str, runs: pd.DataFrame, reference: list[str], *, alpha: float = 0.05,
            min_effect: float = 0.01, seed: int = 0) -> dict:
    """stats.csv rows for every metric, the Friedman test, and power-law fits where they apply."""
    stage, pairs = comparison_pairs(kind, runs, reference)
    data = ok_runs(runs, stage)
    rows: list[dict] = []
    for metric, (higher_better, fixed_min) in METRICS.items():
        if pairs and metric in data:
            family = stats.compare_family(data[["label", "seed", metric]], pairs, metric=metric, study=study,
                                          paired=True, alpha=alpha, seed=seed,
                                          min_effect=min_effect if fixed_min is None else fixed_min)
            if not higher_better:  # less forgetting, less time: a negative difference is the better one
                for r in family:
                    r["verdict"] = {"better": "worse", "worse": "better"}.get(r["verdict"], r["verdict"])
            rows += family
    labels = list(dict.fromkeys(data["label"])) if len(data) else []
    fried = stats.friedman(data, metric="final_avg_acc", labels=labels, alpha=alpha, seed=seed,
                           min_effect=min_effect, study=study) if len(labels) >= 3 else None
    return {"stage": stage, "pairs": pairs, "rows": rows, "friedman": fried, "fits": power_law_fits(runs)}


def _schedule_family(schedule: str) -> str:
    return re.split(r"[:]", str(schedule))[0]


def power_law_fits(runs: pd.DataFrame, expected: float = 2.0) -> dict[str, dict]:
    """Per schedule family: time_total_s ~ c * n_tasks**k, when the runs vary n_tasks."""
    data = ok_runs(runs, "search")
    if data.empty or "n_tasks" not in data or data["n_tasks"].nunique() < 3:
        return {}
    fits = {}
    for family, g in data.groupby(data["schedule"].map(_schedule_family)):
        fits[family] = stats.power_law_fit(g["n_tasks"].astype(float), g["time_total_s"].astype(float),
                                           expected=expected)
    return fits


ANSWERS = {"better": "yes", "worse": "no", "negligible": "no (real but below the practical minimum)",
           "no evidence": "no evidence", "underpowered": "can't tell"}


def verdict_lines(result: dict) -> list[str]:
    """Plain answers for the headline metric, e.g. 'generative beats buffer-equal-bytes on
    final_avg_acc: no (generative vs buffer-equal-bytes: worse (diff -1.2 points, ...))'."""
    return [f"{row['a']} beats {row['b']} on {row['metric']}: {ANSWERS.get(row['verdict'], row['verdict'])} "
            f"({stats.sentence(row, row['a'], row['b'])})"
            for row in result["rows"] if row["metric"] == "final_avg_acc"]
