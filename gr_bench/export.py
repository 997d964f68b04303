"""Study exports, rebuilt from the storage alone: trials.csv, runs.csv, accuracy.csv, manifest.json.

Every row names its configuration the same way (label, config_id, settings: see collect), under
today's name (labels.RENAMED translates a name stored before a rename).

Rows are sorted (stage, trial, seed) and nothing time-dependent is added, so exporting twice gives
identical files; each file is written whole or not at all (files.atomic_write_text).
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from .files import atomic_write, write_csv, write_json
from .labels import config_id, current_manifest, current_row, final_labels
from .orchestration.sequential import stored_plan
from .orchestration.stored import (
    attribution_entries,
    identities,
    own_overrides,
    run_rows,
    stage_studies,
    superseded,
    trial_results,
)
from .provenance import provenance
from .result import SCHEMA_VERSION, SUMMARY_COLUMNS, RunResult
from .storage import redact


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
    were measured when it first ran; blank when unknown). comparisons.interleaved reads the start times
    to decide whether a wall-clock comparison ran interleaved. The stage studies, labels and the
    exactly-once rule are study.stored's."""
    trials, runs, accuracy, records = [], [], [], []
    stages = stage_studies(storage, study_name)
    names = identities(stages)
    for stage, study in stages.items():
        multi = len(study.directions) > 1
        setup = study.user_attrs.get("setup", {})
        # the runs' number of tasks: a trial pruned mid-run stores no run, so take it from any
        # stored run of the stage (they share it; grids that vary it store a run per trial)
        stage_tasks = setup.get("n_tasks") or next(
            (RunResult.from_dict(t.user_attrs[k]).config.data.n_tasks for t in study.get_trials(deepcopy=False)
             for k in t.user_attrs if k.startswith("run:")), None)
        ordered = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        gone = superseded(ordered)  # retried trials' older attempts: their trials.csv rows, not their runs
        for t in ordered:
            duration = t.duration.total_seconds() if t.duration else None
            keyed = trial_results(t)
            results = [r for _, r in keyed]
            n_seeds = 1 if "seed" in t.params else len(setup.get("seeds") or []) or 1  # a search trial: every seed
            budget, stop = _progress(t, results, n_seeds, stage_tasks)
            final = stage == "final"
            number = {"trial": None if final else t.number, "final_trial": t.number if final else None}
            retry = t.system_attrs.get("failed_trial", "")
            ident = names[(stage, t.number)]
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
            trials.append(current_row(row))  # a grid's arm parameter under today's name, as its label
            if t.number in gone:
                continue
            for (key, result), run in zip(keyed, run_rows(stage, t, ident, keyed)):
                records.append(t.user_attrs[key])
                runs.append(run)
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


def report_inputs(stages: dict[str, optuna.Study], rows: dict[str, list[dict]]) -> dict[str, object]:
    """What a report needs beyond the rows, read from the stage studies once and kept in
    manifest.json, so that `gr-bench report` can rebuild everything from a shipped folder alone."""
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
        # trials retried after their worker died (RetryFailedTrialCallback): the study was stopped
        # and resumed, so wall_s spans the gap and is not one sitting
        "retried_trials": sum(1 for st in stages.values() for t in st.get_trials(deepcopy=False)
                              if "failed_trial" in t.system_attrs),
        "runs_cpu_s": round(sum(cpu), 1) if cpu else None,  # the runs' own CPU seconds (reused runs: when first run)
        # runs that restored their generator (generator_tracks): their cpu_s includes that training's
        # CPU as measured where it ran, so runs_cpu_s counts each shared generator twice
        "restored_generator_runs": sum(1 for r in runs if r.get("generator_from")),
        "cpu_models": sorted({str(r["cpu_model"]) for r in runs if r.get("cpu_model")}),
        "code_versions": sorted({str(r["code_version"]) for r in runs if r.get("code_version")}),
        "run_codes": sorted({str(r["run_code"]) for r in runs if r.get("run_code")}),
    }


def manifest(storage, storage_url: str, study_name: str, rows: dict[str, list[dict]]) -> dict[str, object]:
    """manifest.json: the study's command, setup, stages and provenance, and what a report needs beyond
    the rows, every configuration under today's name (a look stored before a rename included)."""
    stages = stage_studies(storage, study_name)
    search = stages.get("search")
    return current_manifest({
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
        **report_inputs(stages, rows),
    })


def _final_configs(stages: dict[str, optuna.Study]) -> dict[str, dict[str, object]]:
    """label -> {config_id, overrides} of the final stage's configurations, under the labels shown."""
    if "final" not in stages:
        return {}
    configs = stages["final"].user_attrs.get("final_configs", {})
    names = final_labels(configs)
    return {names[k]: {"config_id": config_id(own_overrides(v)), "overrides": v} for k, v in configs.items()}


def export_study(storage, storage_url: str, study_name: str, out_dir: Path) -> tuple[dict[str, list[dict]], dict]:
    """Write trials.csv, runs.csv, accuracy.csv, manifest.json and records.jsonl.gz; return the rows
    and the manifest (computed once: its parameter importances are not free)."""
    rows = collect(storage, study_name)
    run_cols = ["stage", "trial", "final_trial", "trial_state", "label", "config_id", "settings", "seed", "split",
                *SUMMARY_COLUMNS]
    run_cols += [k for r in rows["runs"] for k in r if k not in run_cols]
    write_csv(out_dir / "trials.csv", rows["trials"],
              list(dict.fromkeys(k for r in rows["trials"] for k in r)) or ["stage", "number", "final_trial", "state"])
    write_csv(out_dir / "runs.csv", rows["runs"], list(dict.fromkeys(run_cols)))
    write_csv(out_dir / "accuracy.csv", rows["accuracy"],
              ["stage", "trial", "final_trial", "seed", "after_task", "eval_task", "epoch", "acc"])
    meta = manifest(storage, storage_url, study_name, rows)
    write_json(out_dir / "manifest.json", meta)
    write_records(out_dir / RECORDS, rows["records"])
    return rows, meta


RECORDS = "records.jsonl.gz"  # every run's full RunResult.to_dict(), one per line: what --reuse imports


def write_records(path: Path, records: list[dict]) -> None:
    """The runs' full records, gzipped with a fixed header time so that the same runs give the same
    bytes."""
    text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)
    atomic_write(path, lambda f: f.write(gzip.compress(text.encode(), mtime=0)), text=False)
