"""Study exports, rebuilt from the storage alone: trials.csv, runs.csv, accuracy.csv, manifest.json.

Every row names its configuration the same way (label, config_id, settings: see collect).

Rows are sorted (stage, trial, seed) and nothing time-dependent is added, so exporting twice gives
identical files; each file is written whole or not at all (files.atomic_write_text).
"""

from __future__ import annotations

import gzip
import json
import warnings
from datetime import datetime, timezone
from pathlib import Path

import optuna
from optuna.trial import TrialState

from .files import atomic_write, write_csv, write_json
from .labels import config_id, final_labels, settings_text, short_settings
from .provenance import provenance
from .result import SCHEMA_VERSION, SUMMARY_COLUMNS, RunResult
from .storage import load_study, redact
from .study import FINAL_PAIRS

STAGES = ("search", "final")


def stage_studies(storage, study_name: str) -> dict[str, optuna.Study]:
    out = {}
    for stage in STAGES:
        study = load_study(storage, study_name if stage == "search" else f"{study_name}:{stage}")
        if study is not None:
            out[stage] = study
    return out


def _own(pairs: list[str]) -> list[str]:
    """A configuration's own overrides: without the final stage's val_fraction=0, common to all."""
    return [p for p in pairs if p not in FINAL_PAIRS]


