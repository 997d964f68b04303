"""What a running study prints: the line that says what will run (start_line), its progress while it
runs (watching: live bars on a terminal, ProgressLines in a log), with the whole study's measured ETA
and the best mean so far of its objective, and one line per --sequential look (look_line)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .two_configs import best_mean


def objective_text(value: float, objective: str = "final_avg_acc") -> str:
    """A (mean) objective value as progress shows it: the final average accuracy as a percentage
    ('45.6%'); any other objective named, in its own unit (metrics.METRIC_SENSE): 'avg_forgetting
    3.2 points', 'time_total_s 12.34 s'."""
    from ..metrics import METRIC_SENSE

    sense = METRIC_SENSE[objective]
    if objective == "final_avg_acc":
        return f"{sense.scale * value:.1f}%"
    return f"{objective} {sense.scale * value:{'.1f' if sense.unit == 'points' else '.2f'}} {sense.unit}"


def start_line(spec, setup) -> str:
    """The line (rich markup) a study prints once its folder and storage are made: what will run, where."""
    from ..storage import redact
    from .summary import fidelity_note

    return (f"study [bold]{setup.study_name}[/] ({spec.kind}): dataset {setup.dataset}, {len(setup.seeds)} seed(s), "
            f"{setup.workers} worker(s), storage {redact(setup.storage_url)}"
            + (f", up to {setup.sequential} evaluation seeds (--sequential)" if setup.sequential else "")
            + fidelity_note(spec, setup))


def look_line(entry: dict) -> str:
    """One line per --sequential look: seeds, what is undecided and what happens next."""
    head = f"sequential look {entry['look']}: {entry['seeds']} seeds, " \
           f"{len(entry['undecided'])} of {len(entry['verdicts'])} comparisons undecided"
    if entry["stopped"]:
        return head + f"; stopped: {entry['stopped']}"
    return head + f"; adding seeds up to {entry['next']} for {len(entry['open'])} configuration(s): " \
                  + ", ".join(entry["open"])


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

        from ..orchestration import FINISHED

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


@dataclasses.dataclass
class _LiveBars:
    """One live bar per stage on a terminal: done/budget, elapsed, running trials, the best mean so far
    and the whole study's ETA (as ProgressLines measures it)."""

    progress: Progress
    lines: ProgressLines
    objective: str
    bars: dict[str, TaskID] = dataclasses.field(default_factory=dict)

    def poll(self, stage: str, study) -> None:
        from ..orchestration import stage_counts

        c = stage_counts(study)
        done = c["complete"] + c["pruned"] + c["fail"]
        budget = study.user_attrs.get("budget", done)
        if stage not in self.bars:
            self.bars[stage] = self.progress.add_task(self.lines.shown(stage), total=budget, eta="")
        best = best_mean(study)
        best_text = f", best {escape(best[0])} {objective_text(best[1], self.objective)} (mean)" if best else ""
        self.lines.observe(stage, study)
        eta = f"study ETA {self.lines.eta()}"  # the whole study's, as the plain lines give it
        self.progress.update(self.bars[stage], completed=done, total=budget,
                             description=f"{self.lines.shown(stage)}: {c['running']} running{best_text}", eta=eta)


@contextmanager
def watching(console: Console, spec, setup, start: float) -> Iterator[Callable]:
    """The on_poll for run_study that shows the study's progress on `console`, begun at `start`: live
    bars on a terminal; on a log or a pipe, plain lines (ProgressLines), no live bar."""
    from ..orchestration.setup import final_scale
    from ..orchestration.stages import later_stages

    lines = ProgressLines(start, objective=spec.objective, workers=setup.workers, later=later_stages(spec, setup),
                          final_scale=final_scale(spec, setup), grid=spec.kind == "grid")
    if not console.is_terminal:

        def print_lines(stage, study) -> None:
            for line in lines.update(stage, study):
                console.print(line, markup=False, highlight=False, soft_wrap=True)

        yield print_lines
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[eta]}"), console=console, transient=False) as progress:
        yield _LiveBars(progress, lines, spec.objective).poll
