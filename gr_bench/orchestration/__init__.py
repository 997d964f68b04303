"""Studies: many configurations x seeds on Optuna, stored, resumable, on one machine or many.

A study has up to two stages, each an Optuna study in the same storage:
- ``search`` (replay_schedule, lr, generator_size): a seeded TPE sampler proposes a configuration per
  trial; each trial runs it on every search seed on the *validation* split; the objective is the
  mean over seeds. Pruning uses the average accuracy reported after each task.
  ``final``: the best configurations (and a reference) re-run on the *test* split with evaluation
  seeds never used in the search, one trial per (configuration, seed).
- ``grid`` (baselines, memory, task_scaling, generator, replay_mode): one trial per (grid point, seed)
  on the test split.

Budgets are exact across workers and machines: the process that creates a stage enqueues its
trials as WAITING, and workers only claim WAITING trials (an atomic state change in the storage),
so no worker ever creates a surplus trial. A worker keeps a heartbeat on its running trial; when
it dies, the trial goes stale, is failed and queued again (RetryFailedTrialCallback), so a re-run
of the same command finishes exactly the missing work. Per-seed results are stored as trial user
attributes only when the trial ends, so a killed trial leaves nothing half-stored.

``--sequential CAP`` (sequential.py) grows the compared stage (a search's final stage, a grid) by
blocks of seeds until every primary comparison is decided or CAP seeds have run, each look at
alpha / looks; ``--no-prune`` runs a search's trials at full fidelity.
"""

from ..storage import StorageError
from .run_study import run_study
from .setup import (
    EVAL_SEED_OFFSET,
    Setup,
    as_pairs,
    check_seeds,
    compared_stage,
    default_study_name,
    make_config,
    seed_choices,
    study_n_tasks,
)
from .spec import Section, StudyError, StudySpec, get_spec, spec_fingerprint, study_names
from .stages import FINISHED, ensure_stage, final_configs, planned_points, stage_counts, stage_done

__all__ = ["study_names", "Section", "Setup", "StudyError", "StudySpec", "StorageError", "get_spec", "run_study",
           "EVAL_SEED_OFFSET", "FINISHED", "as_pairs", "check_seeds", "ensure_stage", "final_configs",
           "compared_stage", "default_study_name", "make_config", "planned_points", "seed_choices",
           "spec_fingerprint", "stage_counts", "stage_done", "study_n_tasks"]
