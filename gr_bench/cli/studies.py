"""The study commands of `gr-bench`: study, export, report, compare."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..config import ConfigError
from ..errors import DataError
from ..thresholds import DEFAULTS
from .common import (
    MAX_SEED,
    MAX_SEEDS,
    MAX_TRIALS,
    MAX_WORKERS,
    CommandFailed,
    SetOpt,
    check_count,
    check_data_dir,
    check_plugins,
    check_results,
    check_sizes,
    close_hint,
    console,
    number,
)

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


@dataclasses.dataclass(frozen=True)
class StudyRequest:
    """What `gr-bench study NAME` was asked for, once its options are parsed (seeds resolved against
    the study's default count, --workers against the cores); _study_setup checks it and turns it
    into the study's Setup."""

    name: str
    quick: bool = False
    trials: int | None = None  # search budget; None: the study's own
    timeout: float | None = None  # seconds before no new trial starts
    workers: int = 1
    storage: str | None = None  # URL; None: the sqlite file in the study folder
    study_name: str | None = None  # None: study.default_study_name, NAME[-DATASET][-SCENARIO][-quick][-mo][-full]
    results: Path = Path("results")  # parent of the study folder
    dataset: str | None = None
    scenario: str | None = None
    tasks: int | None = None
    seeds: tuple[int, ...] = (0,)
    multi_objective: bool = False
    data_dir: Path | None = None
    sets: tuple[str, ...] = ()  # --set pairs, in order
    dry_run: bool = False  # check and plan only: no dataset load, no folder, no storage
    sequential: int | None = None  # --sequential CAP
    prune: bool = True  # False: --no-prune


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
    from ..study import StudyError

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
    setup = _study_setup(spec, request)
    if dry_run:
        from ..report.summary import plan_line

        console.print(plan_line(spec, setup, power_effect=target_effect / 100))
        console.print(f"folder: {setup.results_dir}", markup=False, highlight=False, soft_wrap=True)
        return
    for line in _reuse(setup, reused):
        console.print(line, highlight=False, soft_wrap=True)
    _run_and_report(setup, power_effect=target_effect / 100, spending=boundary)


def _check_boundary(boundary: str) -> None:
    from ..group_sequential import SPENDING
    from ..study import StudyError

    if boundary not in SPENDING:
        raise StudyError(f"--boundary {boundary}: one of {', '.join(SPENDING)}")


def _known_spec(name: str, quick: bool):
    """The study NAME (its --quick variant), or exit 2 naming the closest studies and every listed one."""
    from ..study import StudyError, get_spec, study_names

    known = study_names(listed_only=False)
    if name not in known:  # the closest names first, then every listed one
        raise StudyError(f"unknown study {name!r}{close_hint(name, known)}; choose from {', '.join(study_names())} "
                         "(gr-bench study --list)")
    return get_spec(name, quick)


def _reuse_records(folders) -> list[Path]:
    """--reuse DIR: folders written by gr-bench export --ship (each holds its runs' records), checked
    before any work."""
    from ..report.shipped import RECORDS
    from ..study import StudyError

    missing = [str(d) for d in folders if not (Path(d) / RECORDS).is_file()]
    if missing:
        raise StudyError(f"--reuse {missing[0]}: no {RECORDS} there (a folder written by gr-bench export --ship)")
    return [Path(d) for d in folders]


def _reuse(setup, folders: list[Path]) -> list[str]:
    """Keep the --reuse folders' recorded runs in the study's run cache; one line per folder."""
    if not folders:
        return []
    from ..report.shipped import RECORDS
    from ..runcache import _open, cache_url, import_records

    cache = _open(cache_url(setup.storage_url, setup.results_dir))
    lines = []
    for d in folders:
        n, same = import_records(cache, d / RECORDS)
        lines.append(f"--reuse {d}: {n} recorded runs kept in the run cache, {same} of them by this code "
                     "(only runs of the same code, config and data are reused)")
    return lines


def _study_setup(spec, request: StudyRequest):
    """The study's Setup from what was asked, checked before any work (options, seeds, dataset, storage
    URL); unless a dry run, the dataset is loaded, the folder and the storage are made, and one line
    says what will run."""
    from ..data import DATASET_NAMES, load_dataset
    from ..files import writable_dir
    from ..report.summary import fidelity_note
    from ..storage import check_study_name, check_url, default_url, open_storage, redact
    from ..study import (
        EVAL_SEED_OFFSET,
        Setup,
        as_pairs,
        check_seeds,
        default_study_name,
        make_config,
        planned_points,
        spec_fingerprint,
    )
    from ..study.sequential import block_plan
    from ..trainer import check_device

    r = request
    check_results(r.results)  # read-only checks first: nothing is loaded or made before they pass
    check_data_dir(r.data_dir)
    if r.sequential is not None:  # the cap against the first block: eval_seeds, or a grid's seeds
        block_plan(r.sequential, spec.eval_seeds if spec.kind == "search" else len(r.seeds))
    setup = Setup(study=r.name, study_name="", storage_url="", results_dir="", quick=r.quick,
                  multi_objective=r.multi_objective, dataset=r.dataset, scenario=r.scenario, n_tasks=r.tasks,
                  seeds=r.seeds, eval_seeds=tuple(EVAL_SEED_OFFSET + i for i in range(spec.eval_seeds)),
                  trials=r.trials or spec.trials, workers=r.workers, timeout=r.timeout,
                  data_dir=str(r.data_dir) if r.data_dir else None, sets=r.sets, sequential=r.sequential,
                  prune=r.prune)
    if r.study_name is not None:
        check_study_name(r.study_name)
    cfg = check_sizes(make_config(spec, setup, [], r.seeds[0]))  # validates --scenario/--tasks/--set before any work
    check_device(cfg.device)
    check_seeds(spec, setup)
    if cfg.data.dataset not in DATASET_NAMES:
        raise DataError(f"unknown dataset {cfg.data.dataset!r}; choose one of: {', '.join(DATASET_NAMES)}")
    study_name = check_study_name(r.study_name or default_study_name(spec, setup))  # names the dataset: checked first
    folder = Path(r.results) / study_name
    url = r.storage or default_url(folder)
    # the definition of the study as it runs in this scenario (that scenario's published figures)
    setup = dataclasses.replace(setup, study_name=study_name, storage_url=url, results_dir=str(folder),
                                definition=spec_fingerprint(spec.in_scenario(cfg.data.scenario)))
    # every run's number of tasks (each grid point's, where the grid sets it) must divide the classes;
    # the seed changes no grid point's config, so each point is composed once (with the first seed)
    task_counts = {cfg.data.n_tasks}
    configs = [cfg]  # every grid point's: their generators and strategies are checked before any run
    if spec.kind == "grid":
        for point in planned_points(spec, setup, "search", seeds=r.seeds[:1]):
            pairs = [q for axis, labels in spec.stored_grid().items() for q in as_pairs(labels[point[axis]])]
            configs.append(make_config(spec, setup, pairs, point["seed"]))
            task_counts.add(configs[-1].data.n_tasks)
    check_url(url)
    if r.dry_run:
        for c in configs:  # plugins smoke-checked at 784 pixels: the dataset is not loaded
            check_plugins(c)
        return setup
    ds = load_dataset(cfg.data.dataset, r.data_dir)
    for c in configs:
        check_plugins(c, input_dim=ds.input_dim, n_outputs=ds.n_classes)
    bad = sorted(n for n in task_counts if ds.n_classes % n)
    if bad:  # refused before the study folder or its storage exist
        valid = ", ".join(str(d) for d in range(1, ds.n_classes + 1) if ds.n_classes % d == 0)
        raise DataError(f"n_tasks={bad[0]} must divide {ds.name}'s {ds.n_classes} classes: choose one of {valid}")
    from ..report.shipped import is_shipped

    if is_shipped(folder):  # the repository's evidence for this study: say that this run replaces it
        print(f"gr-bench: note: {folder} holds this study's shipped rows; this run's exports will replace them "
              "in your working tree (git restore brings them back)", file=sys.stderr)
    writable_dir(folder)
    open_storage(url)  # fails here, with exit code 2, when the URL is malformed or unreachable
    setup = dataclasses.replace(setup, dataset=ds.name)  # every worker uses, and records, the dataset actually used
    console.print(f"study [bold]{study_name}[/] ({spec.kind}): dataset {ds.name}, {len(r.seeds)} seed(s), "
                  f"{setup.workers} worker(s), storage {redact(url)}"
                  + (f", up to {r.sequential} evaluation seeds (--sequential)" if r.sequential else "")
                  + fidelity_note(spec, setup))
    return setup


def objective_text(value: float, objective: str = "final_avg_acc") -> str:
    """A (mean) objective value as progress shows it: the final average accuracy as a percentage
    ('45.6%'); any other objective named, in its own unit (metrics.METRIC_SENSE): 'avg_forgetting
    3.2 points', 'time_total_s 12.34 s'."""
    from ..metrics import METRIC_SENSE

    sense = METRIC_SENSE[objective]
    if objective == "final_avg_acc":
        return f"{sense.scale * value:.1f}%"
    return f"{objective} {sense.scale * value:{'.1f' if sense.unit == 'points' else '.2f'}} {sense.unit}"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _trial_seconds(t) -> float | None:
    """How long a finished trial ran (Optuna's start and end times), or None."""
    if t.datetime_start is None or t.datetime_complete is None:
        return None
    return max((t.datetime_complete - t.datetime_start).total_seconds(), 0.0)


@dataclasses.dataclass
class _StageState:
    """What a stage's last poll found, for the ETA."""

    budget: int
    finished: int = 0
    running: tuple[float, ...] = ()  # seconds each running trial has run so far
    trial_s: float | None = None  # mean seconds per finished trial (every state)
    run_s: float | None = None  # mean seconds per run of the complete trials (a search trial runs one per seed)


class ProgressLines:
    """Plain progress for logs (stdout not a terminal): one line per finished trial (a run, for grid and
    final stages) and, while none finishes, one at least every ``every`` seconds; each with done/total,
    elapsed time, the whole study's ETA and the best mean so far of the study's objective (a run
    metric: see objective_text).

    The ETA is measured, per stage: the mean seconds per finished trial (Optuna's start and end times,
    earlier commands' included) times the trials left, less what the running ones have done, over the
    workers (never less than the longest running trial's remainder). A stage not begun yet (``later``:
    stage -> planned trials, the final stage during the search) and a stage none of whose trials has
    finished count their trials at the search's mean seconds per complete run times ``final_scale``
    (a final run trains longer than a search run at reduced fidelity); the ETA is the sum over stages."""

    def __init__(self, start: float, clock=None, objective: str = "final_avg_acc", *, workers: int = 1,
                 later: dict[str, int] | None = None, final_scale: float = 1.0, every: float = 60.0,
                 grid: bool = False) -> None:
        import time

        self.start, self.clock, self.objective = start, clock or time.time, objective
        self.workers, self.final_scale, self.every = max(int(workers), 1), final_scale, every
        self.later = dict(later or {})  # stages not polled yet -> their planned trials
        self.grid = grid  # a grid's one stage is stored as "search" but shown as "grid"
        self.printed: dict[str, int] = {}  # per stage: finished trials already reported (or found done)
        self.stages: dict[str, _StageState] = {}  # per stage, in the order polled: its last poll
        self.last: float | None = None  # when the last line was printed (or polling began)

    def observe(self, stage: str, study, now: float | None = None) -> list:
        """Record a stage's poll for the ETA; returns its finished trials, in the order they finished."""
        from datetime import datetime

        from optuna.trial import TrialState

        from ..study import FINISHED

        now = self.clock() if now is None else now
        trials = study.get_trials(deepcopy=False)
        finished = sorted((t for t in trials if t.state in FINISHED),
                          key=lambda t: (t.datetime_complete or datetime.max, t.number))
        wall = datetime.fromtimestamp(now)
        running = tuple(max((wall - t.datetime_start).total_seconds(), 0.0) for t in trials
                        if t.state == TrialState.RUNNING and t.datetime_start is not None)
        spans = [s for s in map(_trial_seconds, finished) if s is not None]
        complete = [(s, sum(1 for k in t.user_attrs if k.startswith("run:")) or 1) for t in finished
                    if t.state == TrialState.COMPLETE and (s := _trial_seconds(t)) is not None]
        self.stages[stage] = _StageState(
            budget=max(int(study.user_attrs.get("budget", len(finished))), len(finished)), finished=len(finished),
            running=running, trial_s=sum(spans) / len(spans) if spans else None,
            run_s=sum(s for s, _ in complete) / sum(n for _, n in complete) if complete else None)
        self.later.pop(stage, None)
        return finished

    def shown(self, stage: str) -> str:
        """The stage's name for a reader: a grid's points are no search."""
        return "grid" if self.grid and stage == "search" else stage

    def eta(self, now: float | None = None) -> str:
        """The whole study's ETA: '1h05m (search 20m00s + final 45m00s)', '3m20s', or 'unknown'."""
        now = self.clock() if now is None else now
        search = self.stages.get("search")
        scaled = search.run_s * self.final_scale if search and search.run_s is not None else None
        parts = []
        for stage, st in [*self.stages.items(), *((s, _StageState(budget=n)) for s, n in self.later.items())]:
            queued = max(st.budget - st.finished - len(st.running), 0)
            mean = st.trial_s if st.trial_s is not None else None if stage == "search" else scaled
            if not queued and not st.running:
                continue
            if mean is None:
                return "unknown"
            left = [max(mean - s, 0.0) for s in st.running] + [mean] * queued
            parts.append((stage, max(sum(left) / self.workers, max(left))))
        total = _duration(sum(s for _, s in parts))
        return total + (f" ({' + '.join(f'{st} {_duration(s)}' for st, s in parts)})" if len(parts) > 1 else "")

    def update(self, stage: str, study) -> list[str]:
        from ..report.compare import best_mean

        now = self.clock()
        finished = self.observe(stage, study, now)
        st = self.stages[stage]
        first = self.printed.setdefault(stage, len(finished))  # a resumed stage: earlier trials are not news
        eta = self.eta(now)

        def line(i: int, running: str = "") -> str:
            states = [t.state.name for t in finished[:i]]
            extra = ", ".join(f"{states.count(s)} {w}" for s, w in (("PRUNED", "pruned"), ("FAIL", "failed"))
                              if states.count(s))
            best = best_mean(study, finished[:i])
            best_text = (f", best {best[0]} {objective_text(best[1], self.objective)} "
                         f"(mean of {best[2]} run{'s' if best[2] != 1 else ''})" if best else "")
            return (f"{self.shown(stage)}: {i}/{st.budget} done{f' ({extra})' if extra else ''}{running}, elapsed "
                    f"{_duration(now - self.start)}, ETA {eta}{best_text}")

        lines = [line(i) for i in range(first + 1, len(finished) + 1)]
        if not lines and self.last is not None and now - self.last >= self.every and len(finished) < st.budget:
            lines.append(line(len(finished), f", {len(st.running)} running"))  # a sign of life, at least this often
        if lines or self.last is None:
            self.last = now
        self.printed[stage] = len(finished)
        return lines


def _later_stages(spec, setup) -> dict[str, int]:
    """The trials of the stages after the search, before it has made them: a search's final stage
    runs its best `top`, the references, at most one attribution swap per group and reference and
    one compute-matched control per reference, each on every evaluation seed (an upper bound)."""
    if spec.kind != "search":
        return {}
    refs = len(spec.reference)
    configs = spec.top + refs + len(spec.attribution or {}) * refs + (refs if spec.compute_matched else 0)
    return {"final": configs * len(setup.eval_seeds)}


def _final_scale(spec, setup) -> float:
    """How much longer a final-stage run trains than one search run: the search fidelity's epochs (or
    iterations) against the full ones (search_overrides rounds them up), and, counted in epochs, the
    whole training split against the search's, which holds out val_fraction."""
    from ..study import make_config

    full, search = make_config(spec, setup, [], 0), make_config(spec, setup, [], 0, search=True)

    def length(cfg) -> float:
        t = cfg.train
        return float(sum(v for v in (t.epochs, t.vae_epochs, t.iters, t.vae_iters) if v) or 1)

    data = 1.0 if full.train.iters else 1.0 / (1.0 - search.data.val_fraction)
    return length(full) / length(search) * data


def _look_line(entry: dict) -> str:
    """One line per --sequential look: seeds, what is undecided and what happens next."""
    head = f"sequential look {entry['look']}: {entry['seeds']} seeds, " \
           f"{len(entry['undecided'])} of {len(entry['verdicts'])} comparisons undecided"
    if entry["stopped"]:
        return head + f"; stopped: {entry['stopped']}"
    return head + f"; adding seeds up to {entry['next']} for {len(entry['open'])} configuration(s): " \
                  + ", ".join(entry["open"])


def _run_and_report(setup, *, power_effect: float = DEFAULTS.power_effect, spending: str = "pocock") -> None:
    import time

    from ..report.compare import best_mean
    from ..report.summary import write
    from ..study import get_spec, stage_counts

    spec = get_spec(setup.study, setup.quick)
    objective = spec.objective
    start = time.time()
    lines = ProgressLines(start, objective=objective, workers=setup.workers, later=_later_stages(spec, setup),
                          final_scale=_final_scale(spec, setup), grid=spec.kind == "grid")
    looks = {"on_look": lambda entry: console.print(_look_line(entry), markup=False, highlight=False, soft_wrap=True),
             "power_effect": power_effect, "spending": spending}
    if not console.is_terminal:  # a log or a pipe: plain lines, no live bar

        def print_lines(stage, study) -> None:
            for line in lines.update(stage, study):
                console.print(line, markup=False, highlight=False, soft_wrap=True)

        stages = _run_study(setup, print_lines, **looks)
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.fields[eta]}"), console=console, transient=False) as progress:
            bars: dict[str, TaskID] = {}

            def on_poll(stage, study) -> None:
                c = stage_counts(study)
                done = c["complete"] + c["pruned"] + c["fail"]
                budget = study.user_attrs.get("budget", done)
                if stage not in bars:
                    bars[stage] = progress.add_task(lines.shown(stage), total=budget, eta="")
                best = best_mean(study)
                best_text = f", best {escape(best[0])} {objective_text(best[1], objective)} (mean)" if best else ""
                lines.observe(stage, study)
                eta = f"study ETA {lines.eta()}"  # the whole study's, as the plain lines give it
                progress.update(bars[stage], completed=done, total=budget,
                                description=f"{lines.shown(stage)}: {c['running']} running{best_text}", eta=eta)

            stages = _run_study(setup, on_poll, **looks)
    failure = _every_trial_failed(setup, stages)
    if failure:  # the CSVs (trials.csv gives every reason), no report: there is nothing to compare
        from ..export import export_study
        from ..storage import open_storage

        export_study(open_storage(setup.storage_url), setup.storage_url, setup.study_name, Path(setup.results_dir))
        raise CommandFailed(failure)
    _show(write(setup.storage_url, setup.study_name, Path(setup.results_dir), setup.study,
                power_effect=None if setup.sequential else power_effect))  # sequential: the stored plan's
    console.print(f"took {time.time() - start:.0f} s")
    if any(st.user_attrs.get("budget", 0) > sum(1 for t in st.get_trials(deepcopy=False) if t.state.is_finished())
           for st in stages.values()):
        console.print("[yellow]budget not reached (timeout): re-run the same command to continue[/]")


