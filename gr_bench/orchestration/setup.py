"""One `gr-bench study` invocation resolved (Setup), and the one place a trial's config is composed
(make_config: the study's base, then --dataset/--scenario/--tasks, then --set, then the trial's own)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from ..config import RunConfig, with_overrides
from .spec import StudyError, StudySpec

EVAL_SEED_OFFSET = 1000  # final-stage seeds start here, far from the search seeds 0..n-1


@dataclass(frozen=True)
class Setup:
    """Everything one `gr-bench study` invocation resolved; shared by its workers."""

    study: str
    study_name: str
    storage_url: str
    results_dir: str
    quick: bool = False
    multi_objective: bool = False
    dataset: str | None = None
    scenario: str | None = None
    n_tasks: int | None = None
    seeds: tuple[int, ...] = ()
    eval_seeds: tuple[int, ...] = ()
    trials: int = 0
    workers: int = 1
    timeout: float | None = None
    data_dir: str | None = None
    sets: tuple[str, ...] = ()  # --set NAME=VALUE pairs applied to every run, after the study's base
    definition: str = ""  # spec_fingerprint() of the study module's StudySpec
    # --sequential CAP: the compared stage's seeds (eval_seeds, a grid's seeds) are its first block;
    # more blocks are added until every primary comparison is decided or CAP seeds ran (sequential.py)
    sequential: int | None = None
    prune: bool = True  # --no-prune: search trials at full fidelity (the pruner is never consulted)

    def identity(self) -> dict[str, object]:
        """What fixes the science of a study; a resume must not change it. Options added later enter
        only when set, so a study stored before them keeps its identity and resumes."""
        keys = ("study", "quick", "multi_objective", "dataset", "scenario", "n_tasks", "seeds", "eval_seeds", "sets",
                "definition")
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(self, k)) for k in keys)}
        if self.sequential is not None:
            out["sequential"] = self.sequential
        if not self.prune:
            out["prune"] = False
        return out

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Setup:
        d = json.loads(text)
        for key in ("seeds", "eval_seeds", "sets"):
            d[key] = tuple(d[key])
        return cls(**d)

    def stage_name(self, stage: str) -> str:
        return self.study_name if stage == "search" else f"{self.study_name}:{stage}"


def as_pairs(overrides: dict[str, object]) -> list[str]:
    """Overrides as `name=value` strings: JSON-safe in storage, parsed back by with_overrides."""
    return [f"{k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}" for k, v in overrides.items()]


def make_config(spec: StudySpec, setup: Setup, pairs: list[str], seed: int, search: bool = False) -> RunConfig:
    """``search``: a search trial's run, trained at the study's search fidelity (search_overrides)."""
    passthrough = {"dataset": setup.dataset, "scenario": setup.scenario, "n_tasks": setup.n_tasks}
    cfg = with_overrides(RunConfig(), as_pairs(spec.base))
    cfg = with_overrides(cfg, as_pairs({k: v for k, v in passthrough.items() if v is not None}))
    cfg = with_overrides(cfg, list(setup.sets))
    cfg = with_overrides(cfg, [*pairs, f"seed={seed}"])
    return with_overrides(cfg, search_overrides(spec, setup, cfg)) if search else cfg


def default_study_name(spec: StudySpec, setup: Setup) -> str:
    """The study's name in its storage and the name of its folder under --results, unless
    --study-name gives one: NAME[-DATASET][-SCENARIO][-quick][-mo][-full]. The dataset (--dataset,
    or --set dataset=) is named only when it is not the study's own (its base; "auto" counts as
    "mnist", the data it stands for), and the scenario only when it is not the study's own
    (StudySpec.own_scenario): a shipped study run again with its manifest's command writes into the
    folder it was shipped in, and a study run in another scenario never shares a folder, a storage
    or a report with its own scenario's runs."""
    own = make_config(spec, dataclasses.replace(setup, dataset=None, sets=()), [], 0).data.dataset
    asked = make_config(spec, setup, [], 0).data

    def data(name: str) -> str:
        return "mnist" if name == "auto" else name

    parts = [setup.study]
    if data(asked.dataset) != data(own):
        parts.append(asked.dataset)
    if asked.scenario != spec.own_scenario():
        parts.append(asked.scenario)
    parts += [s for s, on in (("quick", setup.quick), ("mo", setup.multi_objective), ("full", not setup.prune)) if on]
    return "-".join(parts)


