"""The study commands of `gr-bench`: study, export, report, compare (registered on cli.app)."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .cli import SetOpt, app, console
from .config import ConfigError
from .errors import DataError
from .study import StudyError


def _parse_seeds(text: str | None, default: int) -> tuple[int, ...]:
    """--seeds 5 (that many, from 0) or --seeds 0,3,7 (exactly these)."""
    if text is None:
        return tuple(range(default))
    try:
        seeds = tuple(int(p) for p in text.split(",")) if "," in text else tuple(range(int(text)))
    except ValueError:
        raise ConfigError(f"--seeds expects a count or a comma-separated list of seeds, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds must give at least one distinct seed >= 0, got {text!r}")
    return seeds


def _positive_opt(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{name} must be positive, got {value}")


@app.command("study")
def study_cmd(
    name: Optional[str] = typer.Argument(None, help="replay_schedule, baselines, lr, memory, task_scaling, generator, replay_mode, generator_size"),
    list_: bool = typer.Option(False, "--list", help="list the studies and exit"),
    quick: bool = typer.Option(False, help="the small budget (about two minutes on 2 cores)"),
    trials: Optional[int] = typer.Option(None, help="search budget in trials, across all workers"),
    timeout: Optional[float] = typer.Option(None, help="stop taking new trials after this many seconds"),
    workers: Optional[int] = typer.Option(None, help="local worker processes (default: one per core, one thread each)"),
    storage: Optional[str] = typer.Option(None, help="Optuna storage URL (default: sqlite file in the study folder)"),
    study_name: Optional[str] = typer.Option(None, help="name in the storage and results folder"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    dataset: Optional[str] = typer.Option(None, help="dataset for every run (default: auto)"),
    scenario: Optional[str] = typer.Option(None, help="class, task or domain"),
    tasks: Optional[int] = typer.Option(None, help="number of tasks"),
    seeds: Optional[str] = typer.Option(None, help="a count or a comma-separated list"),
    multi_objective: bool = typer.Option(False, "--multi-objective", help="accuracy against training time (Pareto front)"),
    data_dir: Optional[Path] = typer.Option(None, help="where to look for MNIST IDX files"),
    sets: Optional[List[str]] = SetOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="check the settings and print the plan, run nothing"),
) -> None:
    """Run or resume a study; print its summary; write trials.csv, runs.csv, accuracy.csv, manifest.json."""
    from .study import STUDY_NAMES, get_spec

    if list_:
        table = Table(title="Studies")
        table.add_column("study")
        table.add_column("kind")
        table.add_column("what it asks")
        for n in STUDY_NAMES:
            spec = get_spec(n)
            table.add_row(n, spec.kind, spec.summary)
        console.print(table)
        return
    if name is None:
        raise StudyError("name a study (gr-bench study --list shows them)")
    spec = get_spec(name, quick)
    _positive_opt("--trials", trials)
    _positive_opt("--timeout", timeout)
    _positive_opt("--workers", workers)
    if multi_objective and not spec.multi_objective:
        raise StudyError(f"study {name!r} has no --multi-objective mode")
    setup = _study_setup(spec, name, quick, trials, timeout, workers or os.cpu_count() or 1, storage, study_name,
                         results, dataset, scenario, tasks, _parse_seeds(seeds, spec.seeds), multi_objective, data_dir,
                         tuple(sets or ()), dry_run)
    if dry_run:
        from .study import planned_points

        console.print(f"plan: {len(planned_points(spec, setup, 'search'))} {spec.kind} trials"
                      + (f", then the best {spec.top} + {len(spec.reference)} reference(s) on {len(setup.eval_seeds)} "
                         "evaluation seeds" if spec.kind == "search" else ""))
        return
    _run_and_report(setup)


def _study_setup(spec, name, quick, trials, timeout, workers, storage, study_name, results, dataset, scenario,
                 tasks, seeds, multi_objective, data_dir, sets, dry_run=False):
    from .data import DATASET_NAMES, load_dataset
    from .files import writable_dir
    from .storage import check_study_name, check_url, default_url, open_storage, redact
    from .study import EVAL_SEED_OFFSET, Setup, make_config, spec_fingerprint

    study_name = check_study_name(study_name or name + ("-quick" if quick else "") + ("-mo" if multi_objective else ""))
    folder = Path(results) / study_name
    url = storage or default_url(folder)
    setup = Setup(study=name, study_name=study_name, storage_url=url, results_dir=str(folder), quick=quick,
                  multi_objective=multi_objective, dataset=dataset, scenario=scenario, n_tasks=tasks, seeds=seeds,
                  eval_seeds=tuple(EVAL_SEED_OFFSET + i for i in range(spec.eval_seeds)),
                  trials=trials or spec.trials, workers=workers, timeout=timeout,
                  data_dir=str(data_dir) if data_dir else None, sets=sets, definition=spec_fingerprint(spec))
    cfg = make_config(spec, setup, [], seeds[0])  # validates --scenario/--tasks/--set before any work
    if cfg.data.dataset not in DATASET_NAMES:
        raise DataError(f"unknown dataset {cfg.data.dataset!r}; choose one of: {', '.join(DATASET_NAMES)}")
    check_url(url)
    if dry_run:
        return setup
    writable_dir(folder)
    open_storage(url)  # fails here, with exit code 2, when the URL is malformed or unreachable
    ds = load_dataset(cfg.data.dataset, data_dir)
    setup = dataclasses.replace(setup, dataset=ds.name)  # every worker uses, and records, the dataset actually used
    console.print(f"study [bold]{study_name}[/] ({spec.kind}): dataset {ds.name}, {len(seeds)} seed(s), "
                  f"{setup.workers} worker(s), storage {redact(url)}")
    return setup


def _run_and_report(setup) -> None:
    import time

    from .study import run_study, stage_counts

    start = time.time()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[eta]}"), console=console, transient=False) as progress:
        bars: dict[str, object] = {}
        first_seen: dict[str, tuple[float, int]] = {}  # per stage: when polling began, trials done then

        def on_poll(stage, study) -> None:
            c = stage_counts(study)
            done = c["complete"] + c["pruned"] + c["fail"]
            budget = study.user_attrs.get("budget", done)
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=budget, eta="")
            best = ""
            if len(study.directions) == 1 and c["complete"]:
                best = f", best {100 * study.best_value:.1f}%"
            t0, done0 = first_seen.setdefault(stage, (time.time(), done))
            rate = (done - done0) / max(time.time() - t0, 1e-9)  # trials per second in this stage, this command
            eta = f"~{(budget - done) / rate:.0f}s left" if rate > 0 else ""
            progress.update(bars[stage], completed=done, total=budget,
                            description=f"{stage}: {c['running']} running{best}", eta=eta)

        stages = run_study(setup, on_poll)
    _export_and_print(setup.storage_url, setup.study_name, Path(setup.results_dir), setup.study)
    console.print(f"took {time.time() - start:.0f} s")
    if any(st.user_attrs.get("budget", 0) > sum(1 for t in st.get_trials(deepcopy=False) if t.state.is_finished())
           for st in stages.values()):
        console.print("[yellow]budget not reached (timeout): re-run the same command to continue[/]")


def _export_and_print(url: str, study_name: str, folder: Path, study: str | None, *, alpha: float = 0.05,
                      min_effect: float = 0.01, seed: int = 0) -> None:
    """Rewrite the exports, the report (stats.csv, plots/, report.md) and print the summary and verdicts."""
    import optuna
    import pandas as pd

    from .export import export_study, manifest, stage_studies
    from .report import study_tables
    from .report.analysis import verdict_lines
    from .report.build import write_report
    from .storage import open_storage
    from .study import get_spec

    storage = open_storage(url)
    rows = export_study(storage, url, study_name, folder)
    trials, runs = pd.DataFrame(rows["trials"]), pd.DataFrame(rows["runs"])
    stages = stage_studies(storage, study_name)
    setup = stages["search"].user_attrs.get("setup", {})
    spec = get_spec(study or setup.get("study"), bool(setup.get("quick")))
    multi = len(stages["search"].directions) == 2
    failed = int((trials["state"] == "FAIL").sum()) if len(trials) else 0
    importances = None
    if spec.kind == "search":
        console.print(study_tables.best_table(trials, runs, spec.compared_with()))
        for param in ("family", "strategy", "vae_hidden", "latent", "optimizer", "lr_schedule"):
            if f"param_{param}" in trials:
                console.print(study_tables.by_param_table(trials, param))
        if multi:
            console.print(study_tables.pareto_table(trials, [t.number for t in stages["search"].best_trials]))
        else:
            try:
                with warnings.catch_warnings():  # "few trials per regime" warnings: the table says enough
                    warnings.simplefilter("ignore")
                    importances = optuna.importance.get_param_importances(stages["search"])
                console.print(study_tables.importance_table(importances))
            except (RuntimeError, ValueError) as e:
                console.print(f"parameter importances: not available ({e})")
        if "final" in stages:
            console.print(study_tables.grid_table(runs[runs["stage"] == "final"], "Test split, evaluation seeds"))
    elif len(runs):
        console.print(study_tables.grid_table(runs, f"{study_name}: mean ± sd over seeds (test split)"))
    result = write_report(folder, study_name, spec.kind, spec.compared_with(), rows, importances=importances,
                          multi=multi, alpha=alpha, min_effect=min_effect, seed=seed,
                          manifest=manifest(storage, url, study_name, rows))
    if result["rows"]:
        console.print(study_tables.verdict_table(result["rows"], alpha, min_effect))
        for line in verdict_lines(result):
            console.print(line, highlight=False)
    console.print(f"{len(trials)} trials ({failed} failed), {len(runs)} runs; wrote trials.csv, runs.csv, "
                  f"accuracy.csv, manifest.json, stats.csv, report.md and plots/ in {folder}")


def _study_location(study: str, storage: str | None, results: Path) -> tuple[str, Path, str]:
    """A study name or its folder -> (name, folder, storage URL); exit 2 when there is no such study."""
    from .storage import check_study_name, default_url, load_study, open_storage

    path = Path(study)
    if path.is_dir() and (path / "study.db").exists() or "/" in study:
        folder, name = path, path.name
    else:
        name, folder = study, Path(results) / study
    check_study_name(name)
    if storage is None and not (folder / "study.db").exists():
        raise StudyError(f"no study database at {folder / 'study.db'}; pass --storage")
    url = storage or default_url(folder)
    if load_study(open_storage(url), name) is None:
        raise StudyError(f"no study named {name!r} in that storage")
    return name, folder, url


@app.command("report")
def report_cmd(
    study: str = typer.Argument(..., help="a study name (under --results) or a study folder"),
    storage: Optional[str] = typer.Option(None, help="storage URL (default: the sqlite file in the study folder)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    alpha: float = typer.Option(0.05, help="significance level, after Holm's adjustment"),
    min_effect: float = typer.Option(0.01, help="smallest accuracy difference that matters (0.01 = one point)"),
    seed: int = typer.Option(0, help="seed of the bootstrap confidence intervals"),
) -> None:
    """Rebuild tables, stats.csv, every plot and report.md from the stored results; print the verdicts."""
    from .files import writable_dir

    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be in (0, 1), got {alpha}")
    if not min_effect >= 0:
        raise ConfigError(f"--min-effect must be >= 0, got {min_effect}")
    name, folder, url = _study_location(study, storage, results)
    _export_and_print(url, name, writable_dir(folder), None, alpha=alpha, min_effect=min_effect, seed=seed)


@app.command("compare")
def compare_cmd(
    a: str = typer.Argument(..., help="a configuration label (as in runs.csv's label column)"),
    b: str = typer.Argument(..., help="another configuration label"),
    study: str = typer.Option(..., help="the study (name or folder) holding both"),
    metric: str = typer.Option("final_avg_acc", help="a runs.csv metric column"),
    storage: Optional[str] = typer.Option(None, help="storage URL (default: the sqlite file in the study folder)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    alpha: float = typer.Option(0.05, help="significance level"),
    min_effect: float = typer.Option(0.01, help="smallest difference that matters, in the metric's unit"),
) -> None:
    """Compare two stored configurations of a study: paired by seed when they share seeds."""
    import pandas as pd

    from . import stats
    from .export import collect
    from .storage import open_storage

    name, _, url = _study_location(study, storage, results)
    runs = pd.DataFrame(collect(open_storage(url), name)["runs"])
    runs = runs[runs["status"] == "ok"] if len(runs) else runs
    if metric not in runs:
        raise ConfigError(f"unknown metric {metric!r}; use a numeric runs.csv column such as final_avg_acc")
    for label in (a, b):
        if label not in set(runs["label"]):
            raise StudyError(f"no successful runs labelled {label!r}; labels: {', '.join(sorted(set(runs['label'])))}")
    stage = next((s for s in ("final", "search") if {a, b} <= set(runs[runs["stage"] == s]["label"])), None)
    data = runs[runs["stage"] == stage] if stage else runs
    x, y = data[data["label"] == a], data[data["label"] == b]
    paired = len(set(x["seed"]) & set(y["seed"])) >= 2
    (row,) = stats.compare_family(data[["label", "seed", metric]], [(a, b)], metric=metric, study=name,
                                  paired=paired, alpha=alpha, min_effect=min_effect)
    scale, unit = (100.0, "points") if "acc" in metric or "forgetting" in metric or metric in ("bwt", "fwt") else (1.0, "")
    console.print(stats.sentence(row, a, b, scale=scale, unit=unit))


@app.command("export")
def export_cmd(
    study: str = typer.Argument(..., help="a study name (under --results) or a study folder"),
    storage: Optional[str] = typer.Option(None, help="storage URL (default: the sqlite file in the study folder)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
) -> None:
    """Rewrite a study's CSVs, manifest and report from its storage, without training."""
    from .files import writable_dir

    name, folder, url = _study_location(study, storage, results)
    _export_and_print(url, name, writable_dir(folder), None)