def _run_study(setup, on_poll, **looks):
    """run_study; a study that failed while running (its workers died, or no search trial
    completed) raises CommandFailed: exit code 1, the reason on stderr."""
    from ..study import StudyError, run_study

    try:
        return run_study(setup, on_poll, **looks)
    except RuntimeError as e:
        raise CommandFailed(f"study {setup.study_name!r} failed: {e}") from None
    except StudyError as e:
        from ..storage import load_study, open_storage
        from ..study import stage_done

        search = load_study(open_storage(setup.storage_url), setup.stage_name("search"))
        if search is not None and stage_done(search) and not _completed(search.get_trials(deepcopy=False)):
            raise CommandFailed(f"study failed: {e}{_first_reason(search.get_trials(deepcopy=False))}") from None
        raise


def _completed(trials) -> bool:
    from optuna.trial import TrialState

    return any(t.state == TrialState.COMPLETE for t in trials)


def _first_reason(trials) -> str:
    reason = next((t.user_attrs["reason"] for t in trials if t.user_attrs.get("reason")), "")
    return f" (first failure: {reason})" if reason else ""


def _every_trial_failed(setup, stages) -> str:
    """Why the study failed when every trial it ran failed (a failed study: exit code 1), else ""."""
    from optuna.trial import TrialState

    trials = [t for st in stages.values() for t in st.get_trials(deepcopy=False)]
    if any(t.state == TrialState.FAIL for t in trials) and not _completed(trials):
        return (f"study {setup.study_name!r} failed: none of its {len(trials)} trials completed"
                f"{_first_reason(trials)}; trials.csv gives every reason")
    return ""


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


