"""report.md's configurations: every label with its config_id and settings, and mean ± sd per
configuration of the compared stage."""

from __future__ import annotations

import pandas as pd

from . import frames
from .analysis import ok_runs
from .markdown import md_table
from .study_tables import mean_sd, shared_value, shown_settings


def configurations_section(trials: pd.DataFrame, runs: pd.DataFrame, stage: str) -> list[str]:
    """Every label with its config_id, stages and settings in full; how the search trained; which
    runs restored a generator trained by another."""
    table = configurations(trials, runs, stage)
    if table.empty:
        return []
    md = ["## Configurations\n",
          "Every label of this study with its config_id (6 hex digits of the sha256 of its sorted "
          "overrides: the same settings have the same id in every stage) and its settings: its overrides "
          "over the study's base, exact. The final stage also trains every configuration on the whole "
          "training split (val_fraction=0), left out here. `gr-bench compare` takes a label or a config_id.\n"]
    lengths = search_fidelity(trials)
    if lengths:  # the search ran at a lower fidelity than the final stage
        md.append(f"The search trials trained {' or '.join(f'`{x}`' for x in lengths)} per task (the study's "
                  "search fidelity: every task, fewer passes; trials.csv's fidelity); the final stage trains "
                  "every configuration in full.\n")
    shared = int(frames.restored_generator(runs).sum())
    if shared:  # generator_tracks.py
        md.append(f"{shared} run(s) restored their generator's training, task by task, from the run of the same "
                  "seed whose configuration differs only in the classifier's lr, lr_decay or lr_schedule (runs.csv's "
                  "generator_from), after checking that every input of that training was bit-identical; their "
                  "generator seconds and CPU seconds are those measured where it was trained.\n")
    return md + [md_table(table)]


def search_fidelity(trials: pd.DataFrame) -> list[str]:
    """What the search trials trained per task when below full fidelity (trials.csv's fidelity)."""
    return sorted(set(trials.get("fidelity", pd.Series(dtype=str)).dropna()) - {"full", ""})


def configurations(trials: pd.DataFrame, runs: pd.DataFrame, first: str) -> pd.DataFrame:
    """report.md's Configurations: every label with its config_id, the stages it ran in and its
    settings in full (its overrides over the study's base), those of stage ``first`` first."""
    src = trials if len(trials) and "label" in trials else runs
    if src.empty or "label" not in src:
        return pd.DataFrame()
    found: dict[tuple[str, str], dict] = {}
    for r in src.to_dict("records"):
        label, cid = str(r["label"]), str(r.get("config_id") or "")
        if not label:
            continue  # a search trial that has not started: no configuration yet
        e = found.setdefault((label, cid), {"stages": [], "settings": str(r.get("settings") or "")})
        if r["stage"] not in e["stages"]:
            e["stages"].append(r["stage"])
    order = sorted(found, key=lambda k: first not in found[k]["stages"])  # stable: first appearance within
    return pd.DataFrame([{"label": label, "config_id": cid, "stage": ", ".join(found[(label, cid)]["stages"]),
                          "settings": f"`{found[(label, cid)]['settings']}`" if found[(label, cid)]["settings"]
                          else "(the study's base)"} for label, cid in order])


def config_summary(runs: pd.DataFrame, search: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean ± sd over seeds per configuration (for report.md), with its config_id and settings in
    short form; with several numbers of tasks, grouped by n_tasks (accuracies over different task
    counts are not comparable), best first within each. ``search``: the search stage's successful
    runs when ``runs`` are the final stage's: each configuration's wall time there (the same
    config_id, search fidelity, validation split) gets its own column, "search time s", beside the
    final stage's "final time s"; a time column never mixes the two."""
    by_tasks = "n_tasks" in runs and runs["n_tasks"].nunique() > 1
    split = search is not None and len(search) > 0 and "config_id" in search
    out = []
    for label, g in runs.groupby("label", sort=False):
        cid = shared_value(g, "config_id")
        row = {"configuration": label, "config_id": cid, "settings": shown_settings(shared_value(g, "settings")),
               "n": len(g)}
        if by_tasks:
            row = {"n_tasks": int(g["n_tasks"].iloc[0]), **row}
        row["final avg acc %"] = mean_sd(g["final_avg_acc"].astype(float), 100)
        row["forgetting %"] = mean_sd(g["avg_forgetting"].astype(float), 100)
        if split:
            searched = search[search["config_id"].astype(str) == cid] if cid else search.iloc[:0]
            row["search time s"] = mean_sd(searched["time_total_s"].astype(float), 1)
            row["final time s"] = mean_sd(g["time_total_s"].astype(float), 1)
        else:
            row["time s"] = mean_sd(g["time_total_s"].astype(float), 1)
        row["memory MiB"] = f"{g['memory_bytes'].astype(float).mean() / 2**20:.2f}"
        out.append(row)
    df = pd.DataFrame(out)
    acc = df["final avg acc %"].str.split().str[0].astype(float)
    order = (df.assign(_acc=-acc).sort_values(["n_tasks", "_acc"] if by_tasks else ["_acc"], kind="stable")
             .drop(columns="_acc"))
    return order


def summary_section(trials: pd.DataFrame, runs: pd.DataFrame, stage: str) -> list[str]:
    """Mean ± sd per configuration of the compared stage; for a final stage, the search stage's wall
    time (search fidelity) in its own column beside the final stage's (full fidelity)."""
    search = ok_runs(runs, "search") if stage == "final" else None
    md = [f"\n## Configurations ({stage} stage, mean ± sd over seeds)\n"]
    if search is not None and len(search):
        lengths = search_fidelity(trials)
        fidelity = f"at the search fidelity, {' or '.join(f'`{x}`' for x in lengths)} per task" if lengths \
            else "in full"
        md.append("Wall-clock seconds per run, for reading (never judged): \"search time s\" is the same "
                  f"configuration's search-stage runs (validation split, {fidelity}; \"-\" where it was not "
                  "searched), \"final time s\" the final stage's (full training, test split).\n")
    return md + [md_table(config_summary(ok_runs(runs, stage), search))]