def search_share(spec: StudySpec, setup: Setup) -> float | None:
    """The share of each task's training a search trial runs; None = all (--no-prune, or unset)."""
    return spec.search_fidelity if spec.kind == "search" and setup.prune else None


def search_overrides(spec: StudySpec, setup: Setup, cfg: RunConfig) -> list[str]:
    """A search trial's training lengths at the study's search fidelity: each of epochs, vae_epochs,
    iters and vae_iters (those set) times the share, rounded up. Every task is still trained on, in
    order, so a schedule that pays off only once several tasks must be remembered can show it
    (pruning after the first tasks cannot: see studies/replay_schedule.py)."""
    share = search_share(spec, setup)
    if share is None:
        return []
    t = cfg.train
    lengths = {"epochs": t.epochs, "vae_epochs": t.vae_epochs, "iters": t.iters, "vae_iters": t.vae_iters}
    return [f"{k}={max(1, math.ceil(v * share))}" for k, v in lengths.items() if v is not None]


def final_scale(spec: StudySpec, setup: Setup) -> float:
    """How much longer a final-stage run trains than one search run: the search fidelity's epochs (or
    iterations) against the full ones (search_overrides rounds them up), and, counted in epochs, the
    whole training split against the search's, which holds out val_fraction."""
    full, search = make_config(spec, setup, [], 0), make_config(spec, setup, [], 0, search=True)

    def length(cfg: RunConfig) -> float:
        t = cfg.train
        return float(sum(v for v in (t.epochs, t.vae_epochs, t.iters, t.vae_iters) if v) or 1)

    data = 1.0 if full.train.iters else 1.0 / (1.0 - search.data.val_fraction)
    return length(full) / length(search) * data


def study_n_tasks(spec: StudySpec, setup: Setup) -> int:
    """The number of tasks of the study's runs: its base, then --tasks, then --set n_tasks=N."""
    return make_config(spec, setup, [], 0).data.n_tasks


def compared_stage(spec: StudySpec) -> str:
    """The stage whose runs the report compares: a search's final stage, a grid's only stage."""
    return "final" if spec.kind == "search" else "search"


def first_block(spec: StudySpec, setup: Setup) -> tuple[int, ...]:
    """The compared stage's seeds as planned: a search's eval_seeds, a grid's seeds."""
    return setup.eval_seeds if spec.kind == "search" else setup.seeds


def seed_choices(spec: StudySpec, setup: Setup) -> tuple[int, ...]:
    """Every seed the compared stage may run: its first block (eval_seeds, or a grid's seeds) and,
    with --sequential CAP, the seeds after the largest of them up to CAP in all (EVAL_SEED_OFFSET + i
    for a search). A stage's trials all suggest "seed" from this one list (Optuna refuses a
    categorical parameter whose choices change within a study)."""
    first = first_block(spec, setup)
    if not setup.sequential or setup.sequential <= len(first):
        return tuple(first)
    return (*first, *range(max(first) + 1, max(first) + 1 + setup.sequential - len(first)))


def check_seeds(spec: StudySpec, setup: Setup) -> None:
    """A search's final stage must evaluate on seeds the search never saw (with --sequential, on
    every seed it may add)."""
    if spec.kind != "search":
        return
    evals = seed_choices(spec, setup)
    overlap = sorted(set(setup.seeds) & set(evals))
    if overlap:
        raise StudyError(f"search seeds {','.join(map(str, overlap))} are also evaluation seeds "
                         f"({evals[0]}..{evals[-1]}): choose search seeds below "
                         f"{min(evals)} or outside that range")
