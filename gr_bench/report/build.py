"""A study's report, rebuilt from its stored rows: stats.csv, plots/ (PNG + SVG) and report.md.

Nothing here trains or reads the storage: callers pass the rows from export.collect.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import stats
from ..files import atomic_write_text, write_csv
from . import analysis, plots
from .study_tables import mean_sd

EXTRA_STATS_COLUMNS = ("cliffs_delta", "min_p", "underpowered", "test_secondary", "p_secondary")
MAX_LABELS = 6  # per-configuration figures drawn for at most this many configurations


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:60] or "config"


def mean_matrix(accuracy: pd.DataFrame, label: str) -> np.ndarray:
    """Mean over seeds of R[i, j] (last epoch of each task) for one configuration."""
    a = accuracy[(accuracy["label"] == label) & (accuracy["after_task"] >= 0)]
    last = a.groupby(["seed", "after_task"])["epoch"].transform("max") == a["epoch"]
    m = a[last].groupby(["after_task", "eval_task"])["acc"].mean().unstack("eval_task")
    return m.to_numpy()


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x: object, digits: int = 3) -> str:
    if isinstance(x, float):
        return "-" if math.isnan(x) else f"{x:.{digits}g}"
    return str(x)


def config_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds per configuration (for report.md)."""
    out = []
    for label, g in runs.groupby("label", sort=False):
        row = {"configuration": label, "n": len(g)}
        for col, name, scale in (("final_avg_acc", "final avg acc %", 100), ("avg_forgetting", "forgetting %", 100),
                                 ("time_total_s", "time s", 1)):
            row[name] = mean_sd(g[col].astype(float), scale)
        row["memory MiB"] = f"{g['memory_bytes'].astype(float).mean() / 2**20:.2f}"
        out.append(row)
    return pd.DataFrame(out).sort_values("final avg acc %", ascending=False, key=lambda s: s.str.split().str[0].astype(float))


def figures(kind: str, stage: str, trials: pd.DataFrame, runs: pd.DataFrame, accuracy: pd.DataFrame,
            fits: dict, importances: dict | None, multi: bool) -> list[tuple[str, str, object]]:
    """(file name, caption, figure) for every plot this study's data supports."""
    data = analysis.ok_runs(runs, stage)
    acc = accuracy[accuracy["stage"] == stage] if len(accuracy) else accuracy
    acc = plots.attach_labels(acc, runs[runs["stage"] == stage]) if len(acc) else acc
    labels = list(dict.fromkeys(data["label"]))[:MAX_LABELS] if len(data) else []
    out: list[tuple[str, str, object]] = []
    for label in labels:
        out.append((f"curves-{_slug(label)}", f"Accuracy of each task during training: {label} (the seed's Figure 1)",
                    plots.task_accuracy_curves(acc, label=label)))
    out.append(("accuracy-vs-tasks", "Average accuracy over the tasks seen so far (the seed's Figure 2)",
                plots.accuracy_vs_tasks(acc)))
    if len(data) and data["memory_bytes"].nunique() > 1:
        out.append(("accuracy-vs-memory", "Final accuracy against memory kept between tasks", plots.accuracy_vs_memory(data)))
    out.append(("phase-times", "Time per phase", plots.phase_times(data)))
    if fits:
        out.append(("time-vs-tasks", "Training time against number of tasks (log-log) with fitted exponents",
                    plots.time_vs_tasks(data, fits=fits)))
    for label in labels:
        if len(acc):
            out.append((f"heatmap-{_slug(label)}", f"Accuracy matrix, mean over seeds: {label}",
                        plots.accuracy_heatmap(mean_matrix(acc, label), title=f"R[i, j] (%): {label}")))
    if kind == "search":
        if multi:
            out.append(("pareto", "Validation accuracy against training time; Pareto front", plots.pareto_front(trials)))
        else:
            out.append(("optimization-history", "Optimisation history (search stage)", plots.optimization_history(trials)))
        if importances:
            out.append(("importances", "Parameter importances (search stage)", plots.param_importances(importances)))
    return out


def write_report(folder: Path, study_name: str, kind: str, reference: list[str], rows: dict[str, list[dict]],
                 *, importances: dict | None = None, multi: bool = False, alpha: float = 0.05,
                 min_effect: float = 0.01, seed: int = 0, manifest: dict | None = None) -> dict:
    """Write stats.csv, plots/ and report.md into `folder`; return the analysis."""
    trials, runs, accuracy = (pd.DataFrame(rows[k]) for k in ("trials", "runs", "accuracy"))
    result = analysis.analyse(study_name, kind, runs, reference, alpha=alpha, min_effect=min_effect, seed=seed) \
        if len(runs) else {"stage": "search", "pairs": [], "rows": [], "friedman": None, "fits": {}}
    write_csv(folder / "stats.csv", result["rows"], [*stats.FAMILY_KEYS, *EXTRA_STATS_COLUMNS])

    saved = []
    if len(runs):
        for name, caption, fig in figures(kind, result["stage"], trials, runs, accuracy, result["fits"], importances, multi):
            plots.save(fig, folder / "plots", name)
            saved.append((name, caption))

    md = [f"# {study_name}\n"]
    if manifest:
        md.append(f"Command: `{manifest.get('command', '')}`  \nDatasets: {', '.join(manifest.get('datasets', []))}  \n"
                  f"git {manifest.get('git_sha', '')}; storage `{manifest.get('storage', '')}`\n")
    md.append(f"## Verdicts ({result['stage']} stage, paired by seed, Holm across each metric's family, "
              f"alpha {alpha}, practical minimum {100 * min_effect:g} accuracy points)\n")
    md += [f"- {line}" for line in analysis.verdict_lines(result)] or ["- no comparison (fewer than two configurations)"]
    md.append("\n## Statistics (stats.csv)\n")
    cols = ["metric", "a", "b", "n_a", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "test", "p_value", "p_holm",
            "effect_size", "effect_kind", "prob_improvement", "verdict"]
    md.append(_md_table(pd.DataFrame([{c: _fmt(r[c]) for c in cols} for r in result["rows"]], columns=cols)))
    fried = result["friedman"]
    if fried:
        md.append(f"\nFriedman test across {len(fried.get('labels', []))} configurations on {fried.get('n_seeds')} seeds: "
                  f"statistic {_fmt(fried.get('statistic'))}, p {_fmt(fried.get('p_value'))} {fried.get('reason') or ''}\n")
    for family, fit in result["fits"].items():
        md.append(f"\nTime ~ T^k for `{family}`: k = {_fmt(fit['exponent'])} (95% CI {_fmt(fit['ci_low'])} to "
                  f"{_fmt(fit['ci_high'])}, n={fit['n']}); quadratic (k = 2) "
                  f"{'inside' if fit['consistent_with_expected'] else 'outside'} the CI.\n")
    if len(runs):
        md.append(f"\n## Configurations ({result['stage']} stage, mean ± sd over seeds)\n")
        md.append(_md_table(config_summary(analysis.ok_runs(runs, result["stage"]))))
    md.append("\n## Figures\n")
    md += [f"### {caption}\n\n![{caption}](plots/{name}.png)\n" for name, caption in saved]
    atomic_write_text(folder / "report.md", "\n".join(md) + "\n")
    return result