def trial_label(trial: optuna.trial.FrozenTrial, names: dict[str, str] | None = None) -> str:
    """What a trial's configuration is called: a final-stage configuration's label (``names``:
    labels.final_labels of the stage's final_configs), a grid point's declared labels joined, or a
    search trial's settings in short form (labels.short_settings; "" before it has any)."""
    params = {k: v for k, v in trial.params.items() if k != "seed"}
    if "config" in params:
        return (names or {}).get(str(params["config"]), str(params["config"]))
    if "seed" not in trial.params and "overrides" in trial.user_attrs:  # a search trial: every seed
        return short_settings(_own(trial.user_attrs["overrides"]))
    return " ".join(f"{v}" if isinstance(v, str) else f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def _progress(trial: optuna.trial.FrozenTrial, results: list[RunResult], n_seeds: int,
              n_tasks: int | None) -> tuple[str, str]:
    """(budget_reached, stop_reason): tasks done out of the trial's total ('7/15'), and why it stopped.

    Tasks done come from the trial's per-task reports (searches with pruning), else from its
    stored runs' accuracy rows.
    """
    done = len(trial.intermediate_values) or sum(len(r.accuracy) for r in results)
    if results:
        n_tasks = results[0].config.data.n_tasks
    budget = f"{done}/{n_tasks * n_seeds}" if n_tasks else ""
    if trial.state == TrialState.COMPLETE:
        return budget, "complete"
    if trial.state == TrialState.PRUNED:
        return budget, trial.user_attrs.get("reason") or f"pruned at task {budget or done}"
    if trial.state == TrialState.FAIL:
        return budget, f"failed: {trial.user_attrs.get('reason') or 'no reason recorded'}"
    return budget, ""


def _utc(when: datetime | None) -> str:
    """A trial's datetime_start or datetime_complete as ISO 8601 UTC ("" when it has none).

    Optuna stores the worker's local time without a zone; it is read as this machine's local
    time (the same zone when workers and export share a machine or a zone)."""
    if when is None:
        return ""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _identities(stages: dict[str, optuna.Study]) -> dict[tuple[str, int], dict[str, str]]:
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
            own = _own(pairs) if pairs is not None else None
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
    """The final stage's attribution entries (study.attribution_configs) under the labels reports show."""
    final = stages.get("final")
    if final is None:
        return []
    names = final_labels(final.user_attrs.get("final_configs", {}))
    return [{**e, **{k: names.get(e[k], e[k]) for k in ("a", "b", "best", "reference") if e.get(k) is not None}}
            for e in final.user_attrs.get("attribution", [])]


def collect(storage, study_name: str) -> dict[str, list[dict]]:
    """Every trial, every per-seed run and every accuracy point of a study, as row dicts, and the
    final stage's attribution entries under the same labels.

    One numbering per column: ``number`` (trials.csv) and ``trial`` (runs.csv, accuracy.csv) are the
    search stage's trial numbers (a grid's trials), blank on final-stage rows; ``final_trial`` is the
    final stage's own trial number, blank elsewhere. ``label`` names the configuration (the same in
    every file, report and plot), ``config_id`` is 6 hex digits of its overrides (the same for a search
    trial and its re-evaluation in the final stage), ``settings`` its overrides in full.

    Every run row also says when and where its trial ran: ``started_at`` and ``finished_at`` (the
    trial's datetime_start and datetime_complete, ISO 8601 UTC; a search trial's runs share its
    times), ``worker`` (host:pid) and ``reused`` (the run came from the run cache, so its times
    were measured when it first ran; blank when unknown). report.analysis reads the start times to
    decide whether a wall-clock comparison ran interleaved."""
    trials, runs, accuracy, records = [], [], [], []
    stages = stage_studies(storage, study_name)
    identities = _identities(stages)
    for stage, study in stages.items():
        multi = len(study.directions) > 1
        setup = study.user_attrs.get("setup", {})
        # the runs' number of tasks: a trial pruned mid-run stores no run, so take it from any
        # stored run of the stage (they share it; grids that vary it store a run per trial)
        stage_tasks = setup.get("n_tasks") or next(
            (RunResult.from_dict(t.user_attrs[k]).config.data.n_tasks for t in study.get_trials(deepcopy=False)
             for k in t.user_attrs if k.startswith("run:")), None)
        ordered = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        # Exactly once: a trial whose worker died or stalled past its heartbeat is failed and retried
        # (the retry's system attr "failed_trial" names the first attempt). An attempt can have
        # stored its runs just before it was failed, so only the newest attempt of each trial
        # gives runs; the older ones keep their trials.csv rows.
        newest: dict[int, int] = {}
        for t in ordered:
            root = t.system_attrs.get("failed_trial", t.number)
            newest[root] = max(newest.get(root, t.number), t.number)
        for t in ordered:
            duration = t.duration.total_seconds() if t.duration else None
            keys = sorted((k for k in t.user_attrs if k.startswith("run:")), key=lambda k: int(k[4:]))
            results = [RunResult.from_dict(t.user_attrs[k]) for k in keys]
            n_seeds = 1 if "seed" in t.params else len(setup.get("seeds") or []) or 1  # a search trial: every seed
            budget, stop = _progress(t, results, n_seeds, stage_tasks)
            final = stage == "final"
            number = {"trial": None if final else t.number, "final_trial": t.number if final else None}
            retry = t.system_attrs.get("failed_trial", "")
            ident = identities[(stage, t.number)]
            row = {"stage": stage, "number": number["trial"], "final_trial": number["final_trial"],
                   "state": t.state.name, **ident, "duration_s": duration, "worker": t.user_attrs.get("worker", ""),
                   "reason": t.user_attrs.get("reason", ""), "retry_of": "" if final else retry,
                   "final_retry_of": retry if final else "", "runs": len(results),
                   "reused_runs": t.user_attrs.get("reused_runs", ""), "budget_reached": budget, "stop_reason": stop}
            if "fidelity" in t.user_attrs:  # search trials: the training lengths they ran ("full": all)
                row["fidelity"] = t.user_attrs["fidelity"]
            if multi:
                row["value_acc"], row["value_time_s"] = (t.values or [None, None])[:2]
            else:
                row["value"] = t.values[0] if t.values else None
            # a final trial's "config" parameter is an internal key (labels.final_labels): label says it
            row.update({f"param_{k}": v for k, v in sorted(t.params.items()) if not (final and k == "config")})
            row["overrides"] = " ".join(t.user_attrs.get("overrides", []))
            trials.append(row)
            when = {"started_at": _utc(t.datetime_start), "finished_at": _utc(t.datetime_complete),
                    "worker": t.user_attrs.get("worker", "")}
            n_reused = t.user_attrs.get("reused_runs", "")
            # a one-seed trial (grids, final stages) reused its one run or not; a search trial's
            # runs are all or none reused, else which of them is unknown (blank)
            reused = (n_reused == len(results) if n_reused in (0, len(results)) else "") if results else ""
            superseded = newest[t.system_attrs.get("failed_trial", t.number)] != t.number
            for key, result in [] if superseded else zip(keys, results):
                head = {"stage": stage, **number, "trial_state": t.state.name, **ident,
                        "seed": result.config.seed, "split": result.split}
                records.append(t.user_attrs[key])
                runs.append({**head, **result.summary_row(), **when, "reused": reused})
                accuracy += [{"stage": stage, **number, "seed": result.config.seed, **a}
                             for a in result.accuracy_rows()]
    return {"trials": trials, "runs": runs, "accuracy": accuracy, "attribution": attribution_entries(stages),
            "records": records}


def _wall_seconds(stages: dict[str, optuna.Study]) -> float | None:
    """First trial start to last trial end over every stage: the study's one wall time."""
    times = [(t.datetime_start, t.datetime_complete) for st in stages.values() for t in st.get_trials(deepcopy=False)]
    starts = [a for a, _ in times if a]
    ends = [b for _, b in times if b]
    return round((max(ends) - min(starts)).total_seconds(), 1) if starts and ends else None


def _importances(search: optuna.Study | None) -> dict[str, float] | None:
    """Optuna's parameter importances of a single-objective search (None where they cannot be had)."""
    if search is None or len(search.directions) != 1:
        return None
    done = search.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2 or any("seed" in t.params for t in done):  # a grid's points carry their seed
        return None
    try:
        with warnings.catch_warnings():  # "few trials per regime": the table says enough
            warnings.simplefilter("ignore")
            return {k: float(v) for k, v in optuna.importance.get_param_importances(search).items()}
    except (RuntimeError, ValueError):
        return None


def report_inputs(storage, study_name: str, rows: dict[str, list[dict]]) -> dict[str, object]:
    """What a report needs beyond the rows, read from the storage once and kept in manifest.json,
    so that `gr-bench report` can rebuild everything from a shipped folder alone."""
    from .study.sequential import stored_plan

    stages = stage_studies(storage, study_name)
    search = stages.get("search")
    multi = search is not None and len(search.directions) == 2
    runs = rows["runs"]
    cpu = [float(r["cpu_s"]) for r in runs if isinstance(r.get("cpu_s"), (int, float)) and r["cpu_s"] == r["cpu_s"]]
    return {
        "multi_objective": multi,
        "pareto_trials": [t.number for t in search.best_trials] if multi and search is not None else [],
        "importances": _importances(search),
        "attribution": rows["attribution"],
        "sequential": stored_plan(stages),
        "wall_s": _wall_seconds(stages),
        "runs_cpu_s": round(sum(cpu), 1) if cpu else None,  # the runs' own CPU seconds (reused runs: when first run)
        "cpu_models": sorted({str(r["cpu_model"]) for r in runs if r.get("cpu_model")}),
        "code_versions": sorted({str(r["code_version"]) for r in runs if r.get("code_version")}),
    }


def manifest(storage, storage_url: str, study_name: str, rows: dict[str, list[dict]]) -> dict[str, object]:
    stages = stage_studies(storage, study_name)
    search = stages.get("search")
    return {
        "schema_version": SCHEMA_VERSION,
        "study_name": study_name,
        "storage": redact(storage_url),
        "command": search.user_attrs.get("command", "") if search else "",
        "setup": search.user_attrs.get("setup", {}) if search else {},
        "stages": {s: {"budget": st.user_attrs.get("budget"),
                       "states": {state.name: sum(1 for t in st.get_trials(deepcopy=False) if t.state == state)
                                  for state in TrialState}} for s, st in stages.items()},
        "final_configs": _final_configs(stages),
        "datasets": sorted({str(r["dataset"]) for r in rows["runs"]}),
        "hosts": sorted({str(r["worker"]).split(":")[0] for r in rows["trials"] if r["worker"]}),
        **{k: v for k, v in provenance().items() if k in ("versions", "git_sha")},
        **report_inputs(storage, study_name, rows),
    }


def _final_configs(stages: dict[str, optuna.Study]) -> dict[str, dict[str, object]]:
    """label -> {config_id, overrides} of the final stage's configurations, under the labels shown."""
    if "final" not in stages:
        return {}
    configs = stages["final"].user_attrs.get("final_configs", {})
    names = final_labels(configs)
    return {names[k]: {"config_id": config_id(_own(v)), "overrides": v} for k, v in configs.items()}


def export_study(storage, storage_url: str, study_name: str, out_dir: Path) -> dict[str, list[dict]]:
    rows = collect(storage, study_name)
    run_cols = ["stage", "trial", "final_trial", "trial_state", "label", "config_id", "settings", "seed", "split",
                *SUMMARY_COLUMNS]
    run_cols += [k for r in rows["runs"] for k in r if k not in run_cols]
    write_csv(out_dir / "trials.csv", rows["trials"],
              list(dict.fromkeys(k for r in rows["trials"] for k in r)) or ["stage", "number", "final_trial", "state"])
    write_csv(out_dir / "runs.csv", rows["runs"], list(dict.fromkeys(run_cols)))
    write_csv(out_dir / "accuracy.csv", rows["accuracy"],
              ["stage", "trial", "final_trial", "seed", "after_task", "eval_task", "epoch", "acc"])
    write_json(out_dir / "manifest.json", manifest(storage, storage_url, study_name, rows))
    write_records(out_dir / RECORDS, rows["records"])
    return rows


RECORDS = "records.jsonl.gz"  # every run's full RunResult.to_dict(), one per line: what --reuse imports


def write_records(path: Path, records: list[dict]) -> None:
    """The runs' full records, gzipped with a fixed header time so that the same runs give the same
    bytes."""
    text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)
    atomic_write(path, lambda f: f.write(gzip.compress(text.encode(), mtime=0)), text=False)
