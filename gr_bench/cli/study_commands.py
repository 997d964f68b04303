"""The study commands of `gr-bench`: study, report, compare, export, dashboard, reproduce. Each checks
its options and calls the layers below: orchestration/launch.py sets a study up, report/progress.py shows it
running, report/location.py finds the study a command names."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ..config import ConfigError
from ..errors import close_hint
from ..input_checks import MAX_SEED, MAX_SEEDS, MAX_TRIALS, MAX_WORKERS, check_count, check_data_dir, number
from ..thresholds import DEFAULTS
from .common import CommandFailed, SetOpt, console

commands = typer.Typer()  # merged into the gr-bench app by cli/__init__.py

# the thresholds' defaults as the options' help states them (thresholds.DEFAULTS: 0.01 = 1 point, 2 points, 5%)
_MIN_EFFECT = f"{DEFAULTS.min_effect:g} = {100 * DEFAULTS.min_effect:g} point{'s' if 100 * DEFAULTS.min_effect != 1 else ''}"
_TARGET_EFFECT = f"{100 * DEFAULTS.power_effect:g}"
_MIN_REL_EFFECT = f"{100 * DEFAULTS.min_rel_effect:g}%"


def _parse_seeds(text: str | None, default: int) -> tuple[int, ...]:
    """--seeds 5 (that many, from 0) or --seeds 0,3,7 (exactly these): at most MAX_SEEDS seeds, each
    at most MAX_SEED (2**31 - 1), refused before any is composed."""
    if text is None:
        return tuple(range(default))
    parts = text.split(",") if "," in text else [text]
    try:
        values = [int(p) for p in parts[:MAX_SEEDS + 1]]
    except ValueError:
        raise ConfigError(f"--seeds expects a count or a comma-separated list of seeds, got {text!r}") from None
    n = values[0] if len(parts) == 1 else len(parts)
    if n > MAX_SEEDS:
        raise ConfigError(f"--seeds gives at most {MAX_SEEDS:,} seeds, got {number(n)}")
    seeds = tuple(values) if len(parts) > 1 else tuple(range(max(n, 0)))
    if any(s > MAX_SEED for s in seeds):
        raise ConfigError(f"--seeds: every seed must be below 2**31, got {number(max(seeds))}")
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds must give at least one distinct seed >= 0, got {text!r}")
    return seeds


def _positive_opt(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{name} must be positive, got {value}")


BOUNDARY_HELP = ("with --sequential: the alpha-spending function over the looks, pocock (Lan-DeMets Pocock type), "
                 "obf (O'Brien-Fleming type) or bonferroni (alpha / looks each)")


@commands.command("study")
def study_cmd(
    name: str | None = typer.Argument(None, help="a study in studies/ (or in $GR_BENCH_STUDIES); --list shows them"),
    list_: bool = typer.Option(False, "--list", help="list the studies and exit"),
    quick: bool = typer.Option(False, help="the small budget: few trials, seeds and epochs; for a first look, not for conclusions"),
    trials: int | None = typer.Option(None, help="search budget in trials, across all workers"),
    timeout: float | None = typer.Option(None, help="stop taking new trials after this many seconds"),
    workers: int | None = typer.Option(None, help="local worker processes (default: one per core, one thread each)"),
    storage: str | None = typer.Option(None, help="Optuna storage URL (default: sqlite file in the study folder)"),
    study_name: str | None = typer.Option(None, help="name in the storage and results folder (default: NAME[-DATASET][-SCENARIO][-quick][-mo][-full], the dataset and scenario when not the study's own)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    dataset: str | None = typer.Option(None, help="dataset for every run (default: auto)"),
    scenario: str | None = typer.Option(None, help="class, task or domain"),
    tasks: int | None = typer.Option(None, help="number of tasks"),
    seeds: str | None = typer.Option(None, help="a count or a comma-separated list"),
    multi_objective: bool = typer.Option(False, "--multi-objective", help="accuracy against training time (Pareto front)"),
    data_dir: Path | None = typer.Option(None, help="where to look for MNIST IDX files"),
    sets: list[str] | None = SetOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="check the settings and print the plan, run nothing"),
    target_effect: float = typer.Option(100 * DEFAULTS.power_effect, "--target-effect", metavar="POINTS",
                                        help="accuracy difference worth detecting, in points: power, MDE and "
                                             "the seeds needed for it in the report"),
    sequential: int | None = typer.Option(None, "--sequential", metavar="CAP",
                                          help="add evaluation seeds (a grid's seeds) in blocks of the study's count, "
                                               "only to the configurations of undecided primary comparisons, until "
                                               "every one is decided or CAP seeds have run; alpha is spent over "
                                               "the looks by --boundary"),
    boundary: str = typer.Option("pocock", "--boundary", metavar="SPENDING", help=BOUNDARY_HELP),
    device: str | None = typer.Option(None, help="cpu or cuda for every run (same as --set device=...); with "
                                                 "cuda, the --workers share one GPU"),
    no_prune: bool = typer.Option(False, "--no-prune", "--full-fidelity",
                                  help="search trials at full fidelity: never pruned, every epoch of every task "
                                       "(default study name: NAME-full)"),
    reuse: list[Path] | None = typer.Option(None, "--reuse", metavar="DIR",
                                            help="a shipped study folder (results/NAME): its runs recorded by this "
                                                 "same code and data are reused instead of trained (repeatable)"),
) -> None:
    """Run or resume a study; print its summary and verdicts; write trials.csv, runs.csv, accuracy.csv,
    manifest.json, stats.csv, report.md and plots/ (published.csv where the study has published figures)."""
    from ..orchestration import StudyError
    from ..orchestration.launch import StudyRequest, checked_setup, keep_recorded_runs

    if list_:
        from ..report.summary import studies_table

        console.print(studies_table())
        return
    if name is None:
        raise StudyError("name a study (gr-bench study --list shows them)")
    spec = _known_spec(name, quick)
    _positive_opt("--trials", trials)
    _positive_opt("--timeout", timeout)
    _positive_opt("--workers", workers)
    check_count("--trials", trials, MAX_TRIALS)
    check_count("--workers", workers, MAX_WORKERS)
    check_count("--sequential", sequential, MAX_SEEDS)
    _check_boundary(boundary)
    _positive_opt("--target-effect", target_effect)
    if multi_objective and not spec.multi_objective:
        raise StudyError(f"study {name!r} has no --multi-objective mode")
    if no_prune and spec.kind != "search":
        raise StudyError(f"study {name!r} is a grid: --no-prune applies to a search's trials")
    request = StudyRequest(name=name, quick=quick, trials=trials, timeout=timeout,
                           workers=workers or os.cpu_count() or 1, storage=storage, study_name=study_name,
                           results=results, dataset=dataset, scenario=scenario, tasks=tasks,
                           seeds=_parse_seeds(seeds, spec.seeds), multi_objective=multi_objective, data_dir=data_dir,
                           sets=tuple(sets or ()) + ((f"device={device}",) if device else ()), dry_run=dry_run,
                           sequential=sequential, prune=not no_prune)
    reused = _reuse_records(reuse or ())
    setup = checked_setup(spec, request)
    if dry_run:
        from ..report.summary import plan_line

        console.print(plan_line(spec, setup, power_effect=target_effect / 100))
        console.print(f"folder: {setup.results_dir}", markup=False, highlight=False, soft_wrap=True)
        return
    _start(spec, setup)
    for line in keep_recorded_runs(setup, reused):
        console.print(line, highlight=False, soft_wrap=True)
    _run_and_report(setup, power_effect=target_effect / 100, spending=boundary)


def _check_boundary(boundary: str) -> None:
    from ..group_sequential import SPENDING
    from ..orchestration import StudyError

    if boundary not in SPENDING:
        raise StudyError(f"--boundary {boundary}: one of {', '.join(SPENDING)}")


def _known_spec(name: str, quick: bool):
    """The study NAME (its --quick variant), or exit 2 naming the closest studies and every listed one."""
    from ..orchestration import StudyError, get_spec, study_names

    known = study_names(listed_only=False)
    if name not in known:  # the closest names first, then every listed one
        raise StudyError(f"unknown study {name!r}{close_hint(name, known)}; choose from {', '.join(study_names())} "
                         "(gr-bench study --list)")
    return get_spec(name, quick)


def _reuse_records(folders) -> list[Path]:
    """--reuse DIR: folders written by gr-bench export --ship, checked before any work; returns the
    records file each holds (its runs' records)."""
    from ..orchestration import StudyError
    from ..report.shipped import RECORDS

    missing = [str(d) for d in folders if not (Path(d) / RECORDS).is_file()]
    if missing:
        raise StudyError(f"--reuse {missing[0]}: no {RECORDS} there (a folder written by gr-bench export --ship)")
    return [Path(d) / RECORDS for d in folders]


def _start(spec, setup) -> None:
    """Make the study's folder and storage, first saying so when they replace the study's shipped
    rows; then print what will run."""
    from ..orchestration.launch import open_study
    from ..report.progress import start_line
    from ..report.shipped import is_shipped

    folder = Path(setup.results_dir)
    if is_shipped(folder):  # the repository's evidence for this study: say that this run replaces it
        print(f"gr-bench: note: {folder} holds this study's shipped rows; this run's exports will replace them "
              "in your working tree (git restore brings them back)", file=sys.stderr)
    open_study(setup)
    console.print(start_line(spec, setup))


def _run_and_report(setup, *, power_effect: float = DEFAULTS.power_effect, spending: str = "pocock") -> None:
    import time

    from ..orchestration import get_spec
    from ..orchestration.run_study import every_trial_failed, short_of_budget
    from ..report.progress import look_line, watching
    from ..report.summary import write

    spec = get_spec(setup.study, setup.quick)
    start = time.time()
    looks = {"on_look": lambda entry: console.print(look_line(entry), markup=False, highlight=False, soft_wrap=True),
             "power_effect": power_effect, "spending": spending}
    with watching(console, spec, setup, start) as on_poll:
        stages = _run_study(setup, on_poll, **looks)
    failure = every_trial_failed(setup, stages)
    if failure:  # the CSVs (trials.csv gives every reason), no report: there is nothing to compare
        from ..export import export_study
        from ..storage import open_storage

        export_study(open_storage(setup.storage_url), setup.storage_url, setup.study_name, Path(setup.results_dir))
        raise CommandFailed(failure)
    _show(write(setup.storage_url, setup.study_name, Path(setup.results_dir), setup.study,
                power_effect=None if setup.sequential else power_effect))  # sequential: the stored plan's
    console.print(f"took {time.time() - start:.0f} s")
    if short_of_budget(stages):
        console.print("[yellow]budget not reached (timeout): re-run the same command to continue[/]")


def _run_study(setup, on_poll, **looks):
    """run_study; a study that failed while running (its workers died, or no search trial
    completed) raises CommandFailed: exit code 1, the reason on stderr."""
    from ..orchestration import StudyError, run_study
    from ..orchestration.run_study import search_failure

    try:
        return run_study(setup, on_poll, **looks)
    except RuntimeError as e:
        raise CommandFailed(f"study {setup.study_name!r} failed: {e}") from None
    except StudyError as e:
        reason = search_failure(setup)
        if reason is not None:
            raise CommandFailed(f"study failed: {e}{reason}") from None
        raise


def _warned(written):
    """A written report (report.summary.write), its warning (the study's definition changed) on stderr."""
    if written.report.warning:
        print(f"gr-bench: warning: {written.report.warning}", file=sys.stderr)
    return written


def _show(written) -> None:
    """Print a written report (report.summary.write): its warning on stderr, then its summary."""
    from ..report.summary import summary

    for item in summary(_warned(written)):  # tables and Text as rich renders them, a plain str whole and literal
        console.print(item, markup=False, highlight=False, soft_wrap=isinstance(item, str))


@commands.command("report")
def report_cmd(
    study: str = typer.Argument(..., help="a study name (under --results) or a study folder"),
    storage: str | None = typer.Option(None, help="storage URL (default: the sqlite file in the study folder)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    alpha: float = typer.Option(DEFAULTS.alpha, help="significance level, after Holm's adjustment (a --sequential study: "
                                           "divided by its planned looks)"),
    min_effect: float | None = typer.Option(None, help=f"smallest accuracy difference that matters (default {_MIN_EFFECT}; "
                                                       "a --sequential study: its looks')"),
    target_effect: float | None = typer.Option(None, "--target-effect", metavar="POINTS",
                                               help="accuracy difference worth detecting, in points: power, MDE and "
                                                    f"the seeds needed for it (default {_TARGET_EFFECT}; a --sequential "
                                                    "study: its looks')"),
) -> None:
    """Rebuild tables, stats.csv, every plot and report.md from the stored results; print the verdicts."""
    from ..files import writable_dir

    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be in (0, 1), got {alpha}")
    if min_effect is not None and not min_effect >= 0:
        raise ConfigError(f"--min-effect must be >= 0, got {min_effect}")
    _positive_opt("--target-effect", target_effect)
    from ..report.location import study_location
    from ..report.summary import write

    name, folder, url = study_location(study, storage, results)
    _show(write(url, name, writable_dir(folder), alpha=alpha, min_effect=min_effect,
                power_effect=None if target_effect is None else target_effect / 100))


@commands.command("compare")
def compare_cmd(
    a: str = typer.Argument(..., help="a configuration: its label or its config_id (runs.csv's columns)"),
    b: str = typer.Argument(..., help="another configuration: label or config_id"),
    study: str = typer.Option(..., help="the study (name or folder) holding both"),
    metric: str = typer.Option("final_avg_acc", help="a run metric: final_avg_acc, avg_forgetting, bwt, fwt, "
                                                     "time_*_s, memory_bytes, peak_rss_bytes"),
    storage: str | None = typer.Option(None, help="storage URL (default: the sqlite file in the study folder)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    alpha: float = typer.Option(DEFAULTS.alpha, help="significance level (a --sequential study: divided by its planned looks)"),
    min_effect: float | None = typer.Option(None, help="smallest difference that matters, in runs.csv's unit "
                                                          f"(default {_MIN_EFFECT} for accuracies; {_MIN_REL_EFFECT} of the other arm for times "
                                                          "and costs)"),
    allow_mixed: bool = typer.Option(False, "--allow-mixed", help="compare arms from different stages or splits"),
    test: str | None = typer.Option(None, help="a registered difference test (gr_bench/stats/difference_tests.py) "
                                               "in place of the paired t-test (Welch unpaired)"),
) -> None:
    """Compare two stored configurations of a study: paired by seed when they share seeds."""
    from ..metrics import METRIC_SENSE
    from ..report.location import study_location
    from ..report.two_configs import compare_study

    if metric not in METRIC_SENSE:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRIC_SENSE)}")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be in (0, 1), got {alpha}")
    if min_effect is not None and not min_effect >= 0:
        raise ConfigError(f"--min-effect must be >= 0, got {min_effect}")
    name, _, url = study_location(study, storage, results)
    out = compare_study(url, name, a, b, metric, allow_mixed=allow_mixed, alpha=alpha, min_effect=min_effect,
                        test=test)
    for message in (out["note"], out["warning"]):
        if message:
            print(f"gr-bench: {message}", file=sys.stderr)
    console.print(out["line"], markup=False, highlight=False, soft_wrap=True)


