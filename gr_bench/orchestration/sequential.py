"""--sequential CAP: more seeds only where the answer is still open, under an alpha-spending boundary.

A block is the compared stage's first seeds: a search's eval_seeds (its final stage), a grid's
seeds. After each block the study's objective is compared as the report compares it: the primary
Holm family of comparisons.primary_verdicts on the stage's runs (stored.stage_runs), each
comparison tested at every look that added seeds to it under a group-sequential boundary
(group_sequential: Lan–DeMets alpha spending, Pocock type by default, Holm's rule across the
family). A comparison is decided when its verdict is better, worse, equivalent or negligible; the
next block of seeds is queued only for the configurations in a comparison still undecided
("underpowered", "no evidence", "inconclusive"), until none is or CAP seeds have run.

Looking after every block would inflate the false-positive rate if every look tested at alpha;
the spending function gives each look its share instead, so the family-wise error stays at alpha
over all looks (tests/test_group_sequential.py simulates it), and each look's level is above
the even split alpha / K the earlier design used, so a real effect is found with fewer seeds.

The plan and every look are the compared stage's user attribute "sequential" (manifest.json's
"sequential" once exported; `gr-bench report` rebuilds the looks' verdicts from it and the rows);
the seeds that ran are the stage's own trials. A resume therefore continues from storage: it looks
again at the seeds stored, and queues only what is missing.
"""

from __future__ import annotations

import json
import math
import time

import optuna

from ..group_sequential import DEFAULT_SPENDING, SPENDING, Design, describe_boundary, t_levels
from ..labels import final_labels
from ..thresholds import DEFAULTS, Thresholds
from .setup import Setup, compared_stage, first_block, seed_choices
from .spec import StudyError, StudySpec
from .stages import generator_followers, planned_points
from .stored import attribution_entries, point_label, stage_runs, stage_studies

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


def design(plan: dict, seed_order=None) -> Design:
    """The looks of a stored plan as the analysis reads them (group_sequential.Design). The seeds
    are added in the order of seed_choices, which the plan records ("seed_order"); a plan stored
    before that took its seeds in increasing order, as seed_choices gives them."""
    order = plan.get("seed_order") or sorted(seed_order or [])
    return Design.from_plan(plan, order)


def make_plan(spec: StudySpec, setup: Setup, *, alpha: float = DEFAULTS.alpha, min_effect: float = DEFAULTS.min_effect,
              power_effect: float = DEFAULTS.power_effect, spending: str = DEFAULT_SPENDING) -> dict:
    """The plan stored with the compared stage: the looks, the spending function, the seeds in the
    order they are added and the thresholds the verdicts use (the report reuses them, so it gives
    the looks' verdicts)."""
    if spending not in SPENDING:
        raise StudyError(f"--boundary {spending}: one of {', '.join(SPENDING)}")
    block = len(first_block(spec, setup))
    seeds_at = block_plan(setup.sequential or block, block)
    return {"cap": setup.sequential, "block": block, "looks": len(seeds_at), "seeds_at": seeds_at, "alpha": alpha,
            "spending": spending, "seed_order": list(seed_choices(spec, setup)), "metric": spec.objective,
            "min_effect": min_effect, "power_effect": power_effect, "history": [], "stopped": ""}


def look_alpha(alpha: float, looks: int) -> float:
    """The level of an ad-hoc comparison of a sequential study's runs (`gr-bench compare`), outside
    its planned family: alpha split evenly over the planned looks, which holds whatever was looked
    at (a union bound)."""
    return alpha / looks


def look_levels(plan: dict) -> list[float]:
    """The nominal level of each planned look for one comparison tested alone (alpha not shared),
    every look adding a block: what report.md states as the boundary."""
    return list(t_levels(tuple(plan["seeds_at"]), int(plan["cap"]), float(plan["alpha"]),
                         plan.get("spending", "bonferroni"), 2, int(plan["looks"])))


def _fixed(trial: optuna.trial.FrozenTrial) -> dict:
    return dict(trial.system_attrs.get("fixed_params") or trial.params)


def stage_seeds(study: optuna.Study, choices: tuple[int, ...]) -> list[int]:
    """The seeds the stage has queued or run, in the order of ``choices``."""
    seen = {_fixed(t).get("seed") for t in study.get_trials(deepcopy=False)}
    return [s for s in choices if s in seen]


