"""A study's storage read back as rows: its stage studies, what each trial's configuration is
called, and every run exactly once, as runs.csv has it. export.py writes its files from these;
a --sequential look (sequential.py) compares the compared stage's runs from them, so both name
and count the runs alike.
"""

from __future__ import annotations

from datetime import datetime, timezone

import optuna

from ..labels import FINAL_PAIRS, config_id, current_label, final_labels, settings_text, short_settings
from ..provenance import row_run_code
from ..result import RunResult
from ..storage import load_study

STAGES = ("search", "final")


def stage_studies(storage, study_name: str) -> dict[str, optuna.Study]:
    out = {}
    for stage in STAGES:
        study = load_study(storage, study_name if stage == "search" else f"{study_name}:{stage}")
        if study is not None:
            out[stage] = study
    return out


def own_overrides(pairs: list[str]) -> list[str]:
    """A configuration's own overrides: without the final stage's val_fraction=0, common to all."""
    return [p for p in pairs if p not in FINAL_PAIRS]


def trial_label(trial: optuna.trial.FrozenTrial, names: dict[str, str] | None = None) -> str:
    """What a trial's configuration is called: a final-stage configuration's label (``names``:
    labels.final_labels of the stage's final_configs), a grid point's declared labels joined, or a
    search trial's settings in short form (labels.short_settings; "" before it has any). Declared
    names read as today's studies spell them (labels.current_label)."""
    if "seed" not in trial.params and "config" not in trial.params and "overrides" in trial.user_attrs:
        return short_settings(own_overrides(trial.user_attrs["overrides"]))  # a search trial: every seed
    return point_label(trial.params, names)


def point_label(params: dict, names: dict[str, str] | None = None) -> str:
    """What a queued point's configuration is called (a final-stage {"config", "seed"} or a grid
    point {axis: level, ..., "seed"}), as trial_label names the trial that runs it."""
    params = {k: v for k, v in params.items() if k != "seed"}
    if "config" in params:
        return (names or {}).get(str(params["config"]), current_label(str(params["config"])))
    return current_label(" ".join(f"{v}" if isinstance(v, str) else f"{k}={v:.4g}" if isinstance(v, float)
                                  else f"{k}={v}" for k, v in params.items()))


def identities(stages: dict[str, optuna.Study]) -> dict[tuple[str, int], dict[str, str]]:
    """(stage, trial number) -> {label, config_id, settings} for every trial of a study.

    One label per configuration within a stage: search trials are named by their settings in short
    form, and two different configurations that would share that name get their config_id appended
    ('... #c3f2a1'); grid points, references and attribution swaps keep their declared names."""
    final = stages.get("final")
    configs = final.user_attrs.get("final_configs", {}) if final else {}
    names = final_labels(configs)
    out: dict[tuple[str, int], dict[str, str]] = {}
    auto: dict[str, set[str]] = {}  # short-form label -> the configurations it would name
    declared: set[str] = set(names.values())
    for stage, study in stages.items():
        for t in study.get_trials(deepcopy=False):
            pairs = t.user_attrs.get("overrides")
            if pairs is None and "config" in t.params:
                pairs = configs.get(str(t.params["config"]))
            own = own_overrides(pairs) if pairs is not None else None
            ident = {"label": trial_label(t, names), "config_id": config_id(own) if own is not None else "",
                     "settings": settings_text(own) if own is not None else ""}
            out[(stage, t.number)] = ident
            if "seed" not in t.params and own is not None:
                auto.setdefault(ident["label"], set()).add(ident["config_id"])
            else:
                declared.add(ident["label"])
    for ident in out.values():
        ids = auto.get(ident["label"])
        if ids and (len(ids) > 1 or ident["label"] in declared):
            ident["label"] = f"{ident['label']} #{ident['config_id']}"
    return out


def attribution_entries(stages: dict[str, optuna.Study]) -> list[dict]:
    """The final stage's attribution entries (stages.attribution_configs) under the labels reports show."""
    final = stages.get("final")
    if final is None:
        return []
    names = final_labels(final.user_attrs.get("final_configs", {}))
    return [{**e, **{k: names.get(e[k], current_label(e[k])) for k in ("a", "b", "best", "reference", "control")
                      if e.get(k) is not None}} for e in final.user_attrs.get("attribution", [])]


def utc(when: datetime | None) -> str:
    """A trial's datetime_start or datetime_complete as ISO 8601 UTC ("" when it has none).

    Optuna stores the worker's local time without a zone; it is read as this machine's local
    time (the same zone when workers and export share a machine or a zone)."""
    if when is None:
        return ""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def superseded(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """The trials whose runs do not count: exactly once, a trial whose worker died or stalled past
    its heartbeat is failed and retried (the retry's system attr "failed_trial" names the first
    attempt). An attempt can have stored its runs just before it was failed, so only the newest
    attempt of each trial gives runs; the older ones keep their trials.csv rows."""
    newest: dict[int, int] = {}
    for t in trials:
        root = t.system_attrs.get("failed_trial", t.number)
        newest[root] = max(newest.get(root, t.number), t.number)
    return {t.number for t in trials if newest[t.system_attrs.get("failed_trial", t.number)] != t.number}


def trial_results(trial: optuna.trial.FrozenTrial) -> list[tuple[str, RunResult]]:
    """A trial's stored runs ("run:<i>" user attributes), in order, with their keys."""
    keys = sorted((k for k in trial.user_attrs if k.startswith("run:")), key=lambda k: int(k[4:]))
    return [(k, RunResult.from_dict(trial.user_attrs[k])) for k in keys]


def run_rows(stage: str, trial: optuna.trial.FrozenTrial, ident: dict[str, str],
             results: list[tuple[str, RunResult]]) -> list[dict]:
    """runs.csv's rows of one trial's runs: the configuration's identity (``ident``), the run's
    summary, and when and where its trial ran: ``started_at`` and ``finished_at`` (the trial's
    datetime_start and datetime_complete, ISO 8601 UTC; a search trial's runs share its times),
    ``run_code`` (provenance.row_run_code: the code the run executed, beside its commit),
    ``worker`` (host:pid) and ``reused`` (the run came from the run cache, so its times were
    measured when it first ran; blank when unknown)."""
    final = stage == "final"
    number = {"trial": None if final else trial.number, "final_trial": trial.number if final else None}
    when = {"started_at": utc(trial.datetime_start), "finished_at": utc(trial.datetime_complete),
            "worker": trial.user_attrs.get("worker", "")}
    n_reused = trial.user_attrs.get("reused_runs", "")
    # a one-seed trial (grids, final stages) reused its one run or not; a search trial's runs are
    # all or none reused, else which of them is unknown (blank)
    reused = (n_reused == len(results) if n_reused in (0, len(results)) else "") if results else ""
    return [{"stage": stage, **number, "trial_state": trial.state.name, **ident, "seed": result.config.seed,
             "split": result.split, **result.summary_row(), "run_code": row_run_code(result.provenance), **when,
             "reused": reused} for _, result in results]


def stage_runs(stages: dict[str, optuna.Study], stage: str) -> list[dict]:
    """runs.csv's rows of one stage of a study (``stages``: stage_studies), as export.collect gives
    them for that stage: every counted run once, under the labels every export and report uses."""
    if stage not in stages:
        return []
    names = identities(stages)
    trials = sorted(stages[stage].get_trials(deepcopy=False), key=lambda t: t.number)
    gone = superseded(trials)
    return [row for t in trials if t.number not in gone
            for row in run_rows(stage, t, names[(stage, t.number)], trial_results(t))]
