"""run_study: every stage of a study, in order, each to its budget; with --sequential, the compared
stage grows by blocks of seeds between looks (sequential.py). Then how it ended: a study that failed
while running (search_failure, every_trial_failed) or stopped short of its budget (short_of_budget)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.trial import TrialState

from .. import generator_tracks
from ..group_sequential import DEFAULT_SPENDING
from ..storage import load_study, open_storage
from ..thresholds import DEFAULTS
from . import sequential
from .setup import Setup, check_seeds, compared_stage, make_config
from .spec import StudyError, StudySpec, get_spec
from .stages import ensure_stage, final_configs, stage_done
from .workers import run_stage


def run_study(setup: Setup, on_poll: Callable[[str, optuna.Study], None] | None = None, *,
              on_look: Callable[[dict], None] | None = None, alpha: float = DEFAULTS.alpha,
              min_effect: float = DEFAULTS.min_effect, power_effect: float = DEFAULTS.power_effect,
              spending: str = DEFAULT_SPENDING) -> dict[str, optuna.Study]:
    """Run (or resume) every stage of a study to its budget; returns the stage studies.

    With setup.sequential, ``alpha`` (spent over the looks by ``spending``, a
    group_sequential.SPENDING name), ``min_effect`` and ``power_effect`` (the report's thresholds)
    make the plan stored when the compared stage is created; a resume keeps the stored plan.
    ``on_look`` gets each look (sequential.decide's dict)."""
    spec = get_spec(setup.study, setup.quick)
    storage = open_storage(setup.storage_url)
    from ..data import prepare

    check_seeds(spec, setup)
    plan = (sequential.make_plan(spec, setup, alpha=alpha, min_effect=min_effect, power_effect=power_effect,
                                 spending=spending) if setup.sequential else None)
    prepare(make_config(spec, setup, [], 0).data.dataset, setup.data_dir)  # fetch once, not in every worker
    deadline = time.time() + setup.timeout if setup.timeout else None
    poll = (lambda stage: (lambda s: on_poll(stage, s))) if on_poll else (lambda stage: None)
    stages = {"search": ensure_stage(storage, spec, setup, "search", sequential=plan if spec.kind == "grid" else None)}
    _run(storage, spec, setup, "search", stages["search"], deadline, poll, on_look)
    if spec.kind == "search" and stage_done(stages["search"]):
        if not any(t.state == TrialState.COMPLETE for t in stages["search"].get_trials(deepcopy=False)):
            raise StudyError(f"study {setup.study_name!r}: no search trial completed, nothing to re-evaluate")
        existing = load_study(storage, setup.stage_name("final"))
        if existing:
            configs, entries = existing.user_attrs.get("final_configs"), existing.user_attrs.get("attribution", [])
        else:
            configs, entries = final_configs(spec, stages["search"], setup)
        stages["final"] = ensure_stage(storage, spec, setup, "final", configs, entries, sequential=plan)
        _run(storage, spec, setup, "final", stages["final"], deadline, poll, on_look)
        if stage_done(stages["final"]):  # the generators its runs shared are needed no more
            shutil.rmtree(Path(setup.results_dir) / generator_tracks.FOLDER, ignore_errors=True)
    return stages


def _run(storage, spec: StudySpec, setup: Setup, stage: str, study: optuna.Study, deadline: float | None,
         poll: Callable, on_look: Callable[[dict], None] | None) -> None:
    """Run a stage to its budget. The compared stage of a --sequential study then looks at its
    verdicts and, while one is undecided below the cap, queues the next block of seeds for the
    configurations of the undecided comparisons and runs on;
    everything it decides from is in storage, so a resume picks up where a kill left off."""
    while True:
        run_stage(setup, stage, study, deadline, poll(stage))
        if not setup.sequential or stage != compared_stage(spec) or not stage_done(study):
            return
        entry = sequential.look(storage, spec, setup, study)
        if on_look:
            on_look(entry)
        if entry["stopped"]:
            return
        sequential.add_block(storage, spec, setup, study, entry["next"], entry["open"])


# --- how a study ended: failed (exit code 1) or short of its budget ------------------------------

def _completed(trials) -> bool:
    return any(t.state == TrialState.COMPLETE for t in trials)


def _first_reason(trials) -> str:
    reason = next((t.user_attrs["reason"] for t in trials if t.user_attrs.get("reason")), "")
    return f" (first failure: {reason})" if reason else ""


def search_failure(setup: Setup) -> str | None:
    """After run_study raised StudyError: when its search stage is done and none of its trials
    completed, the study failed while running (not its input), and this is the clause that names
    the first failure's reason ("" when none was recorded); None otherwise."""
    search = load_study(open_storage(setup.storage_url), setup.stage_name("search"))
    if search is not None and stage_done(search) and not _completed(search.get_trials(deepcopy=False)):
        return _first_reason(search.get_trials(deepcopy=False))
    return None


def every_trial_failed(setup: Setup, stages: dict[str, optuna.Study]) -> str:
    """Why the study failed when every trial it ran failed (a failed study: exit code 1), else ""."""
    trials = [t for st in stages.values() for t in st.get_trials(deepcopy=False)]
    if any(t.state == TrialState.FAIL for t in trials) and not _completed(trials):
        return (f"study {setup.study_name!r} failed: none of its {len(trials)} trials completed"
                f"{_first_reason(trials)}; trials.csv gives every reason")
    return ""


def short_of_budget(stages: dict[str, optuna.Study]) -> bool:
    """A stage finished fewer trials than its budget (a --timeout stopped it): the same command resumes it."""
    return any(st.user_attrs.get("budget", 0) > sum(1 for t in st.get_trials(deepcopy=False) if t.state.is_finished())
               for st in stages.values())
