"""The precision study's answer on bf16, as docs/performance.md gives it (tools/docs.py): is it
equivalent to fp32, and what does it save? Not a study (its name starts with "_").

Two sources, both shipped in results/:
- results/precision/ (`gr-bench study precision`): fp32 against bf16 paired by seed in each
  setting; the study's own TOST verdicts (stats.csv), the seeds a TOST at the study's margin would
  need at the observed sd, and the CPU seconds of each arm (runs.csv);
- results/precision-runs/runs.csv (benchmarks/precision_runs.py): whole runs, fp32 and bf16 side by
  side on the two cores, for the target's CPU ratio. The main job's time at bf16 is projected at the
  ratio of its own setting: the one whose runs share its models and batches (SETTING_FIELDS).
Nothing here trains or tests anything the study did not: it reads and words.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from gr_bench import stats
from gr_bench.report.frames import ok_rows
from gr_bench.report.markdown import duration_text, md_table, seed_ranges

PRECISION_TARGET = 1.8  # bf16's whole-run target: at least 1.8x less CPU than fp32
PRIMARY = "final_avg_acc"
MAIN_JOB_TARGET_S = 12 * 60  # the main job's target on 2 idle cores
# What decides bf16's speed-up in a run, and so which setting's ratio applies to it: its models'
# shapes, its batch sizes and how replay is batched and labelled. A search over lr, schedule or
# epochs stays within one setting.
SETTING_FIELDS = ("generator", "hidden", "vae_hidden", "latent", "batch_size", "vae_batch_size", "replay_mode",
                  "labels", "iters", "vae_iters")


def whole_run_text(path: Path) -> str:
    """The whole-run figures: per setting, the newest pair of runs (fp32 and bf16 side by side,
    one per core) and the ratio of their CPU seconds."""
    if not path.is_file():
        return "No whole-run precision timing is shipped (`python benchmarks/precision_runs.py` writes one)."
    out = [{"setting": setting, **row} for setting, row in whole_run_pairs(path).items()]
    return ("`python benchmarks/precision_runs.py`: full MNIST, seed 0, one thread per run, the fp32 and bf16 "
            "runs of a setting side by side on the two cores; from results/precision-runs/runs.csv. One pair "
            "per setting: a speed measurement, not an accuracy finding.\n\n" + md_table(pd.DataFrame(out)).rstrip())


def _newest_pairs(path: Path):
    """(setting, fp32 row, bf16 row): each setting's newest pair of runs."""
    rows = pd.read_csv(path, dtype={"commit": str})
    for setting, g in rows.groupby("setting", sort=False):
        pair = g.tail(2).set_index("precision")
        yield str(setting), pair.loc["fp32"], pair.loc["bf16"]


def whole_run_ratios(path: Path) -> dict[str, float]:
    """Per setting, fp32's CPU seconds over bf16's in the newest pair ({} when nothing is shipped)."""
    return {s: fp32["cpu_s"] / bf16["cpu_s"] for s, fp32, bf16 in _newest_pairs(path)} if path.is_file() else {}


def whole_run_pairs(path: Path) -> dict[str, dict[str, str]]:
    out = {}
    for setting, fp32, bf16 in _newest_pairs(path):
        ratio = fp32["cpu_s"] / bf16["cpu_s"]
        out[setting] = {
            "commit": fp32["commit"], "date": str(fp32["started_utc"])[:10],
            "fp32 CPU s": f"{fp32['cpu_s']:.0f}", "bf16 CPU s": f"{bf16['cpu_s']:.0f}", "fp32 / bf16": f"{ratio:.2f}x",
            f"target {PRECISION_TARGET}x": "met" if ratio >= PRECISION_TARGET else "not met",
            "generator s, fp32 / bf16": f"{fp32['time_generator_s']:.0f} / {bf16['time_generator_s']:.0f}",
            "final avg acc %, fp32 / bf16 (one seed)":
                f"{100 * fp32['final_avg_acc']:.1f} / {100 * bf16['final_avg_acc']:.1f}"}
    return out


def _value(x) -> str:
    """A runs.csv field as text, alike whichever dtype pandas read it as (2000 and 2000.0; blank and NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (int, float)):
        return f"{float(x):g}"
    return str(x)


def _settings_of(runs: pd.DataFrame) -> set[tuple[str, ...]]:
    """The distinct SETTING_FIELDS values of some runs (a field runs.csv lacks counts as blank)."""
    return {tuple(_value(r.get(f)) for f in SETTING_FIELDS) for r in ok_rows(runs).to_dict("records")}


def main_job_setting(main_runs: pd.DataFrame, study_runs: pd.DataFrame) -> str | None:
    """The precision study's setting whose fp32 runs share the main job's SETTING_FIELDS, or None when
    the main job's runs differ among themselves there or match no setting."""
    ours = _settings_of(main_runs)
    if len(ours) != 1:
        return None
    fp32 = ok_rows(study_runs)
    fp32 = fp32[fp32["label"].astype(str).str.endswith(" fp32")]
    for label, g in fp32.groupby("label", sort=False):
        if _settings_of(g) == ours:
            return str(label)[: -len(" fp32")]
    return None


