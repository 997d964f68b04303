"""report.md's figures: which plots a study's data supports, drawn into plots/ (PNG + SVG)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from . import frames, plots
from .analysis import Analysis, ok_runs
from .inputs import StudyRows

MAX_LABELS = 6  # per-configuration figures drawn for at most this many configurations

# A figure added from outside the built-ins: name -> figure(rows, result) returning (caption, draw)
# when the study's data supports it, else None. Register with @register_figure("name").
FigureMaker = Callable[[StudyRows, Analysis], "tuple[str, Callable[[], object]] | None"]
REGISTERED: dict[str, FigureMaker] = {}


def register_figure(name: str) -> Callable[[FigureMaker], FigureMaker]:
    """Add a figure to every report whose data supports it, after the built-in ones: the decorated
    function gets the study's rows and analysis and returns (caption, draw) or None; draw() returns a
    matplotlib figure, saved as plots/NAME.png and .svg and listed in report.md."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"a figure's name is its file name: letters, digits, '_', '.', '-' (got {name!r})")

    def add(maker: FigureMaker) -> FigureMaker:
        REGISTERED[name] = maker
        return maker

    return add


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:60] or "config"


def figures(rows: StudyRows, result: Analysis, *, importances: dict | None = None,
            multi: bool = False) -> list[tuple[str, str, Callable[[], object]]]:
    """(file name, caption, draw) for every plot this study's data supports at the analysed stage;
    draw() makes the figure (report.md lists the same figures whether or not they are drawn). A
    search's manifest adds its parameter ``importances`` or, ``multi``-objective, its Pareto front."""
    trials, runs, accuracy, stage, fits = rows.trials, rows.runs, rows.accuracy, result.stage, result.fits
    data = ok_runs(runs, stage)
    acc = accuracy[accuracy["stage"] == stage] if len(accuracy) else accuracy
    acc = frames.attach_labels(acc, runs[runs["stage"] == stage]) if len(acc) else acc
    labels = list(dict.fromkeys(data["label"]))[:MAX_LABELS] if len(data) else []
    out: list[tuple[str, str, Callable[[], object]]] = []
    for label in labels:
        out.append((f"curves-{_slug(label)}",
                    f"Accuracy of each task during training: {label} (the source report's Figure 1)",
                    lambda label=label: plots.task_accuracy_curves(acc, label=label)))
    out.append(("accuracy-vs-tasks", "Average accuracy over the tasks seen so far (the source report's Figure 2)",
                lambda: plots.accuracy_vs_tasks(acc)))
    if len(data) and data["memory_bytes"].nunique() > 1:
        out.append(("accuracy-vs-memory", "Final accuracy against memory kept between tasks",
                    lambda: plots.accuracy_vs_memory(data)))
    if "flops_train" in data and pd.to_numeric(data["flops_train"], errors="coerce").nunique() > 1:
        out.append(("accuracy-vs-flops", "Final accuracy against training FLOPs; Pareto front ringed",
                    lambda: plots.accuracy_vs_cost(data, "flops_train")))
    out.append(("phase-times", "Time per phase", lambda: plots.phase_times(data)))
    if fits:
        out.append(("time-vs-tasks", "Training time against number of tasks (log-log) with fitted exponents",
                    lambda: plots.time_vs_tasks(data, fits=fits)))
    for label in labels:
        if len(acc):
            out.append((f"heatmap-{_slug(label)}", f"Accuracy matrix, mean over seeds: {label}",
                        lambda label=label: plots.accuracy_heatmap(frames.mean_matrix(acc, label),
                                                                   title=f"R[i, j] (%): {label}")))
    if result.comparisons.kind == "search":
        if multi:
            out.append(("pareto", "Validation accuracy against training time; Pareto front",
                        lambda: plots.pareto_front(trials)))
        else:
            out.append(("optimization-history", "Optimisation history (search stage)",
                        lambda: plots.optimization_history(trials, metric=result.primary, runs=runs)))
        if importances:
            out.append(("importances", "Parameter importances (search stage)",
                        lambda: plots.param_importances(importances)))
    for name, maker in REGISTERED.items():
        made = maker(rows, result)
        if made is not None:
            out.append((name, *made))
    return out


def drawn_figures(folder: Path, rows: StudyRows, result: Analysis, *, importances: dict | None = None,
                  multi: bool = False, draw: bool = True) -> list[tuple[str, str]]:
    """(file name, caption) of every figure report.md lists (figures); drawn into plots/ unless
    draw=False (report.md and stats.csv only: the docs check regenerates those)."""
    saved = []
    if len(rows.runs):
        for name, caption, make in figures(rows, result, importances=importances, multi=multi):
            if draw:
                plots.save(make(), folder / "plots", name)
            saved.append((name, caption))
    return saved