def _study_location(study: str, storage: str | None, results: Path) -> tuple[str, Path, str]:
    """A study name or its folder -> (name, folder, storage URL); exit 2 when there is no such study,
    naming the closest studies there are (study folders under --results, the studies' definitions,
    or the studies in --storage)."""
    from ..report.shipped import is_shipped, load
    from ..storage import check_study_name, default_url, load_study, open_storage
    from ..study import StudyError

    path = Path(study)
    if storage is None and is_shipped(path):  # shipped rows, no storage: url ""
        return str(load(path)[1].get("study_name") or path.name), path, ""
    if path.is_dir() and (path / "study.db").exists() or "/" in study:
        folder, name = path, path.name
    else:
        check_results(results)
        name, folder = study, Path(results) / study
    check_study_name(name)
    if storage is None and not (folder / "study.db").exists():
        from ..study import study_names

        ran = [d.name for d in folder.parent.iterdir() if (d / "study.db").is_file()] if folder.parent.is_dir() else []
        hint = close_hint(name, ran) or close_hint(name, study_names(listed_only=False))
        raise StudyError(f"no study database at {folder / 'study.db'}{hint or '; pass --storage'}")
    url = storage or default_url(folder)
    store = open_storage(url)
    if load_study(store, name) is None:
        import optuna

        stored = [n for n in optuna.get_all_study_names(store) if ":" not in n]  # not the stages after the first
        raise StudyError(f"no study named {name!r} in that storage{close_hint(name, stored)}")
    return name, folder, url


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
    from ..report.summary import write

    name, folder, url = _study_location(study, storage, results)
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
) -> None:
    """Compare two stored configurations of a study: paired by seed when they share seeds."""
    from ..metrics import METRIC_SENSE
    from ..report.compare import compare_study

    if metric not in METRIC_SENSE:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRIC_SENSE)}")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be in (0, 1), got {alpha}")
    if min_effect is not None and not min_effect >= 0:
        raise ConfigError(f"--min-effect must be >= 0, got {min_effect}")
    name, _, url = _study_location(study, storage, results)
    out = compare_study(url, name, a, b, metric, allow_mixed=allow_mixed, alpha=alpha, min_effect=min_effect)
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
    from ..report.shipped import ship as ship_rows
    from ..report.summary import write

    name, folder, url = _study_location(study, storage, results)
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
    from ..storage import redact
    from ..study.dashboard import check_installed, serve

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0 to 65535, got {port}")
    check_installed()
    name, url = _dashboard_location(study, storage, results)

    def ready(address: str) -> None:
        what = f"study {name}" if name else f"the studies in {redact(url)}"
        console.print(f"optuna-dashboard on {address} ({what}; read-only); Ctrl-C stops it",
                      markup=False, highlight=False, soft_wrap=True)

    serve(url, name, host=host, port=port, on_ready=ready)