def setting_table(runs: pd.DataFrame, stats_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per setting from the study's primary rows ('<setting> bf16' against '<setting> fp32'):
    n, both means and their difference in points with the interval at the verdict's level, the
    Holm-adjusted TOST p, the verdict, the sd of the paired differences, the seeds a TOST at the
    study's margin needs for 80% power at that sd (Holm's strictest step), and mean CPU s per arm."""
    primary = stats_rows[(stats_rows["metric"] == PRIMARY) & stats_rows["a"].str.endswith(" bf16")]
    cpu = ok_rows(runs).groupby("label")["cpu_s"].mean()
    out = []
    for r in primary.to_dict("records"):
        setting = r["a"][: -len(" bf16")]
        sd, margin, k = r["sd_diff_points"] / 100, r["margin_points"] / 100, int(r["family_size"])
        need = stats.tost_seeds_needed(sd, margin, alpha=float(r["alpha"]), family=k)
        out.append({"setting": setting, "n": int(r["n_a"]), "fp32": 100 * r["mean_b"], "bf16": 100 * r["mean_a"],
                    "diff": r["diff_points"], "ci_low": r["ci_low_points"], "ci_high": r["ci_high_points"],
                    "ci_level": r["ci_level"], "tost_p_holm": r["tost_p_holm"],
                    # stats.csv words an equivalence with its margin ("equivalent within ±1 point")
                    "verdict": "equivalent" if str(r["verdict"]).startswith("equivalent") else r["verdict"],
                    "verdict_text": stats.verdict_label({**r, "margin": margin}),  # stats.csv keeps points
                    "margin": r["margin_points"], "sd_diff": r["sd_diff_points"], "tost_seeds": need,
                    "cpu_fp32": cpu.get(f"{setting} fp32", math.nan), "cpu_bf16": cpu.get(r["a"], math.nan)})
    return pd.DataFrame(out)


def _cpu_models(runs: pd.DataFrame) -> int:
    return ok_rows(runs)["cpu_model"].nunique() if "cpu_model" in runs else 1


def cpu_text(runs: pd.DataFrame, setting: str, *, ratio: bool) -> str:
    """A setting's mean CPU seconds at fp32 and bf16 ("117 / 98"), or their ratio ("1.20x"); one per CPU
    model when its seeds ran on several, with the seeds of each: bf16's gain depends on the CPU's bf16
    instructions, so a mean over two machines would describe neither."""
    ok = ok_rows(runs)
    ok = ok[ok["label"].isin([f"{setting} fp32", f"{setting} bf16"])]
    groups = list(ok.groupby("cpu_model", sort=False)) if _cpu_models(runs) > 1 else [("", ok)]
    parts = []
    for model, g in groups:
        cpu = g.groupby("label")["cpu_s"].mean()
        fp32, bf16 = cpu.get(f"{setting} fp32", math.nan), cpu.get(f"{setting} bf16", math.nan)
        text = f"{fp32 / bf16:.2f}x" if ratio else f"{fp32:.0f} / {bf16:.0f}"
        if model:
            text += f" ({model}, seeds {seed_ranges(sorted(set(g['seed'])))})"
        parts.append(text)
    return "; ".join(parts)


def _num(x: float, spec: str) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def study_text(folder: Path, whole_runs: Path, main_job: Path | None = None) -> str:
    """The precision study's table and what follows from it for `precision=bf16` (``main_job``: the
    shipped main job's folder, for its wall time against the 12-minute target)."""
    if not (folder / "runs.csv").is_file():
        return ("The precision study is not shipped yet (`gr-bench study precision`, then "
                "`gr-bench export precision --ship results/precision`): bf16 stays opt-in, not shown equivalent.")
    runs, rows = pd.read_csv(folder / "runs.csv"), pd.read_csv(folder / "stats.csv")
    meta = json.loads((folder / "manifest.json").read_text())
    table = setting_table(runs, rows)
    seeds = sorted(set(ok_rows(runs)["seed"]))
    shown = pd.DataFrame({
        "setting": table["setting"], "n": table["n"],
        "fp32 %": table["fp32"].map(lambda x: _num(x, ".1f")), "bf16 %": table["bf16"].map(lambda x: _num(x, ".1f")),
        "bf16 − fp32, points [CI]": [f"{r.diff:+.2f} [{_num(r.ci_low, '+.2f')}, {_num(r.ci_high, '+.2f')}]"
                                     for r in table.itertuples()],
        "TOST p (Holm)": table["tost_p_holm"].map(lambda x: _num(x, ".2g")),
        "verdict": table["verdict_text"],
        "sd of differences, points": table["sd_diff"].map(lambda x: _num(x, ".2f")),
        "seeds a TOST needs": table["tost_seeds"].map(lambda x: "—" if x is None or pd.isna(x) else f"{int(x)}"),
        "CPU s fp32 / bf16": [cpu_text(runs, s, ratio=False) for s in table["setting"]],
        "fp32 / bf16": [cpu_text(runs, s, ratio=True) for s in table["setting"]]})
    level = stats.level_text(float(table["ci_level"].iloc[0])) if len(table) else "95%"
    datasets = ", ".join(meta.get("datasets") or [])
    head = (f"`{meta.get('command', '')}` (code of the runs {', '.join(meta.get('code_versions') or ['unknown'])}; "
            f"{datasets}; "
            f"{len(seeds)} seeds, {', '.join(map(str, seeds))}): each setting's fp32 and bf16 runs paired by seed, "
            f"a paired TOST at ±{table['margin'].iloc[0]:g} point on final average accuracy, Holm over the "
            f"{len(table)} settings, intervals at {level}. \"Seeds a TOST needs\": pairs for 80% power to show "
            "equivalence at that margin if the arms truly do not differ, at the observed sd (stats.tost_seeds_needed, "
            "Holm's strictest step). CPU seconds are each arm's mean, two runs sharing the two cores"
            + (", per CPU model where the seeds ran on several (each seed's pair ran on one)"
               if _cpu_models(runs) > 1 else "") + ".\n\n")
    return head + md_table(shown).rstrip() + "\n\n" + decision(table, whole_runs, main_job, runs)