def decide(rows: list[dict], plan: dict, n_seeds: int) -> dict:
    """One look from the analysis rows at ``n_seeds`` seeds: the primary family's verdicts, the
    undecided comparisons and the configurations in them (``open``: they get the next block), why
    it stops ("" when it goes on) and the seed count to reach next."""
    mine = [r for r in rows if r["metric"] == plan["metric"]]
    verdicts = {_name(r, plan["metric"]): r["verdict"] for r in mine}
    undecided = [k for k, v in verdicts.items() if not decided(v)]
    open_ = sorted({lab for r in mine if not decided(r["verdict"]) for lab in (r["a"], r["b"])})
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
    return {"look": sum(1 for c in plan["seeds_at"] if c <= n_seeds), "seeds": n_seeds,
            "verdicts": verdicts, "undecided": undecided, "open": open_, "stopped": stopped, "next": following}


def _name(row: dict, metric: str) -> str:
    """'a vs b', or for a declared family's row 'budgets: a vs b'."""
    fam = row.get("family", metric)
    return f"{row['a']} vs {row['b']}" if fam in (metric, None) else f"{fam}: {row['a']} vs {row['b']}"


def look(storage, spec: StudySpec, setup: Setup, study: optuna.Study) -> dict:
    """Compare the stage's stored runs as the report does, under the plan's boundary, and record
    the look in the plan (a repeated look at the same seeds replaces its entry); returns decide()'s
    dict."""
    import pandas as pd

    from ..paired_comparisons import Question, primary_verdicts

    plan = study.user_attrs[ATTR]
    n = len(stage_seeds(study, seed_choices(spec, setup)))
    stages = stage_studies(storage, setup.study_name)
    runs = pd.DataFrame(stage_runs(stages, compared_stage(spec)))
    question = Question(spec.kind, spec.compared_with(), attribution_entries(stages), spec.grid_pairs())
    thresholds = Thresholds(alpha=plan["alpha"], min_effect=plan["min_effect"], power_effect=plan["power_effect"])
    rows = primary_verdicts(runs, question, primary=spec.objective, thresholds=thresholds,
                            design=design(plan, seed_choices(spec, setup)),
                            families=spec.families or ()) if len(runs) else []
    entry = decide(rows, plan, n)
    history = [h for h in plan["history"] if h["seeds"] != n] + [{k: v for k, v in entry.items() if k != "next"}]
    study.set_user_attr(ATTR, {**plan, "history": sorted(history, key=lambda h: h["seeds"]),
                               "stopped": entry["stopped"]})
    return entry


def _key(point: dict) -> str:
    return json.dumps(point, sort_keys=True, default=str)


def add_block(storage, spec: StudySpec, setup: Setup, study: optuna.Study, n_seeds: int,
              labels: list[str] | None = None) -> int:
    """Queue the trials that take the configurations named in ``labels`` (a look's "open" ones;
    None: every configuration) to the first ``n_seeds`` seeds of seed_choices, each
    (configuration, seed) once; returns how many were queued.

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
    names = final_labels(configs)
    wanted = None if labels is None else set(labels)
    missing = [p for p in planned_points(spec, setup, compared_stage(spec), list(configs), seeds=seeds,
                                         followers=generator_followers(spec, setup, configs))
               if _key(p) not in have and (wanted is None or point_label(p, names) in wanted)]
    for point in missing:
        study.enqueue_trial(point, skip_if_exists=False)
    study.set_user_attr("budget", len(have) + len(missing))  # every (configuration, seed) once
    marker.set_user_attr("queued", len(missing))
    return len(missing)


def describe(plan: dict) -> str:
    """One sentence for report.md and the terminal: the plan, its boundary with each look's level,
    and where and why it stopped."""
    k = plan["looks"]
    spending = plan.get("spending", "bonferroni")
    levels = ", ".join(f"{lv:.3g}" for lv in look_levels(plan))
    text = (f"sequential: up to {k} look{'s' if k != 1 else ''} of {plan['block']} seeds (cap {plan['cap']}), "
            f"{describe_boundary(spending)} of alpha = {plan['alpha']:g}; a comparison tested alone is held at "
            f"{levels} at looks {', '.join(map(str, plan['seeds_at']))} seeds, and in a family of m open comparisons "
            "at its share alpha/m (Holm's rule across looks); seeds are added only to configurations in an "
            "undecided comparison")
    history = plan.get("history") or []
    if not history:
        return text + "; no look yet"
    last = history[-1]
    looks = f"{len(history)} look{'s' if len(history) != 1 else ''}, {last['seeds']} seeds"
    if plan.get("stopped"):
        return text + f"; stopped after {looks}, because {plan['stopped']}"
    return text + f"; {looks} so far, {len(last['undecided'])} comparison(s) undecided: not finished " \
                  "(re-run the study's command to continue)"
