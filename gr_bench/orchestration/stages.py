"""Stages: each an Optuna study in the same storage, created once with its whole budget enqueued;
and the final stage's configurations (the search's best, the references, attribution swaps)."""

from __future__ import annotations

import json
import shlex
import socket
import sys
import time

import optuna
from optuna.trial import TrialState

from ..config import flatten
from ..labels import FINAL_PAIRS, settings_dict
from ..schedule import parse_schedule
from ..storage import load_study, redact
from .repeat import PARALLEL
from .setup import Setup, as_pairs, make_config
from .spec import StudyError, StudySpec

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


# --- stages: creating them once, with their whole budget enqueued -----------------------------

def _directions(spec: StudySpec, setup: Setup, stage: str) -> list[str]:
    from ..metrics import METRIC_SENSE

    objective = "maximize" if METRIC_SENSE[spec.objective].better == "higher" else "minimize"
    if stage == "search" and setup.multi_objective:
        return [objective, "minimize"]  # the objective, training time
    return [objective]


def generator_sharing(spec: StudySpec, setup: Setup, final_configs: dict[str, list[str]] | None,
                      seed: int = 0) -> dict[str, str]:
    """generator_tracks.sharing of the final configurations, composed at `seed`: label -> the first
    label of its group, for the configurations that share a generator with another."""
    from ..generator_tracks import sharing

    return sharing({label: make_config(spec, setup, pairs, seed) for label, pairs in (final_configs or {}).items()})


def generator_followers(spec: StudySpec, setup: Setup, final_configs: dict[str, list[str]] | None) -> frozenset[str]:
    """Final configurations whose generator an earlier one's runs train (generator_sharing)."""
    return frozenset(label for label, first in generator_sharing(spec, setup, final_configs).items() if label != first)


def planned_points(spec: StudySpec, setup: Setup, stage: str, final_labels: list[str] | None = None,
                   seeds: tuple[int, ...] | None = None, followers: frozenset[str] = frozenset()) -> list[dict]:
    """The fixed parameters of every trial a stage will run ({} = left to the sampler); ``seeds``
    replaces the final stage's eval_seeds or a grid's seeds (a --sequential block).

    Seed-major: every configuration of one seed, then the next seed. Workers take trials in queue
    order, so the paired runs of a seed run back to back (with several workers, side by side), and
    a --sequential look or an interrupted study always holds whole seeds. A stage stored with the
    earlier configuration-major order keeps its queue: only new stages and new --sequential blocks use this one.

    ``followers`` (final stage): configurations that restore their generator from an earlier one's
    runs (generator_followers) are queued one seed late, so that with a few workers the run that
    trains a seed's generator has finished before its follower starts; their wall-clock times are
    borrowed, not compared."""
    if stage == "final":
        order = list(setup.eval_seeds if seeds is None else seeds)
        lead = [label for label in final_labels or [] if label not in followers]
        late = [label for label in final_labels or [] if label in followers]
        points = []
        for i, s in enumerate(order):
            points += [{"config": label, "seed": s} for label in lead]
            points += [{"config": label, "seed": order[i - 1]} for label in late if i]
        return points + [{"config": label, "seed": order[-1]} for label in late if order]
    if spec.kind == "grid":
        axes = list(spec.stored_grid().items())
        points: list[dict] = [{}]
        for axis, labels in axes:
            points = [{**p, axis: label} for p in points for label in labels]
        return [{**p, "seed": s} for s in (setup.seeds if seeds is None else seeds) for p in points]
    starts = [dict(p) for p in spec.start_points[: setup.trials]]
    return starts + [{} for _ in range(setup.trials - len(starts))]


def ensure_stage(storage, spec: StudySpec, setup: Setup, stage: str,
                 final_configs: dict[str, list[str]] | None = None,
                 attribution: list[dict] | None = None, sequential: dict | None = None) -> optuna.Study:
    """Create the stage and enqueue its budget, or load it and check it is the same study.

    Creation is the lock between machines: exactly one process creates the stage and enqueues;
    the others wait until it has published the budget. ``sequential``: a --sequential plan
    (sequential.make_plan), stored with the stage that it extends; a resume keeps the stored one.
    """
    name = setup.stage_name(stage)
    try:
        study = optuna.create_study(study_name=name, storage=storage, directions=_directions(spec, setup, stage))
        study.set_user_attr("setup", setup.identity())
        study.set_user_attr("host", socket.gethostname())
        study.set_user_attr("command", redact(shlex.join(["gr-bench", *sys.argv[1:]])))
        if final_configs is not None:
            study.set_user_attr("final_configs", final_configs)
            study.set_user_attr("attribution", attribution or [])
        if sequential is not None:
            study.set_user_attr("sequential", sequential)
        if stage == "search" and spec.kind == "search":
            # trials sampled before any of them is known: the search then repeats whatever the
            # timing of its workers (repeat.py), and a resume with other --workers keeps it
            study.set_user_attr(PARALLEL, max(1, setup.workers))
        points = planned_points(spec, setup, stage, list(final_configs or {}),
                                followers=generator_followers(spec, setup, final_configs))
        for p in points:
            study.enqueue_trial(p, skip_if_exists=False)
        study.set_user_attr("budget", len(points))
        return study
    except optuna.exceptions.DuplicatedStudyError:
        pass
    study = load_study(storage, name)
    for _ in range(600):  # another process is still enqueueing: wait for its budget (up to 60 s)
        if "budget" in study.user_attrs:
            break
        time.sleep(0.1)
    else:
        raise StudyError(f"study {name!r} exists but its creator never finished setting it up")
    stored = study.user_attrs.get("setup")
    if stored != setup.identity():
        now = setup.identity()
        diff = [k for k in dict.fromkeys([*now, *stored]) if stored.get(k) != now.get(k)]
        raise StudyError(f"study {name!r} already exists in this storage with other settings "
                         f"({', '.join(f'{k}={stored.get(k)!r}' for k in diff)}); use another --study-name")
    if stage == "search" and spec.kind == "search" and setup.trials > study.user_attrs["budget"]:
        extra = setup.trials - study.user_attrs["budget"]  # a larger --trials extends the search
        for _ in range(extra):
            study.enqueue_trial({}, skip_if_exists=False)
        study.set_user_attr("budget", setup.trials)
    return study


