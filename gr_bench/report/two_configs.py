"""Two configurations of a stored study compared on one metric (`gr-bench compare`), and the best
configuration so far by its mean (a running study's progress). Nothing here prints: the CLI prints
what these return.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Any

import pandas as pd

from .. import stats
from ..config import ConfigError
from ..labels import current_label
from ..metrics import METRIC_SENSE
from ..orchestration import StudyError
from ..paired_comparisons import wall_clock_rule
from ..thresholds import DEFAULTS
from .analysis import verdict_sentence
from .scenarios import one_scenario

_STAGE_ORDER = {"final": 0, "search": 1}  # the final stage (fresh seeds, test split) first
_SPLIT_NAMES = {"test": "test split", "val": "validation split"}


def _config_key(trial) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in trial.params.items() if k != "seed"))


def best_mean(study, trials=None) -> tuple[str, float, int] | None:
    """The best configuration so far by its MEAN objective over the seeds it finished, not by one
    seed's best value (grid and final trials run one seed each): (label, mean, runs), or None.
    Single-objective stages only."""
    from optuna.trial import TrialState

    from ..labels import final_labels
    from ..orchestration.stored import trial_label

    if len(study.directions) != 1:
        return None
    groups: dict[tuple, list] = {}
    for t in trials if trials is not None else study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE and t.values:
            groups.setdefault(_config_key(t), []).append(t)
    if not groups:
        return None
    sign = 1.0 if study.direction.name == "MAXIMIZE" else -1.0
    means = {key: sum(t.values[0] for t in ts) / len(ts) for key, ts in groups.items()}
    key = max(means, key=lambda k: (sign * means[k], -min(t.number for t in groups[k])))  # ties: the earliest
    first = groups[key][0]
    label = trial_label(first, final_labels(study.user_attrs.get("final_configs", {}))) or f"trial {first.number}"
    runs = sum(sum(1 for k in t.user_attrs if k.startswith("run:")) or 1 for t in groups[key])
    return label, means[key], runs


def _where(group: tuple[str, str]) -> str:
    stage, split = group
    return f"the {stage} stage ({_SPLIT_NAMES.get(split, f'{split} split')})"


def _groups(runs: pd.DataFrame, label: str) -> list[tuple[str, str]]:
    """The (stage, split) pairs where `label` has successful runs, the final stage's test split first."""
    rows = runs.loc[runs["label"] == label, ["stage", "split"]]
    found = {(str(st), str(sp)) for st, sp in rows.itertuples(index=False)}
    return sorted(found, key=lambda g: (_STAGE_ORDER.get(g[0], 9), g[0], g[1] != "test", g[1]))


def _check_label(label: str, ok_labels: set[str], all_labels: set[str]) -> None:
    if label in ok_labels:
        return
    if label in all_labels:
        raise StudyError(f"configuration {label!r} has no successful runs to compare")
    close = difflib.get_close_matches(label, sorted(all_labels), n=3, cutoff=0.0)
    hint = f"; closest: {', '.join(repr(c) for c in close)}" if close else ""
    raise StudyError(f"no configuration with label or config_id {label!r} in this study{hint}")


def _by_id(runs: pd.DataFrame, name: str) -> str:
    """A configuration given by its config_id: its label in the stage compared first (the final
    stage's, where it ran there); any other name as it is."""
    if not len(runs) or "config_id" not in runs or name in set(map(str, runs["label"])):
        return name
    rows = runs[runs["config_id"].astype(str) == name]
    if rows.empty:
        return name
    ok = rows[rows["status"] == "ok"]
    pool = (ok if len(ok) else rows)[["stage", "label"]].astype(str)
    found = sorted(set(pool.itertuples(index=False, name=None)), key=lambda g: (_STAGE_ORDER.get(g[0], 9), g))
    labels = [lab for st, lab in found if st == found[0][0]]
    if len(labels) > 1:
        raise StudyError(f"config_id {name!r} names {len(labels)} configurations ({', '.join(map(repr, labels))}): "
                         "give a label")
    return labels[0]


