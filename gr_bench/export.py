"""Study exports, rebuilt from the storage alone: trials.csv, runs.csv, accuracy.csv, manifest.json.

Rows are sorted (stage, trial, seed) and nothing time-dependent is added, so exporting twice gives
identical files; each file is written whole or not at all (files.atomic_write_text).
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState

from .files import write_csv, write_json
from .provenance import provenance
from .result import SCHEMA_VERSION, SUMMARY_COLUMNS, RunResult
from .storage import load_study, redact

STAGES = ("search", "final")


def stage_studies(storage, study_name: str) -> dict[str, optuna.Study]:
    out = {}
    for stage in STAGES:
        study = load_study(storage, study_name if stage == "search" else f"{study_name}:{stage}")
        if study is not None:
            out[stage] = study
    return out


def _label(trial: optuna.trial.FrozenTrial) -> str:
    """A short name for a trial's configuration: its grid labels, or its final-stage label."""
    params = {k: v for k, v in trial.params.items() if k != "seed"}
    if "config" in params:
        return str(params["config"])
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
        return budget, f"pruned at task {budget or done}"
    if trial.state == TrialState.FAIL:
        return budget, f"failed: {trial.user_attrs.get('reason') or 'no reason recorded'}"
    return budget, ""


def collect(storage, study_name: str) -> dict[str, list[dict]]:
    """Every trial, every per-seed run and every accuracy point of a study, as row dicts."""
    trials, runs, accuracy = [], [], []
    for stage, study in stage_studies(storage, study_name).items():
        multi = len(study.directions) > 1
        setup = study.user_attrs.get("setup", {})
        for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            duration = t.duration.total_seconds() if t.duration else None
            keys = sorted((k for k in t.user_attrs if k.startswith("run:")), key=lambda k: int(k[4:]))
            results = [RunResult.from_dict(t.user_attrs[k]) for k in keys]
            n_seeds = 1 if "seed" in t.params else len(setup.get("seeds") or []) or 1  # a search trial: every seed
            budget, stop = _progress(t, results, n_seeds, setup.get("n_tasks"))
            row = {"stage": stage, "number": t.number, "state": t.state.name, "label": _label(t),
                   "duration_s": duration, "worker": t.user_attrs.get("worker", ""),
                   "reason": t.user_attrs.get("reason", ""), "retry_of": t.system_attrs.get("failed_trial", ""),
                   "runs": len(results), "reused_runs": t.user_attrs.get("reused_runs", ""),
                   "budget_reached": budget, "stop_reason": stop}
            if multi:
                row["value_acc"], row["value_time_s"] = (t.values or [None, None])[:2]
            else:
                row["value"] = t.values[0] if t.values else None
            row.update({f"param_{k}": v for k, v in sorted(t.params.items())})
            row["overrides"] = " ".join(t.user_attrs.get("overrides", []))
            trials.append(row)
            for result in results:
                head = {"stage": stage, "trial": t.number, "trial_state": t.state.name, "label": row["label"],
                        "seed": result.config.seed, "split": result.split}
                runs.append({**head, **result.summary_row()})
                accuracy += [{"stage": stage, "trial": t.number, "seed": result.config.seed, **a}
                             for a in result.accuracy_rows()]
    return {"trials": trials, "runs": runs, "accuracy": accuracy}


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
        "final_configs": stages["final"].user_attrs.get("final_configs", {}) if "final" in stages else {},
        "datasets": sorted({str(r["dataset"]) for r in rows["runs"]}),
        "hosts": sorted({str(r["worker"]).split(":")[0] for r in rows["trials"] if r["worker"]}),
        **{k: v for k, v in provenance().items() if k in ("versions", "git_sha")},
    }


def export_study(storage, storage_url: str, study_name: str, out_dir: Path) -> dict[str, list[dict]]:
    rows = collect(storage, study_name)
    run_cols = ["stage", "trial", "trial_state", "label", "seed", "split", *SUMMARY_COLUMNS]
    run_cols += [k for r in rows["runs"] for k in r if k not in run_cols]
    write_csv(out_dir / "trials.csv", rows["trials"],
              list(dict.fromkeys(k for r in rows["trials"] for k in r)) or ["stage", "number", "state"])
    write_csv(out_dir / "runs.csv", rows["runs"], list(dict.fromkeys(run_cols)))
    write_csv(out_dir / "accuracy.csv", rows["accuracy"],
              ["stage", "trial", "seed", "after_task", "eval_task", "epoch", "acc"])
    write_json(out_dir / "manifest.json", manifest(storage, storage_url, study_name, rows))
    return rows