def stage_counts(study: optuna.Study) -> dict[str, int]:
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    return counts


def stage_done(study: optuna.Study) -> bool:
    c = stage_counts(study)
    return c["waiting"] == 0 and c["running"] == 0


# --- the final stage: best configurations on the test split ------------------------------------

def _resolved(spec: StudySpec, setup: Setup, pairs: list[str]) -> dict[str, object]:
    """A configuration's every field, seed aside: two sets of overrides that agree here run alike."""
    row = flatten(make_config(spec, setup, pairs, 0))
    row.pop("seed")
    return row


def attribution_configs(spec: StudySpec, setup: Setup, configs: dict[str, list[str]], best: str,
                        references: list[str]) -> tuple[dict[str, list[str]], list[dict]]:
    """For the best configuration and each reference: the reference with one attribution group's
    fields taken from the best, labelled '<best>-<group>@<reference>-<other groups>' ('best' is the
    search's best). Returns the new configurations and one entry per (reference, group):
    {"group", "fields", "a", "b", "best", "reference"}: a differs from b (the reference) only in that
    group's fields. A swap equal to an existing configuration reuses it; one equal to the reference
    (the search did not change that group) gets a = None."""
    groups = spec.attribution or {}
    known = {json.dumps(_resolved(spec, setup, p), sort_keys=True, default=str): label for label, p in configs.items()}
    best_cfg = _resolved(spec, setup, configs[best])
    new: dict[str, list[str]] = {}
    entries = []
    for ref in references:
        for group, fields in groups.items():
            swap: dict[str, object] = {k: v for k, v in settings_dict(configs[ref]).items() if k not in fields}
            swap.update({k: str(best_cfg[k]) for k in fields})
            pairs = [p for p in as_pairs(swap) if p not in FINAL_PAIRS] + FINAL_PAIRS
            key = json.dumps(_resolved(spec, setup, pairs), sort_keys=True, default=str)
            others = "+".join(g for g in groups if g != group)
            label = known.get(key) or f"best-{group}@{ref}-{others}"
            if key not in known:
                new[label] = pairs
                known[key] = label
            entries.append({"group": group, "fields": list(fields), "a": None if label == ref else label,
                            "b": ref, "best": best, "reference": ref})
    return new, entries


def classifier_samples(cfg, task_sizes: list[int]) -> int | None:
    """Samples the classifier trains on over a run: (new + replay) x epochs, summed over tasks.
    None where that count is not fixed by the config (per-batch replay, iteration budgets)."""
    return _samples(cfg, task_sizes, cfg.train.epochs)


def generator_samples(cfg, task_sizes: list[int]) -> int | None:
    """Samples the generator trains on over a run: (new + replay) x vae_epochs, summed over tasks
    (the generator learns each task's data with the replayed set, as the classifier does). None
    where that count is not fixed by the config."""
    return _samples(cfg, task_sizes, cfg.train.vae_epochs)


def _samples(cfg, task_sizes: list[int], epochs: int | None) -> int | None:
    if (cfg.train.iters is not None or cfg.replay.replay_mode != "per-task" or cfg.strategy != "generative"
            or not epochs):
        return None
    sched = parse_schedule(cfg.replay.schedule)
    return sum((n + sched(t, n)) * epochs for t, n in enumerate(task_sizes))


def _task_sizes(setup: Setup, cfg) -> list[int]:
    """Training images per task of the benchmark `cfg` runs on (the final stage's split)."""
    from ..data import load_dataset, make_benchmark

    d = cfg.data
    bench = make_benchmark(load_dataset(d.dataset, setup.data_dir), n_tasks=d.n_tasks, scenario=d.scenario,
                           class_order=d.class_order, seed=cfg.seed, val_fraction=d.val_fraction)
    return [len(t.y_train) for t in bench.tasks]