def compare_runs(runs: pd.DataFrame, a: str, b: str, metric: str = "final_avg_acc", *, allow_mixed: bool = False,
                 alpha: float = DEFAULTS.alpha, min_effect: float | None = None, test: str | None = None) -> dict:
    """Compare two configurations of a runs.csv frame on one metric: a single comparison (plain p).
    Each is named by its label or its config_id (runs.csv's columns). ``test``: a registered
    difference test (stats.register_test) in place of the design's default (the paired t-test).

    Both arms come from the same stage and split (the final stage's test split when both have one),
    paired by seed when they share at least two; "better" follows the metric's declared sense
    (metrics.METRIC_SENSE). Arms from different stages or splits are refused unless allow_mixed,
    which compares them unpaired and returns a warning. ``min_effect`` is in the stored unit (0.01 =
    one point for accuracies); by default DEFAULTS.min_effect for accuracies, and for times and
    bytes DEFAULTS.min_rel_effect of b's mean (minimum, TOST margin and power effect alike). A
    wall-clock metric (time_*) follows the report's rule (comparisons.wall_clock_rule).
    Returns {"row": stats.compare_pair() row, "line": its analysis.verdict_sentence, "warning": str or None}.
    """
    sense = METRIC_SENSE.get(metric)
    if sense is None:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRIC_SENSE)}")
    if len(runs) and metric not in runs:
        raise ConfigError(f"this study's runs have no {metric!r} column")
    a, b = _by_id(runs, current_label(a)), _by_id(runs, current_label(b))  # old names still read
    all_labels = set(map(str, runs["label"])) if len(runs) else set()
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    ok_labels = set(map(str, ok["label"])) if len(ok) else set()
    for label in (a, b):
        _check_label(label, ok_labels, all_labels)
    in_a, in_b = _groups(ok, a), _groups(ok, b)
    common = [g for g in in_a if g in in_b]
    warning = None
    if common:
        ga = gb = common[0]
    else:
        ga, gb = in_a[0], in_b[0]
        what = ("different stages" if ga[0] != gb[0] else "") + (" and " if ga[0] != gb[0] and ga[1] != gb[1] else "") \
            + ("different splits" if ga[1] != gb[1] else "")
        if not allow_mixed:
            raise StudyError(f"{a!r} ran only in {_where(ga)} and {b!r} only in {_where(gb)}: {what} are not "
                             "comparable (pass --allow-mixed to compare them anyway, unpaired)")
        warning = (f"warning: comparing {a!r} from {_where(ga)} with {b!r} from {_where(gb)} ({what}), "
                   "unpaired: the difference mixes the configurations with how they were evaluated")

    def arm(label: str, group: tuple[str, str]) -> pd.DataFrame:
        return ok[(ok["label"] == label) & (ok["stage"] == group[0]) & (ok["split"] == group[1])]

    one_scenario(pd.concat([arm(a, ga), arm(b, gb)]), f"{a!r} against {b!r}")  # never across scenarios

    def values(label: str, group: tuple[str, str]) -> pd.Series:
        rows = arm(label, group)
        return rows.assign(v=rows[metric].astype(float)).groupby("seed")["v"].mean()  # repeats of a seed: their mean

    x, y = values(a, ga), values(b, gb)
    paired = warning is None and len(x.index.intersection(y.index)) >= 2
    if paired:
        both = x.to_frame("a").join(y.to_frame("b"), how="inner")
        x, y = both["a"], both["b"]
    thresholds = replace(DEFAULTS, alpha=alpha, min_effect=DEFAULTS.min_effect if min_effect is None else min_effect)
    relative = min_effect is None and sense.unit != "points"  # costs: relative to the other arm
    try:
        row = stats.compare_pair(x.to_numpy(float), y.to_numpy(float), paired=paired, thresholds=thresholds,
                                 relative=relative, test=test)
    except ValueError as e:  # an unknown test, or a paired test on unpaired arms: the user's choice
        raise ConfigError(f"--test: {e}") from None
    stats.orient(row, sense.better)  # less time, memory or forgetting: a negative difference is the better one
    row.update(metric=metric, a=a, b=b, stage=ga[0] if ga == gb else f"{ga[0]}/{gb[0]}",
               split=ga[1] if ga == gb else f"{ga[1]}/{gb[1]}", paired=paired, better=sense.better, unit=sense.unit)
    wall_clock_rule(row, pd.concat([arm(a, ga), arm(b, gb)]))  # a time_* metric: the report's rule, the same
    line = verdict_sentence(row, aside=f" ({row['stage']} stage, {row['split']} split, {sense.better} is better)")
    return {"row": row, "line": line, "warning": warning}


def compare_study(storage_url: str, study_name: str, a: str, b: str, metric: str = "final_avg_acc", *,
                  alpha: float = DEFAULTS.alpha, **options: Any) -> dict:
    """compare_runs on a stored study's runs (``options``: compare_runs's allow_mixed, min_effect,
    test), with a --sequential study's alpha: that study looked at its results after every block of
    seeds, so any test on them is at alpha / its planned looks, as its report's are, or the looks'
    inflation would come back here. Returns compare_runs's dict and "note": "" or one line saying so."""
    from ..export import collect, stage_studies
    from ..orchestration.sequential import look_alpha, stored_plan
    from ..storage import open_storage

    store = open_storage(storage_url)
    runs = pd.DataFrame(collect(store, study_name)["runs"])
    if runs.empty:
        raise StudyError(f"study {study_name!r} has no stored runs yet")
    plan = stored_plan(stage_studies(store, study_name))
    note = ""
    if plan:
        looks = plan["looks"]
        note = (f"{study_name!r} added seeds sequentially ({looks} planned looks): testing at alpha "
                f"{alpha:g}/{looks} = {look_alpha(alpha, looks):.3g}")
        alpha = look_alpha(alpha, looks)
    out = compare_runs(runs, a, b, metric, alpha=alpha, **options)
    return {**out, "note": note}


__all__ = ["best_mean", "compare_runs", "compare_study"]
