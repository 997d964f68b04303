"""--sequential CAP: seeds added in blocks until every primary comparison is decided or CAP is reached.

A block is the compared stage's first seeds: a search's eval_seeds (its final stage), a grid's
seeds. After each block, the study's objective is compared as the report compares it (the primary
Holm family of comparisons.primary_verdicts, on the stage's runs as stored.stage_runs reads them
from the storage). While a comparison is undecided ("underpowered", "no evidence" or
"inconclusive") and fewer than CAP seeds have run, the next block of seeds is queued for every
configuration of the stage, and the stage runs again.

Looking after every block inflates the false-positive rate, so alpha is split evenly over the
planned looks (Bonferroni): with K = ceil(CAP / block) looks, every look, and the report, tests
at alpha / K. The plan and every look are the compared stage's user attribute "sequential"
(`gr-bench report` reads the alpha there); the seeds that ran are the stage's own trials. A
resume therefore continues from storage: it looks again at the seeds stored, and queues only
what is missing.
"""

from __future__ import annotations

import json
import math
import time

import optuna

from ..thresholds import DEFAULTS
from .setup import Setup, compared_stage, first_block, seed_choices
from .spec import StudyError, StudySpec
from .stages import generator_followers, planned_points
from .stored import attribution_entries, stage_runs, stage_studies

ATTR = "sequential"  # the compared stage's user attribute holding the plan and its looks
DECIDED = ("better", "worse", "equivalent", "negligible")  # "equivalent within ±1 point" included


def decided(verdict: str) -> bool:
    """Whether a verdict settles its comparison: better, worse, equivalent or negligible;
    "underpowered", "no evidence" and "inconclusive" call for more seeds."""
    return any(verdict == d or verdict.startswith(d + " ") for d in DECIDED)


def block_plan(cap: int, block: int) -> list[int]:
    """The seeds run at each look: block, 2 * block, ..., CAP (the last block may be shorter)."""
    if block < 1 or cap < block:
        raise StudyError(f"--sequential {cap}: the cap must be at least the study's first block of {block} seeds")
    return [min(cap, block * i) for i in range(1, math.ceil(cap / block) + 1)]


def stored_plan(stages) -> dict | None:
    """The --sequential plan of a study (stage name -> optuna.Study), or None for a plain study.
    Only the compared stage carries one (ensure_stage stores it there)."""
    return next((st.user_attrs[ATTR] for st in stages.values() if ATTR in st.user_attrs), None)


def look_alpha(alpha: float, looks: int) -> float:
    """Bonferroni over the planned looks: the alpha of every look and of the report."""
    return alpha / looks


def make_plan(spec: StudySpec, setup: Setup, *, alpha: float = DEFAULTS.alpha, min_effect: float = DEFAULTS.min_effect,
              power_effect: float = DEFAULTS.power_effect) -> dict:
    """The plan stored with the compared stage: looks, the alpha of each and the thresholds the
    verdicts use (the report reuses them, so it gives the last look's verdicts)."""
    block = len(first_block(spec, setup))
    seeds_at = block_plan(setup.sequential or block, block)
    return {"cap": setup.sequential, "block": block, "looks": len(seeds_at), "seeds_at": seeds_at, "alpha": alpha,
            "alpha_look": look_alpha(alpha, len(seeds_at)), "metric": spec.objective, "min_effect": min_effect,
            "power_effect": power_effect, "history": [], "stopped": ""}


def _fixed(trial: optuna.trial.FrozenTrial) -> dict:
    return dict(trial.system_attrs.get("fixed_params") or trial.params)


def stage_seeds(study: optuna.Study, choices: tuple[int, ...]) -> list[int]:
    """The seeds the stage has queued or run, in the order of ``choices``."""
    seen = {_fixed(t).get("seed") for t in study.get_trials(deepcopy=False)}
    return [s for s in choices if s in seen]


