"""run_study: every stage of a study, in order, each to its budget."""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from ..storage import load_study, open_storage
from .setup import Setup, check_seeds, make_config
from .spec import StudyError, get_spec
from .stages import ensure_stage, final_configs, stage_done
from .workers import run_stage


def run_study(setup: Setup, on_poll: Callable[[str, optuna.Study], None] | None = None) -> dict[str, optuna.Study]:
    """Run (or resume) every stage of a study to its budget; returns the stage studies."""
    spec = get_spec(setup.study, setup.quick)
    storage = open_storage(setup.storage_url)
    from ..data import prepare

    check_seeds(spec, setup)
    prepare(make_config(spec, setup, [], 0).data.dataset, setup.data_dir)  # fetch once, not in every worker
    deadline = time.time() + setup.timeout if setup.timeout else None
    poll = (lambda stage: (lambda s: on_poll(stage, s))) if on_poll else (lambda stage: None)
    stages = {"search": ensure_stage(storage, spec, setup, "search")}
    run_stage(setup, "search", stages["search"], deadline, poll("search"))
    if spec.kind == "search" and stage_done(stages["search"]):
        if not any(t.state == TrialState.COMPLETE for t in stages["search"].get_trials(deepcopy=False)):
            raise StudyError(f"study {setup.study_name!r}: no search trial completed, nothing to re-evaluate")
        existing = load_study(storage, setup.stage_name("final"))
        if existing:
            configs, entries = existing.user_attrs.get("final_configs"), existing.user_attrs.get("attribution", [])
        else:
            configs, entries = final_configs(spec, stages["search"], setup)
        stages["final"] = ensure_stage(storage, spec, setup, "final", configs, entries)
        run_stage(setup, "final", stages["final"], deadline, poll("final"))
    return stages