def compute_matched_configs(spec: StudySpec, setup: Setup, configs: dict[str, list[str]], best: str,
                            references: list[str],
                            sizes: list[int] | None = None) -> tuple[dict[str, list[str]], list[dict]]:
    """For each reference: the reference with its classifier epochs and its generator's epochs
    scaled (rounded) so that both train on as many samples as the best's, labelled
    '<reference>@best-samples'. A larger replay set is also more training, of the classifier and of
    the generator that learns the replayed data with each task; this control keeps the reference's
    replay set and adds only training, to both models.

    Entries (kind "compute"): the control against its reference (extra training alone: only
    `epochs` and `vae_epochs` differ), and the best's schedule at the reference's lr
    (attribution_configs' swap) against the control (the larger replay set at equal training
    samples). ``sizes``: per-task training images (default: loaded from the study's dataset)."""
    best_cfg = make_config(spec, setup, configs[best], 0)
    if sizes is None:
        sizes = _task_sizes(setup, best_cfg)
    best_n, best_g = classifier_samples(best_cfg, sizes), generator_samples(best_cfg, sizes)
    new: dict[str, list[str]] = {}
    entries: list[dict] = []
    for ref in references:
        ref_cfg = make_config(spec, setup, configs[ref], 0)
        ref_n, ref_g = classifier_samples(ref_cfg, sizes), generator_samples(ref_cfg, sizes)
        if not best_n or not ref_n or best_n == ref_n:
            continue
        scaled = [f"epochs={max(1, round(ref_cfg.train.epochs * best_n / ref_n))}"]
        if best_g and ref_g:
            scaled.append(f"vae_epochs={max(1, round(ref_cfg.train.vae_epochs * best_g / ref_g))}")
        label = f"{ref}@best-samples"
        kept = [p for p in configs[ref] if p not in FINAL_PAIRS and not p.startswith(("epochs=", "vae_epochs="))]
        new[label] = kept + scaled + FINAL_PAIRS
        control = make_config(spec, setup, new[label], 0)
        fields = [p.split("=", 1)[0] for p in scaled]
        common = {"kind": "compute", "best": best, "reference": ref, "control": label,
                  "samples_best": best_n, "samples_control": classifier_samples(control, sizes),
                  "samples_reference": ref_n, "generator_samples_best": best_g,
                  "generator_samples_control": generator_samples(control, sizes), "generator_samples_reference": ref_g}
        entries.append({**common, "group": "training samples alone", "fields": fields, "a": label, "b": ref})
        swap = next((lab for lab in configs if lab.startswith("best-schedule@" + ref)), None)
        if swap is not None:
            entries.append({**common, "group": "replay set at equal training samples", "fields": ["schedule", *fields],
                            "a": swap, "b": label})
    return new, entries


def later_stages(spec: StudySpec, setup: Setup) -> dict[str, int]:
    """The trials of the stages after the search, before it has made them: a search's final stage
    runs its best `top`, the references, at most one attribution swap per group and reference and
    one compute-matched control per reference, each on every evaluation seed (an upper bound)."""
    if spec.kind != "search":
        return {}
    refs = len(spec.reference)
    configs = spec.top + refs + len(spec.attribution or {}) * refs + (refs if spec.compute_matched else 0)
    return {"final": configs * len(setup.eval_seeds)}


def final_configs(spec: StudySpec, search: optuna.Study,
                  setup: Setup | None = None) -> tuple[dict[str, list[str]], list[dict]]:
    """The top configurations of the search (Pareto front by accuracy if multi-objective), the
    references and, with spec.attribution and a setup, the swaps that attribute the best's gain
    (attribution_configs). Every final configuration trains on the whole training split. The best
    are keyed 'trial-N' in the storage; reports name them with labels.final_labels ('best-1', ...)."""
    done = [t for t in search.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(search.directions) == 2:
        front = {t.number for t in search.best_trials}
        done = [t for t in done if t.number in front]
    sign = -1.0 if search.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    done.sort(key=lambda t: (sign * t.values[0], t.number))
    configs: dict[str, list[str]] = {}
    for t in done:
        pairs = t.user_attrs["overrides"] + FINAL_PAIRS
        if pairs not in configs.values():  # the same configuration found twice runs once
            configs[f"trial-{t.number}"] = pairs
        if len(configs) == spec.top:
            break
    best = next(iter(configs), None)
    for label, overrides in spec.reference.items():
        configs[label] = as_pairs(overrides) + FINAL_PAIRS
    entries: list[dict] = []
    if spec.attribution and setup is not None and best is not None:
        swaps, entries = attribution_configs(spec, setup, configs, best, list(spec.reference))
        configs.update(swaps)
    if spec.compute_matched and setup is not None and best is not None:
        controls, more = compute_matched_configs(spec, setup, configs, best, list(spec.reference))
        configs.update(controls)
        entries += more
    return configs, entries
