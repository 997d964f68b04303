"""The `gr-bench` command line. Each command parses, calls one plain function, prints.

Bad input of any kind (unknown names, malformed values, unusable folders) ends with one line on
stderr and exit code 2; see :func:`main`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer
from typer.exceptions import TyperException
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import ConfigError, RunConfig, flatten, preset as load_preset, with_overrides
from .errors import DataError
from .files import ResultsError
from .schedule import ScheduleError
from .storage import StorageError
from .study import StudyError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Does generative replay pay off in continual learning, and how should it be set?")
# Piped output (CI logs, files) gets 120 columns instead of rich's 80 so tables stay readable.
console = Console(width=int(os.environ.get("COLUMNS", 0)) or (None if sys.stdout.isatty() else 120))

USER_ERRORS = (ConfigError, DataError, ResultsError, ScheduleError, StorageError, StudyError)


def build_config(preset: str, sets: list[str] | None = None, **flags: object) -> RunConfig:
    """The preset, then the explicit flags that were given, then --set pairs (last wins)."""
    cfg = load_preset(preset)
    given = {k: v for k, v in flags.items() if v is not None}
    cfg = with_overrides(cfg, given)
    return with_overrides(cfg, sets or [])


SetOpt = typer.Option(None, "--set", help="Override any config field: --set lr=0.01 --set hidden=100,100")


@app.command("run")
def run_cmd(
    strategy: str = typer.Option("generative", help="none, joint, buffer or generative"),
    dataset: Optional[str] = typer.Option(None, help="auto (default), mnist, fashion-mnist, mnist-5k, digits"),
    scenario: Optional[str] = typer.Option(None, help="class (default), task or domain"),
    tasks: Optional[int] = typer.Option(None, help="number of tasks (default 5)"),
    seed: int = typer.Option(0, help="fixes class order, data order, initialisation and replay"),
    preset: str = typer.Option("seed", help="seed, small or quick"),
    schedule: Optional[str] = typer.Option(None, help="replay schedule, e.g. linear:1000, manual:500,800,900,1000"),
    buffer: Optional[int] = typer.Option(None, help="buffer capacity in images"),
    buffer_mb: Optional[float] = typer.Option(None, help="buffer capacity in MiB (wins over --buffer)"),
    threads: Optional[int] = typer.Option(None, help="torch threads for this run (default 1)"),
    device: Optional[str] = typer.Option(None, help="cpu or cuda"),
    sets: Optional[List[str]] = SetOpt,
    results: Path = typer.Option(Path("results"), help="folder that receives the run folder"),
    data_dir: Optional[Path] = typer.Option(None, help="where to look for MNIST IDX files"),
    quiet: bool = typer.Option(False, help="no progress bar"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check the settings, print the config, train nothing"),
) -> None:
    """Train one strategy over a Split benchmark; print tables and write a run folder."""
    from .data import load_dataset, make_benchmark
    from .files import writable_dir
    from .report import tables
    from .runs import write_run
    from .trainer import run

    cfg = build_config(preset, sets, strategy=strategy, dataset=dataset, scenario=scenario, n_tasks=tasks,
                       seed=seed, schedule=schedule, buffer=buffer, buffer_mb=buffer_mb, threads=threads,
                       device=device)
    if dry_run:
        for name, value in flatten(cfg).items():
            console.print(f"{name} = {value}")
        return
    root = writable_dir(results)
    ds = load_dataset(cfg.data.dataset, data_dir)
    bench = make_benchmark(ds, n_tasks=cfg.data.n_tasks, scenario=cfg.data.scenario, class_order=cfg.data.class_order,
                           seed=cfg.seed, val_fraction=cfg.data.val_fraction)
    console.print(f"dataset: [bold]{ds.name}[/] ({len(ds.y_train):,} train / {len(ds.y_test):,} test, from {ds.source})"
                  + (" [dim](auto: full MNIST not found)[/]" if cfg.data.dataset == "auto" and ds.name != "mnist" else ""))
    console.print(f"strategy: [bold]{cfg.strategy}[/], scenario {bench.scenario}, {bench.n_tasks} tasks, seed {cfg.seed}, "
                  f"{cfg.threads} thread(s), run id {cfg.run_id()}")

    total = bench.n_tasks * cfg.train.epochs
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=quiet, transient=True) as progress:
        bar = progress.add_task("training", total=total)

        def on_epoch(t: int, e: int, accs: list[float]) -> None:
            seen = accs[: t + 1]
            progress.update(bar, advance=1, description=f"task {t} epoch {e}: avg acc so far {100 * sum(seen) / len(seen):.1f}%")

        result = run(cfg, bench, on_epoch=on_epoch)
    folder = write_run(result, root, ds.source)

    if result.accuracy:
        console.print(tables.accuracy_matrix(result.accuracy, result.initial_acc))
    console.print(tables.run_summary(result.summary_row()))
    console.print(tables.phase_times(result.times))
    console.print(f"memory kept between tasks: {result.memory_bytes:,} bytes; "
                  f"params: classifier {result.params['classifier']:,}, generator {result.params['generator']:,}")
    console.print(f"wrote {folder}")
    if result.status != "ok":
        console.print(f"[red]run failed:[/] {result.reason}")
        raise typer.Exit(1)


@app.command("memory")
def memory_cmd(
    preset: str = typer.Option("seed", help="seed, small or quick"),
    sets: Optional[List[str]] = SetOpt,
    input_dim: int = typer.Option(784, help="pixels per image (784 for MNIST, 64 for digits)"),
) -> None:
    """The seed report's Table 1 for a preset: parameters, MB, and the buffer the same bytes would hold."""
    from .models import model_memory
    from .report import tables

    if input_dim <= 0:
        raise ConfigError(f"input_dim must be a positive whole number, got {input_dim}")
    cfg = build_config(preset, sets)
    rows = model_memory(cfg, input_dim=input_dim)
    console.print(tables.memory_table(rows, title=f"Model memory, preset {preset!r} (MB = 2^20 bytes, float32)"))
    total = rows[-1]["bytes"]
    console.print(f"The same {total:,} bytes hold {total // input_dim:,} uint8 images of {input_dim} B "
                  f"({total // (input_dim + 2):,} buffer examples with a 1-byte label and task id).")