@commands.command("export")
def export_cmd(
    study: str = typer.Argument(..., help="a study name (under --results) or a study folder"),
    storage: str | None = typer.Option(None, help="storage URL (default: the sqlite file in the study folder)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
    ship: Path | None = typer.Option(None, metavar="DIR",
                                     help="also write the study's rows and manifest, without machine paths, to DIR "
                                          "(e.g. results/NAME in a clone) and rebuild its report there from them alone"),
) -> None:
    """Rewrite a study's CSVs, manifest, stats, plots and report.md from its storage, without training;
    print only where they went (`gr-bench report` prints the tables and verdicts too)."""
    from ..files import ResultsError, writable_dir
    from ..report.location import study_location
    from ..report.shipped import ship as ship_rows
    from ..report.summary import write

    name, folder, url = study_location(study, storage, results)
    if ship is not None and (ship.resolve() == folder.resolve() or (ship / "study.db").exists()):
        raise ResultsError(f"--ship {ship}: give a folder other than the study's own (it holds a study database)")
    _warned(write(url, name, writable_dir(folder)))  # the same files as report, without its terminal output
    if ship is not None:
        ship_rows(folder, writable_dir(ship))
        _warned(write("", name, ship))
    console.print(f"exported {name}: trials.csv, runs.csv, accuracy.csv, manifest.json, stats.csv, report.md "
                  f"and plots/ in {folder}" + (f"; shipped its rows to {ship}" if ship is not None else ""),
                  highlight=False, soft_wrap=True)


@commands.command("dashboard")
def dashboard_cmd(
    study: str | None = typer.Argument(None, help="a study name (under --results) or a study folder; default: the "
                                                  "study whose database under --results was written last"),
    port: int = typer.Option(8080, help="port to listen on (0: any free port)"),
    host: str = typer.Option("127.0.0.1", help="address to listen on; the default, loopback, keeps the study on "
                                               "this machine"),
    storage: str | None = typer.Option(None, help="storage URL (default: the sqlite file in the study folder, or "
                                                  "the PostgreSQL URL its manifest.json records)"),
    results: Path = typer.Option(Path("results"), help="parent folder of the study folder"),
) -> None:
    """Watch a study in optuna-dashboard, live while it runs: trials, values, per-task reports and each
    trial's stage, label, seed, accuracy and CPU seconds. Read-only. Needs optuna-dashboard (the extra
    named dashboard in pyproject.toml); Ctrl-C stops it."""
    from ..orchestration.dashboard import check_installed, serve
    from ..report.location import dashboard_location
    from ..storage import redact

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0 to 65535, got {port}")
    check_installed()
    name, url = dashboard_location(study, storage, results)

    def ready(address: str) -> None:
        what = f"study {name}" if name else f"the studies in {redact(url)}"
        console.print(f"optuna-dashboard on {address} ({what}; read-only); Ctrl-C stops it",
                      markup=False, highlight=False, soft_wrap=True)

    serve(url, name, host=host, port=port, on_ready=ready)


@commands.command("reproduce")
def reproduce_cmd(
    folder: Path = typer.Argument(..., help="a shipped study folder (results/NAME)"),
    label: list[str] | None = typer.Option(None, "--label", help="a configuration to re-run, as runs.csv labels it "
                                                                 "(repeatable; default: every configuration the "
                                                                 "study compares)"),
    seeds: int = typer.Option(1, help="how many of each configuration's shipped seeds to re-run (its first ones)"),
    reuse_cache: bool = typer.Option(False, "--reuse-cache",
                                     help="take a run from the run cache beside the folder (run_cache.db in its "
                                          "parent, which studies there share) instead of training it, where it "
                                          "holds one"),
    data_dir: Path | None = typer.Option(None, help="where to look for MNIST IDX files"),
) -> None:
    """Train shipped runs again and say, per run, whether they match: identical (every measured value
    equal), within (other code or machine: inside the shipped seeds' range) or differs (exit code 1)."""
    from ..provenance import code_version
    from ..report.reproduce import plan, reproduce, summary

    check_count("--seeds", seeds, MAX_SEEDS)
    check_data_dir(data_dir)
    planned, meta = plan(folder, label, seeds)
    shipped = sorted({str(p.shipped.provenance.get("code_version", "")) for p in planned} - {""})
    console.print(f"re-running {len(planned)} run(s) of {meta.get('study_name') or folder.name} from {folder}: "
                  f"shipped by code {', '.join(shipped) or 'unknown'}, re-run by {code_version()}"
                  + ("" if reuse_cache else "; nothing taken from the run cache"), markup=False, highlight=False,
                  soft_wrap=True)
    outcomes = reproduce(planned, str(meta["objective"]), data_dir=str(data_dir) if data_dir else None,
                         cache_from=folder if reuse_cache else None,
                         on_outcome=lambda o: console.print(o.line(), markup=False, highlight=False, soft_wrap=True))
    console.print(summary(outcomes), markup=False, highlight=False, soft_wrap=True)
    differ = sum(o.verdict == "differs" for o in outcomes)
    if differ:
        raise CommandFailed(f"{differ} of {len(outcomes)} re-run runs differ from the shipped ones")