def decision(table: pd.DataFrame, whole_runs: Path, main_job: Path | None = None,
             study_runs: pd.DataFrame | None = None) -> str:
    """What the verdicts and the whole-run ratios mean for `precision=bf16`, each clause a measured fact
    (``study_runs``: the precision study's runs, whose settings name the main job's own)."""
    equivalent = table.loc[table["verdict"] == "equivalent", "setting"].tolist()
    other = [f"{r.setting} ({r.verdict}; a TOST there needs about {int(r.tost_seeds)} seeds)"
             if r.tost_seeds is not None and not pd.isna(r.tost_seeds) else f"{r.setting} ({r.verdict})"
             for r in table.itertuples() if r.verdict != "equivalent"]
    parts = [f"Shown equivalent: {', '.join(equivalent) if equivalent else 'in no setting'}."]
    if other:
        parts.append(f"Not shown equivalent: {'; '.join(other)}.")
    ratios = whole_run_ratios(whole_runs)
    if ratios:
        parts.append("Whole runs save " + ", ".join(f"{v:.2f}x ({s})" for s, v in ratios.items())
                     + f" of CPU at bf16, against the {PRECISION_TARGET}x target.")
    if other:
        parts.append("So `--set precision=bf16` stays opt-in and the main job searches and runs at fp32: bf16 is "
                     "not shown equivalent in every setting" + (", and it saves less than the target"
                                                                 if ratios and max(ratios.values()) < PRECISION_TARGET
                                                                 else "") + ".")
    else:
        parts.append("bf16 is shown equivalent in every setting tested.")
    if ratios and main_job is not None and (main_job / "manifest.json").is_file() and (main_job / "runs.csv").is_file():
        parts.append(projection(table, ratios, main_job, study_runs))
    return " ".join(p for p in parts if p)


def projection(table: pd.DataFrame, ratios: dict[str, float], main_job: Path,
               study_runs: pd.DataFrame | None) -> str:
    """The main job's wall time at bf16, projected at the whole-run ratio of its own setting (its
    models and batches decide the ratio: another setting's says nothing about it); "" without a wall."""
    wall = float(json.loads((main_job / "manifest.json").read_text()).get("wall_s") or 0)
    if not wall:
        return ""
    runs = pd.read_csv(main_job / "runs.csv", low_memory=False)
    precisions = "/".join(sorted(set(runs["precision"].astype(str))))
    head = f"The main job took {duration_text(wall)} wall at {precisions} (results/{main_job.name})"
    setting = main_job_setting(runs, study_runs) if study_runs is not None else None
    if setting is None or setting not in ratios:
        why = "no setting of the precision study has its models and batches" if setting is None else \
            f"no whole run is measured in its setting ({setting})"
        return f"{head}; {why}, so no bf16 time is projected for it; the target is {MAIN_JOB_TARGET_S // 60} minutes."
    ratio = ratios[setting]
    arm = table.set_index("setting").loc[setting] if setting in set(table["setting"]) else None
    study = "" if arm is None or study_runs is None or not arm["cpu_bf16"] > 0 else \
        f"; the precision study's runs of it: {cpu_text(study_runs, setting, ratio=True)}"
    return (f"{head}, in the {setting} setting (its models and batches); at that setting's whole-run ratio "
            f"({ratio:.2f}x{study}) it would take about {duration_text(wall / ratio)} (a projection, not a run); "
            f"the target is {MAIN_JOB_TARGET_S // 60} minutes.")