def _dashboard_location(study: str | None, storage: str | None, results: Path) -> tuple[str | None, str]:
    """(study name, storage URL) for gr-bench dashboard: no STUDY, the study database under
    --results written last (or, with --storage, every study in that storage); a study folder without
    a database, the PostgreSQL URL its manifest.json records (without the password, which libpq then
    reads from $PGPASSWORD or ~/.pgpass). A shipped folder holds rows, not a storage: exit 2."""
    import json

    from ..report.shipped import is_shipped
    from ..storage import check_url, without_password
    from ..study import StudyError

    if study is None:
        if storage is not None:
            check_url(storage)
            return None, storage
        check_results(results)
        found = sorted(Path(results).glob("*/study.db"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise StudyError(f"no study database under {results}/: name a study or its folder, or pass --storage URL")
        study = str(found[-1].parent)
    path = Path(study)
    folder = path if path.is_dir() or "/" in study else Path(results) / study
    if storage is None and not (folder / "study.db").exists():
        try:
            recorded = str(json.loads((folder / "manifest.json").read_text()).get("storage") or "")
        except (OSError, ValueError):
            recorded = ""
        if recorded.startswith("postgresql"):
            storage = without_password(recorded)
        elif is_shipped(folder):
            raise StudyError(f"{folder} holds a shipped study's rows, not its storage: `gr-bench report {folder}` "
                             "rebuilds its report from them")
    name, _, url = _study_location(study, storage, results)
    return name, url


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
