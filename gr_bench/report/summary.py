"""What the study commands write and show, as values the CLI prints: a study's exports and report
written from its storage or a shipped folder (write), the terminal summary of what was written
(summary), the list of studies (studies_table) and a dry run's plan (plan_line). Nothing here
prints.

summary's items are printed in order: tables and rich Text as rich renders them (Text wrapped at
words), a plain str whole and literal (no markup, soft-wrapped), so a log keeps it on one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.highlighter import ReprHighlighter
from rich.text import Text

from ..thresholds import DEFAULTS
from .tables import Table

if TYPE_CHECKING:  # rebuild draws plots: imported only where a report is written
    from .rebuild import Rebuilt

_highlight = ReprHighlighter()  # what console.print gives a plain string by default


@dataclass(frozen=True)
class Written:
    """A study's report as write() wrote it: rebuild's account, and the manifest it was written from
    (the search's parameter importances, its Pareto front)."""

    study_name: str
    folder: Path
    report: Rebuilt
    meta: dict


def write(storage_url: str, study_name: str, folder: Path, study: str | None = None, *,
          alpha: float = DEFAULTS.alpha, min_effect: float | None = None,
          power_effect: float | None = None) -> Written:
    """Rewrite a study's exports (trials.csv, runs.csv, accuracy.csv, manifest.json) from its storage,
    then its report (stats.csv, plots/, report.md) from what they hold; with no storage URL (""), the
    report of a shipped folder from its rows and manifest alone (report/shipped.py). Thresholds as
    in rebuild.rebuild (a --sequential study: its looks' by default)."""
    from . import shipped
    from .rebuild import Asked, rebuild

    if storage_url:
        from ..export import export_study
        from ..storage import open_storage

        rows, meta = export_study(open_storage(storage_url), storage_url, study_name, folder)
    else:
        rows, meta = shipped.load(folder)
    out = rebuild(folder, study_name, rows, meta, study=study,
                  asked=Asked(alpha=alpha, min_effect=min_effect, power_effect=power_effect))
    return Written(study_name, folder, out, meta)


def summary(written: Written) -> list[RenderableType]:
    """The terminal's account of a written report, in order: the search's or the grid's tables, the
    published figures beside ours, the verdict table and its sentences (analysis.verdict_lines, then
    the attribution and compute-matched lines), the power statement, the study's own answer, the
    --sequential plan and one line saying what was written where."""
    from ..orchestration.sequential import describe
    from . import study_tables
    from .analysis import attribution_lines, compute_lines, power_summary, verdict_lines
    from .verdict_sections import wall_clock_note

    out = written.report
    trials, runs, result = out.trials, out.runs, out.analysis
    items: list[RenderableType] = []
    if out.spec.kind == "search":
        items += _search_tables(out, written.meta)
    elif len(runs):
        items.append(study_tables.grid_table(runs, f"{written.study_name}: mean ± sd over seeds (test split)"))
    if out.published is not None:
        from .published import out_of_reach, readable

        items.append(study_tables.frame_table(readable(out.published), "Beside the published figures"))
        items += [Text(line) for line in out_of_reach(out.published)]
    if result.rows:
        t = out.thresholds
        items.append(study_tables.verdict_table(result.rows, t.alpha, t.min_effect))
        note, power = wall_clock_note(result.rows), power_summary(result, t.power_effect)
        items += [Text(line) for line in (*verdict_lines(result), *attribution_lines(result), *compute_lines(result),
                                          *([note] if note else []), *([power] if power else []))]
    items += list(out.answer)
    if out.plan:
        items.append(describe(out.plan))
    items.append(_highlight(f"{len(trials)} trials ({out.failed} failed), {len(runs)} runs; wrote trials.csv, "
                            f"runs.csv, accuracy.csv, manifest.json, stats.csv, report.md and plots/ in "
                            f"{written.folder}"))
    return items


def _search_tables(out: Rebuilt, meta: dict) -> list[RenderableType]:
    """A search's tables: its best configurations, one per searched parameter, its Pareto front (a
    multi-objective search) or its parameter importances, and its final stage's runs."""
    from . import study_tables

    trials, runs = out.trials, out.runs
    items: list[RenderableType] = [study_tables.best_table(trials, runs, out.spec.compared_with())]
    items += [study_tables.by_param_table(trials, param)
              for param in ("family", "strategy", "vae_hidden", "latent", "optimizer", "lr_schedule")
              if f"param_{param}" in trials]
    if meta.get("multi_objective"):
        items.append(study_tables.pareto_table(trials, list(meta.get("pareto_trials") or [])))
    elif meta.get("importances"):
        items.append(study_tables.importance_table(meta["importances"]))
    else:
        items.append(_highlight("parameter importances: not available"))
    if len(runs) and (runs["stage"] == "final").any():
        items.append(study_tables.grid_table(runs[runs["stage"] == "final"], "Test split, evaluation seeds"))
    return items


def studies_table() -> Table:
    """`gr-bench study --list`: every listed study, its kind and what it asks."""
    from ..orchestration import get_spec, study_names

    table = Table(title="Studies")
    table.add_column("study")
    table.add_column("kind")
    table.add_column("what it asks")
    for name in study_names():
        spec = get_spec(name)
        table.add_row(name, spec.kind, spec.summary)
    return table


def _planned_count(spec, setup) -> int:
    """How many trials the search stage (a grid's points x seeds) will queue, counted, not composed."""
    from ..orchestration import planned_points

    if spec.kind == "grid":
        return len(planned_points(spec, setup, "search", seeds=setup.seeds[:1])) * len(setup.seeds)
    return setup.trials


def fidelity_note(spec, setup) -> str:
    """How the search trials train, for the one line a study prints before it runs."""
    from ..orchestration.setup import search_share

    if spec.kind != "search":
        return ""
    if not setup.prune:
        return ", search at full fidelity (--no-prune)"
    share = search_share(spec, setup)
    return (f", search trials at {share:.0%} of each task's epochs" if share is not None else "") + (
        ", pruned on tasks completed" if spec.prune else "")


def plan_line(spec, setup, *, power_effect: float = DEFAULTS.power_effect) -> str:
    """A dry run's one line: the trials it would queue, a search's final stage, a --sequential
    study's looks, and how the search trials train."""
    from ..orchestration.sequential import look_levels, make_plan

    swaps = len(spec.attribution or {}) * len(spec.reference)
    plan = make_plan(spec, setup, power_effect=power_effect) if setup.sequential else None
    more = (f", up to {plan['cap']} seeds in {plan['looks']} looks, each at most at level "
            f"{max(look_levels(plan)):.3g} ({plan['spending']} spending of alpha {plan['alpha']:g}), more seeds "
            "only for the configurations of undecided comparisons") if plan else ""
    return (f"plan: {_planned_count(spec, setup)} {spec.kind} trials"
            + (f", then the best {spec.top} + {len(spec.reference)} reference(s)"
               + (f" + up to {swaps} attribution swap(s)" if swaps else "")
               + f" on {len(setup.eval_seeds)} evaluation seeds" if spec.kind == "search" else "")
            + more + fidelity_note(spec, setup))


__all__ = ["Written", "fidelity_note", "plan_line", "studies_table", "summary", "write"]