@app.command("datasets")
def datasets_cmd(data_dir: Optional[Path] = typer.Option(None, help="extra folder to look in")) -> None:
    """Each dataset: whether and where it was found, and its size. Downloads nothing."""
    from .data import dataset_status

    table = Table(title="Datasets")
    for col in ("name", "found", "train", "test", "input", "where / how to get it"):
        table.add_column(col)
    for r in dataset_status(data_dir):
        table.add_row(r["name"], "yes" if r["found"] else "no", str(r["n_train"] or "-"), str(r["n_test"] or "-"),
                      str(r["input_dim"] or "-"), (r["where"] + (" - " if r["where"] and r["note"] else "") + r["note"]))
    console.print(table)
    console.print("auto = full mnist when found (or downloadable), otherwise mnist-5k")


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
    name: Optional[str] = typer.Argument(None, help="replay_schedule, baselines, lr, memory, task_scaling, generator"),
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
    from .study import STUDY_NAMES, Setup, get_spec

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
    from .study import EVAL_SEED_OFFSET, Setup, make_config

    study_name = check_study_name(study_name or name + ("-quick" if quick else "") + ("-mo" if multi_objective else ""))
    folder = Path(results) / study_name
    url = storage or default_url(folder)
    setup = Setup(study=name, study_name=study_name, storage_url=url, results_dir=str(folder), quick=quick,
                  multi_objective=multi_objective, dataset=dataset, scenario=scenario, n_tasks=tasks, seeds=seeds,
                  eval_seeds=tuple(EVAL_SEED_OFFSET + i for i in range(spec.eval_seeds)),
                  trials=trials or spec.trials, workers=workers, timeout=timeout,
                  data_dir=str(data_dir) if data_dir else None, sets=sets)
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
        console.print(study_tables.best_table(trials, runs, list(spec.reference)))
        for param in ("family", "strategy", "vae_hidden", "latent", "optimizer"):
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
    result = write_report(folder, study_name, spec.kind, list(spec.reference), rows, importances=importances,
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


@app.command("bench")
def bench_cmd(
    dataset: Optional[str] = typer.Option(None, help="dataset (default: auto)"),
    preset: str = typer.Option("seed", help="seed, small or quick"),
    sets: Optional[List[str]] = SetOpt,
    workers_check: bool = typer.Option(True, help="also time 4 equal trials with 1 and 2 workers"),
    results: Path = typer.Option(Path("results"), help="where the workers check keeps its two small studies"),
    data_dir: Optional[Path] = typer.Option(None, help="where to look for MNIST IDX files"),
    json_out: bool = typer.Option(False, "--json", help="print the figures as JSON only"),
) -> None:
    """Samples/s and GFLOP/s per phase of a generative run, as % of this machine's single-thread sgemm."""
    import json

    from .bench import run_bench, workers_speedup
    from .data import load_dataset, make_benchmark
    from .files import writable_dir

    cfg = build_config(preset, sets, strategy="generative", dataset=dataset)
    root = writable_dir(Path(results) / "bench")
    ds = load_dataset(cfg.data.dataset, data_dir)
    bench = make_benchmark(ds, n_tasks=cfg.data.n_tasks, scenario=cfg.data.scenario, class_order=cfg.data.class_order,
                           seed=cfg.seed, val_fraction=cfg.data.val_fraction)
    out = run_bench(cfg, bench)
    out["workers_speedup"] = None
    if workers_check:
        out["workers"] = workers_speedup(str(root), ds.name)
        out["workers_speedup"] = out["workers"]["workers_speedup"]
    if json_out:
        print(json.dumps(out, indent=2, default=float))
        return
    table = Table(title=f"gr-bench bench: preset {preset!r} on {ds.name}, {cfg.threads} thread(s), batch {cfg.train.batch_size}; "
                        f"single-thread sgemm {out['sgemm_gflops']:.1f} GFLOP/s on the VAE's shapes "
                        f"({out['sgemm_1024_gflops']:.1f} on 1024x1024)")
    for col in ("phase", "seconds", "share of run %", "samples/s", "GFLOP/s", "% of sgemm"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for phase, f in out["phases"].items():
        table.add_row(phase, f"{f['seconds']:.2f}", f"{100 * f['share_of_run']:.1f}",
                      "-" if f["samples_per_s"] is None else f"{f['samples_per_s']:,.0f}",
                      f"{f['gflops']:.1f}", f"{f['pct_of_sgemm']:.0f}")
    console.print(table)
    console.print(f"whole run: {out['phases']['run']['flops'] / 1e9:.1f} GFLOP in {out['phases']['run']['seconds']:.1f} s; "
                  f"final average accuracy {100 * out['final_avg_acc']:.1f}%; peak RSS {out['peak_rss_bytes'] / 2**20:.0f} MiB")
    if workers_check:
        w = out["workers"]
        console.print(f"workers: {w['trials']} equal trials in {w['wall_1_worker_s']:.1f} s with 1 worker, "
                      f"{w['wall_2_workers_s']:.1f} s with 2: speed-up {w['workers_speedup']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv if argv is not None else sys.argv[1:], prog_name="gr-bench", standalone_mode=False)
    except USER_ERRORS as e:
        print(f"gr-bench: error: {e}", file=sys.stderr)
        return 2
    except TyperException as e:  # the command-line parser's own errors (bad option, bad value: exit 2)
        print(f"gr-bench: error: {' '.join(e.format_message().split())}", file=sys.stderr)
        return e.exit_code
    except typer.Exit as e:
        return e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("gr-bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