def decide(rows: list[dict], plan: dict, n_seeds: int) -> dict:
    """One look from the analysis rows at ``n_seeds`` seeds: the primary family's verdicts, the
    undecided comparisons, why it stops ("" when it goes on) and the seed count to reach next."""
    verdicts = {f"{r['a']} vs {r['b']}": r["verdict"] for r in rows if r["metric"] == plan["metric"]}
    undecided = [k for k, v in verdicts.items() if not decided(v)]
    following = next((c for c in plan["seeds_at"] if c > n_seeds), None)
    if not verdicts:
        stopped = "there is no comparison to decide"
    elif not undecided:
        stopped = "every comparison was decided"
    elif following is None:
        stopped = (f"the cap of {plan['cap']} seeds was reached with {len(undecided)} of {len(verdicts)} "
                   "comparisons undecided")
    else:
        stopped = ""
    return {"look": sum(1 for c in plan["seeds_at"] if c <= n_seeds), "seeds": n_seeds, "alpha": plan["alpha_look"],
            "verdicts": verdicts, "undecided": undecided, "stopped": stopped, "next": following}


def look(storage, spec: StudySpec, setup: Setup, study: optuna.Study) -> dict:
    """Compare the stage's stored runs as the report does, at the plan's alpha / K, and record the
    look in the plan (a repeated look at the same seeds replaces its entry); returns decide()'s dict."""
    import pandas as pd

    from ..comparisons import primary_verdicts

    plan = study.user_attrs[ATTR]
    n = len(stage_seeds(study, seed_choices(spec, setup)))
    stages = stage_studies(storage, setup.study_name)
    runs = pd.DataFrame(stage_runs(stages, compared_stage(spec)))
    rows = primary_verdicts(runs, spec.kind, spec.compared_with(), primary=spec.objective, alpha=plan["alpha_look"],
                            min_effect=plan["min_effect"], power_effect=plan["power_effect"],
                            attribution=attribution_entries(stages), pairs=spec.grid_pairs()) if len(runs) else []
    entry = decide(rows, plan, n)
    history = [h for h in plan["history"] if h["seeds"] != n] + [{k: v for k, v in entry.items() if k != "next"}]
    study.set_user_attr(ATTR, {**plan, "history": sorted(history, key=lambda h: h["seeds"]),
                               "stopped": entry["stopped"]})
    return entry


def _key(point: dict) -> str:
    return json.dumps(point, sort_keys=True, default=str)


def add_block(storage, spec: StudySpec, setup: Setup, study: optuna.Study, n_seeds: int) -> int:
    """Queue the trials that take every configuration of the stage to the first ``n_seeds`` seeds
    of seed_choices, each (configuration, seed) once; returns how many were queued.

    Exactly one process queues a block, on one machine or many: the one that creates the marker
    study '<stage>:seeds-<n>' (creation is the lock, as in stages.ensure_stage); the others wait
    until it has marked the block queued. A marker left unmarked by a killed process is completed
    after that wait by whoever finds it: only the missing trials are queued.
    """
    name = f"{study.study_name}:seeds-{n_seeds}"
    try:
        marker = optuna.create_study(study_name=name, storage=storage)
    except optuna.exceptions.DuplicatedStudyError:
        marker = optuna.load_study(study_name=name, storage=storage)
        for _ in range(600):  # up to 60 s
            if "queued" in marker.user_attrs:
                return 0
            time.sleep(0.1)
    seeds = seed_choices(spec, setup)[:n_seeds]
    configs = study.user_attrs.get("final_configs") or {}
    have = {_key(_fixed(t)) for t in study.get_trials(deepcopy=False)}
    missing = [p for p in planned_points(spec, setup, compared_stage(spec), list(configs), seeds=seeds,
                                         followers=generator_followers(spec, setup, configs))
               if _key(p) not in have]
    for point in missing:
        study.enqueue_trial(point, skip_if_exists=False)
    study.set_user_attr("budget", len(have) + len(missing))  # every (configuration, seed) once
    marker.set_user_attr("queued", len(missing))
    return len(missing)


def describe(plan: dict) -> str:
    """One sentence for report.md and the terminal: the plan, and where and why it stopped."""
    k, alpha = plan["looks"], plan["alpha"]
    text = (f"sequential: up to {k} look{'s' if k != 1 else ''} of {plan['block']} seeds (cap {plan['cap']}), "
            f"each at alpha = {alpha:g}/{k} = {plan['alpha_look']:.3g}")
    history = plan.get("history") or []
    if not history:
        return text + "; no look yet"
    last = history[-1]
    looks = f"{len(history)} look{'s' if len(history) != 1 else ''}, {last['seeds']} seeds"
    if plan.get("stopped"):
        return text + f"; stopped after {looks}, because {plan['stopped']}"
    return text + f"; {looks} so far, {len(last['undecided'])} comparison(s) undecided: not finished " \
                  "(re-run the study's command to continue)"
