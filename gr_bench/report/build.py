"""A study's report, rebuilt from its stored rows: stats.csv, plots/ (PNG + SVG) and report.md.

Nothing here trains or reads the storage: callers pass the rows from export.collect.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .. import stats
from ..comparisons import JUDGED_COSTS, WALL_CLOCK_VERDICT, with_code
from ..files import atomic_write_text, write_csv
from ..provenance import code_text
from . import analysis, frames, plots
from .published import published_table, readable, rule_text
from .study_tables import mean_sd, shared_value, shown_settings

MAX_LABELS = 6  # per-configuration figures drawn for at most this many configurations


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:60] or "config"


def md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x: object, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return "—" if math.isnan(x) else f"{x:.{digits}g}"
    return str(x)


def _fixed(x: float, spec: str = ".2f") -> str:
    return "—" if math.isnan(x) else format(x, spec)


def _ci(r: dict, scale: float, spec: str = ".2f") -> str:
    """A row's interval, '[low, high]', in the unit it is shown in."""
    return f"[{_fixed(scale * r['ci_low'], spec)}, {_fixed(scale * r['ci_high'], spec)}]"


def stats_display(rows: list[dict]) -> pd.DataFrame:
    """report.md's statistics table: differences in points (fractions) or the metric's unit."""
    out = []
    for r in rows:
        k, (scale, unit) = int(r["family_size"]), analysis.shown(r)
        tost = r["tost_p_holm"] if k > 1 else r["tost_p"]
        out.append({"metric": r["metric"] + (" (wall-clock)" if r.get("wall_clock") else ""), "family": f"{r['role']}, k={k}",
                    "a": r["a"], "b": r["b"], "n": r["n_a"], "unit": unit or "-",
                    "mean a": f"{scale * r['mean_a']:.4g}", "mean b": f"{scale * r['mean_b']:.4g}",
                    "diff": _fixed(scale * r["diff"], "+.2f"),
                    "CI (1 - alpha/k)": _ci(r, scale),
                    "p": _fmt(r["p_value"]), "p_holm": _fmt(r["p_holm"]) if k > 1 else "—",
                    "TOST p": _fmt(tost),
                    "margin": stats.margin_text(r, scale=scale, unit="points" if unit == "pts" else unit),
                    "effect": "—" if math.isnan(r["effect_size"]) else f"{r['effect_kind']} {r['effect_size']:.2f}",
                    "MDE": _fixed(scale * r["mde"]), "power": _fmt(r["power_at_min_effect"], 2),
                    "seeds needed": _fmt(r["seeds_needed"]),
                    "test": "exact: size decides" if r.get("exact") else r["test"], "verdict": r["verdict"]})
    return pd.DataFrame(out)


def answer_section(result: dict, runs: pd.DataFrame, question: str) -> list[str]:
    """report.md's first section. Its first paragraph is the headline: the question, then the answer
    in one sentence with its numbers (headline_text). Then one row per comparison of the primary
    family (both means, the difference with its interval at the verdict's level, p_holm, the
    verdict); power, TOST and MDE details follow in the Statistics table and stats.csv."""
    primary = result.get("primary", analysis.PRIMARY)
    rows = [r for r in result["rows"] if r["metric"] == primary]
    out = ["## Answer\n"]
    asked = f"Question: {question}." if question else ""
    if not rows:
        return out + [(f"{asked}  \n" if asked else "") + "No comparison: fewer than two configurations with "
                      "finished runs.\n"]
    out.append((f"{asked}  \n" if asked else "") + f"Answer: {headline_text(rows, result['stage'])}\n")
    scale, unit = analysis.shown(rows[0])
    k = int(rows[0]["family_size"])
    level = stats.level_text(rows[0].get("ci_level", 0.95))
    out.append(f"{'Each' if k > 1 else 'The'} configuration a against b on `{primary}`, paired by seed "
               f"({int(rows[0]['n_a'])} seeds; Holm over {k}; intervals at {level}, the verdict's level):\n")
    out.append(md_table(pd.DataFrame([{
        "a": r["a"], "b": r["b"], "mean a": _fixed(scale * r["mean_a"], ".1f"), "mean b": _fixed(scale * r["mean_b"], ".1f"),
        f"difference ({'points' if unit == 'pts' else unit or '-'})": _fixed(scale * r["diff"], "+.1f"),
        "CI": _ci(r, scale, "+.1f"),
        "p_holm" if k > 1 else "p": _fmt(r["p_holm"] if k > 1 else r["p_value"], 2), "verdict": r["verdict"]}
        for r in rows])))
    return out


def headline_text(rows: list[dict], stage: str) -> str:
    """The answer in one sentence, from the primary family's rows: for a search (its final stage),
    or a single comparison, the first row (the search's best against the reference) with its
    difference, means, interval, p and verdict; for a grid of several comparisons, its verdicts,
    naming the configurations of each decided one (the numbers are in the table under it)."""
    scale, unit = analysis.shown(rows[0])
    unit = "points" if unit == "pts" else unit
    k, n = int(rows[0]["family_size"]), int(rows[0]["n_a"])

    def numbers(r: dict) -> str:
        p = f"p_holm {_fmt(r['p_holm'], 2)} (Holm over {k})" if k > 1 else f"p {_fmt(r['p_value'], 2)}"
        return (f"{_fixed(scale * r['diff'], '+.1f')} {unit} ({_fixed(scale * r['mean_a'], '.1f')} against "
                f"{_fixed(scale * r['mean_b'], '.1f')}), {stats.level_text(r.get('ci_level', 0.95))} CI "
                f"{_ci(r, scale, '+.1f')}, {p}, "
                f"{n} paired seeds: **{r['verdict']}**")

    metric = f"`{rows[0]['metric']}`"
    if stage == "final" or len(rows) == 1:
        r = rows[0]
        rest = f"; all {len(rows)} comparisons below" if len(rows) > 1 else ""
        what = " (the search's best against the reference" + rest + ")" if stage == "final" else ""
        return f"{r['a']} against {r['b']} on {metric}{what}: {numbers(r)}."
    against = list(dict.fromkeys(r["b"] for r in rows))
    parts = []
    for verdict in dict.fromkeys(r["verdict"] for r in rows):
        named = [r["a"] for r in rows if r["verdict"] == verdict]
        decided = verdict in ("better", "worse") or verdict.startswith(("equivalent", "negligible"))
        parts.append(f"{verdict}: {', '.join(named)}" if decided and len(named) <= 6 else f"{len(named)} {verdict}")
    return (f"{len(rows)} comparisons on {metric} against {', '.join(against[:3])}{', ...' if len(against) > 3 else ''} "
            f"({n} paired seeds, Holm over {k}): {'; '.join(parts)}. Each difference with its CI is in the table below.")


def header_text(manifest: dict) -> str:
    """report.md's first lines: the command, datasets, the code that ran the runs, the study's wall
    time and its runs' CPU seconds (manifest.json: one source for each)."""
    lines = [f"Command: `{manifest.get('command', '')}`", f"Datasets: {', '.join(manifest.get('datasets', []))}"]
    lines.append(code_text(manifest.get("code_versions") or [], manifest.get("git_sha", ""))
                 + (f"; storage `{manifest['storage']}`" if manifest.get("storage") else ""))
    wall, cpu = manifest.get("wall_s"), manifest.get("runs_cpu_s")
    if wall or cpu:
        lines.append("Time: " + "; ".join(
            ([f"{duration_text(wall)} wall, first trial start to last trial end{resumed_text(manifest)}"] if wall else [])
            + ([f"{cpu:,.0f} s of CPU summed over its runs" + (
                f" ({manifest['restored_generator_runs']} of them restored a generator trained by another run and "
                "count its CPU too)" if manifest.get("restored_generator_runs") else "")] if cpu else []))
            + (f" (CPU: {', '.join(manifest['cpu_models'])})" if manifest.get("cpu_models") else ""))
    return "  \n".join(lines) + "\n"


def codes_text(runs: pd.DataFrame) -> str:
    """Which code ran which seeds: one commit for the whole study, or each commit with its seeds,
    and the run code (provenance.run_code: the modules a run executes) they ran. A seed's two runs
    pair only when they ran the same run code (comparisons.with_code), so a seed split across two
    is left out of that comparison."""
    if runs.empty or "code_version" not in runs:
        return ""
    several = commits_clause(runs)
    if several:
        return f"The {several}; a comparison pairs two runs of one seed only when they ran the same run code.\n"
    df = with_code(runs[runs["status"] == "ok"] if "status" in runs else runs)
    commit = str(df["code_version"].fillna("").astype(str).iloc[0]) if len(df) else ""
    return f"Every run ran at one code: commit {commit or 'unknown'}, {_run_codes(df)}.\n"


def commits_clause(runs: pd.DataFrame) -> str:
    """'runs come from 3 commits (a: seeds 0-1; b: seeds 2-9), the same run code c (the modules a
    run executes)' when the ok runs ran at more than one commit, else ""."""
    if runs.empty or "code_version" not in runs:
        return ""
    df = with_code(runs[runs["status"] == "ok"] if "status" in runs else runs)
    versions = df["code_version"].fillna("").astype(str)
    commits = list(dict.fromkeys(versions))
    if len(commits) < 2:
        return ""
    parts = [f"{c or 'unknown'}: seeds {seed_ranges(sorted(set(df.loc[versions == c, 'seed'].astype(int))))}"
             for c in commits]
    return f"runs come from {len(commits)} commits ({'; '.join(parts)}), {_run_codes(df)}"


def _run_codes(df: pd.DataFrame) -> str:
    """'the same run code c (the modules a run executes)', or the run codes, of with_code's rows."""
    commits = set(df["code_version"].fillna("").astype(str))
    run_codes = sorted({c for c in df["code"] if c and c != "nan" and c not in commits})
    return (f"the same run code {run_codes[0]} (the modules a run executes)" if len(run_codes) == 1
            else f"run codes {', '.join(run_codes)}" if run_codes else "run code unknown")


def seed_ranges(seeds: list[int]) -> str:
    """'0-4, 7, 9-10': sorted seeds as runs of consecutive numbers."""
    out: list[str] = []
    for s in seeds:
        if out and int(out[-1].split("-")[-1]) == s - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{s}"
        else:
            out.append(str(s))
    return ", ".join(out)


def resumed_text(manifest: dict) -> str:
    """What to add to a study's wall time when it was stopped and resumed (export's retried_trials):
    the wall time then spans the stop, so it is no measure of the study's speed."""
    n = manifest.get("retried_trials") or 0
    return f", across a stop and resume ({n} trials retried), so not one sitting" if n else ""


def duration_text(seconds: float) -> str:
    """'1 h 52 min', '17 min 40 s', '45 s': one way to write a duration everywhere."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min {s % 60} s"
    return f"{s} s"


def friedman_text(fried: dict, alpha: float) -> list[str]:
    """The Friedman line; when it is significant at alpha, the pairwise post-hocs under it (every
    pair, paired by seed, Holm across the pairs): which configurations differ."""
    k, n = len(fried.get("labels", [])), fried.get("n_seeds")
    p = fried.get("p_value", math.nan)
    out = [f"\nFriedman test across {k} configurations on {n} seeds: statistic {_fmt(fried.get('statistic'))}, "
           f"p {_fmt(p)} {fried.get('reason') or ''}".rstrip() + "\n"]
    posthoc = fried.get("posthoc") or []
    if not posthoc or not p < alpha:  # a NaN p (no configuration ranked apart on any seed) is not significant
        if posthoc:
            out.append(f"Not significant at alpha {alpha}: no pairwise post-hoc test is shown.\n")
        return out
    scale, unit = analysis.shown(posthoc[0])
    level = stats.level_text(posthoc[0].get("ci_level", stats.family_level(alpha, len(posthoc))))
    out.append(f"Significant at alpha {alpha}. Post-hoc, every pair of the {k} configurations on "
               f"`{posthoc[0]['metric']}` (paired t-test by seed, Holm across the {len(posthoc)} pairs; "
               f"differences a - b in {'points' if unit == 'pts' else unit}, the verdict in the metric's "
               f"sense):\n")
    out.append(md_table(pd.DataFrame([
        {"a": r["a"], "b": r["b"], "n": r["n_a"], "diff": _fixed(scale * r["diff"], "+.2f"),
         f"{level} CI": _ci(r, scale),
         "p_holm": _fmt(r["p_holm"]), "verdict": r["verdict"]} for r in posthoc])))
    return out


def ci_text(result: dict, alpha: float, *, sequential: bool = False) -> str:
    """The sentence on the intervals: paired t at the verdict's level, 1 - alpha/k for a family of k
    (Bonferroni; Holm's p_holm < alpha whenever the raw p < alpha/k, so an interval that excludes
    zero never sits beside a non-significant verdict), with the levels this report uses; under a
    sequential design, 1 minus the look's nominal level at the share alpha/k."""
    if sequential:
        levels = sorted({float(r["ci_level"]) for r in result.get("rows", []) if r.get("ci_level") == r.get("ci_level")
                         and r.get("ci_level") is not None})
        shown = ", ".join(stats.level_text(lv) for lv in levels)
        return ("CIs are paired t intervals at 1 minus the nominal level of the look each comparison is reported at, "
                "at its Bonferroni share alpha/k of the boundary" + (f" ({shown})" if shown else "")
                + ", so an interval that excludes zero always sits beside a significant difference; stats.csv's "
                "ci_level, alpha_nominal, look and looks, with the unadjusted 95% bounds in ci95_low/ci95_high "
                "(none below 3 seeds: —).")
    sizes = sorted({int(f["size"]) for f in result.get("families", [])})
    levels = ", ".join(f"{stats.level_text(stats.family_level(alpha, k))} for k = {k}" for k in sizes)
    return ("CIs are paired t intervals at 1 - alpha/k, the family's Bonferroni level"
            + (f" ({levels})" if levels else "")
            + ", so an interval that excludes zero always sits beside a significant difference; stats.csv's "
            "ci_level, with the unadjusted 95% bounds in ci95_low/ci95_high (none below 3 seeds: —).")


def exact_text(rows: list[dict]) -> str:
    """A sentence when some rows are exact: a cost with the same difference on every seed."""
    exact = [r for r in rows if r.get("exact")]
    if not exact:
        return ""
    metrics = ", ".join(f"`{m}`" for m in dict.fromkeys(r["metric"] for r in exact))
    return (f" {len(exact)} comparison{'s' if len(exact) != 1 else ''} on {metrics} "
            f"{'are' if len(exact) != 1 else 'is'} exact: the same difference on every seed (a count such as "
            "training FLOPs), decided by its size without a test (stats.csv's exact).")


def published_text(table: pd.DataFrame) -> str:
    """The rule of the published section, with its margin, level and family (published.rule_text)."""
    return rule_text(table)


def families_text(result: dict) -> str:
    """Which Holm family each metric's comparisons belong to, and its size."""
    parts = []
    for f in result.get("families", []):
        note = ", wall-clock seconds: machine-dependent" if f["wall_clock"] else ""
        parts.append(f"{f['role']}: `{f['metric']}`, {f['size']} comparison{'s' if f['size'] != 1 else ''}{note}")
    return "; ".join(parts)


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


def figures(kind: str, stage: str, trials: pd.DataFrame, runs: pd.DataFrame, accuracy: pd.DataFrame,
            fits: dict, importances: dict | None, multi: bool,
            primary: str = analysis.PRIMARY) -> list[tuple[str, str, Callable[[], object]]]:
    """(file name, caption, draw) for every plot this study's data supports; draw() makes the figure
    (report.md lists the same figures whether or not they are drawn)."""
    data = analysis.ok_runs(runs, stage)
    acc = accuracy[accuracy["stage"] == stage] if len(accuracy) else accuracy
    acc = frames.attach_labels(acc, runs[runs["stage"] == stage]) if len(acc) else acc
    labels = list(dict.fromkeys(data["label"]))[:MAX_LABELS] if len(data) else []
    out: list[tuple[str, str, Callable[[], object]]] = []
    for label in labels:
        out.append((f"curves-{_slug(label)}", f"Accuracy of each task during training: {label} (the source report's Figure 1)",
                    lambda label=label: plots.task_accuracy_curves(acc, label=label)))
    out.append(("accuracy-vs-tasks", "Average accuracy over the tasks seen so far (the source report's Figure 2)",
                lambda: plots.accuracy_vs_tasks(acc)))
    if len(data) and data["memory_bytes"].nunique() > 1:
        out.append(("accuracy-vs-memory", "Final accuracy against memory kept between tasks", lambda: plots.accuracy_vs_memory(data)))
    if "flops_train" in data and pd.to_numeric(data["flops_train"], errors="coerce").nunique() > 1:
        out.append(("accuracy-vs-flops", "Final accuracy against training FLOPs; Pareto front ringed",
                    lambda: plots.accuracy_vs_cost(data, "flops_train")))
    out.append(("phase-times", "Time per phase", lambda: plots.phase_times(data)))
    if fits:
        out.append(("time-vs-tasks", "Training time against number of tasks (log-log) with fitted exponents",
                    lambda: plots.time_vs_tasks(data, fits=fits)))
    for label in labels:
        if len(acc):
            out.append((f"heatmap-{_slug(label)}", f"Accuracy matrix, mean over seeds: {label}",
                        lambda label=label: plots.accuracy_heatmap(frames.mean_matrix(acc, label),
                                                                   title=f"R[i, j] (%): {label}")))
    if kind == "search":
        if multi:
            out.append(("pareto", "Validation accuracy against training time; Pareto front", lambda: plots.pareto_front(trials)))
        else:
            out.append(("optimization-history", "Optimisation history (search stage)", lambda: plots.optimization_history(trials, metric=primary, runs=runs)))
        if importances:
            out.append(("importances", "Parameter importances (search stage)", lambda: plots.param_importances(importances)))
    return out


def write_report(folder: Path, study_name: str, kind: str, reference: list[str], rows: dict[str, list[dict]],
                 *, importances: dict | None = None, multi: bool = False, alpha: float = stats.DEFAULTS.alpha,
                 published: dict | None = None,
                 min_effect: float = stats.DEFAULTS.min_effect, margin: float | None = None,
                 power_effect: float = stats.DEFAULTS.power_effect,
                 min_rel_effect: float = stats.DEFAULTS.min_rel_effect, primary: str = analysis.PRIMARY,
                 manifest: dict | None = None, attribution: list[dict] | None = None,
                 pairs: list[tuple[str, str]] | None = None, sequential: str | None = None,
                 draw: bool = True, question: str = "", design=None, families: tuple[str, ...] = ()) -> dict:
    """Write stats.csv, plots/ and report.md into `folder`; return the analysis.

    ``primary`` is the study's objective (its Holm family is the primary one); the thresholds are
    analysis.analyse's (``power_effect`` is also the target effect of the power section);
    ``attribution`` and ``pairs`` as in analysis.comparison_pairs; ``sequential``: the sentence stating a --sequential study's looks
    (study.sequential.describe), shown with the verdicts, and ``design`` its looks (every family is
    tested look by look under its boundary)."""
    trials, runs, accuracy = (pd.DataFrame(rows[k]) for k in ("trials", "runs", "accuracy"))
    thresholds = {"alpha": alpha, "min_effect": min_effect, "margin": margin, "power_effect": power_effect,
                  "min_rel_effect": min_rel_effect}
    result = analysis.analyse(study_name, kind, runs, reference, primary=primary, attribution=attribution,
                              pairs=pairs, design=design, declared=families, **thresholds) \
        if len(runs) else {"stage": "search", "pairs": [], "rows": [], "families": [], "primary": primary,
                           "friedman": None, "fits": {}, "attribution": list(attribution or []),
                           "alpha": alpha, "power_effect": power_effect}
    write_csv(folder / "stats.csv", analysis.stats_rows(result["rows"]), list(analysis.STATS_COLUMNS))
    saved = drawn_figures(folder, kind, result, trials, runs, accuracy, importances, multi, primary, draw)
    md = [f"# {study_name}\n"]
    if manifest and (manifest.get("setup") or {}).get("quick"):
        md.append("**A first look (--quick): few seeds and epochs. Not a finding; run the study without --quick "
                  "for one.**\n")
    md += answer_section(result, runs, question)
    if manifest:
        md.append(header_text(manifest))
    md.append(codes_text(runs))
    md += published_section(folder, result, runs, published)
    md += configurations_section(trials, runs, result["stage"])
    md += verdicts_section(result, kind, sequential, **thresholds)
    md += attribution_section(result)
    md += differences_section(result, trials, runs)
    md += power_section(result, power_effect, primary)
    md += statistics_section(result, alpha)
    if len(runs):
        md += summary_section(trials, runs, result["stage"])
    md.append("\n## Figures\n")
    md += [f"### {caption}\n\n![{caption}](plots/{name}.png)\n" for name, caption in saved]
    atomic_write_text(folder / "report.md", "\n".join(md) + "\n")
    return result


def drawn_figures(folder: Path, kind: str, result: dict, trials: pd.DataFrame, runs: pd.DataFrame,
                  accuracy: pd.DataFrame, importances: dict | None, multi: bool, primary: str,
                  draw: bool) -> list[tuple[str, str]]:
    """(file name, caption) of every figure report.md lists; drawn into plots/ unless draw=False
    (report.md and stats.csv only: the docs check regenerates those)."""
    saved = []
    if len(runs):
        for name, caption, make in figures(kind, result["stage"], trials, runs, accuracy, result["fits"], importances,
                                           multi, primary):
            if draw:
                plots.save(make(), folder / "plots", name)
            saved.append((name, caption))
    return saved


def published_section(folder: Path, result: dict, runs: pd.DataFrame, published: dict | None) -> list[str]:
    """Beside the published figures (and published.csv), when the study declares them."""
    result["published"] = None
    if not published or not len(runs):
        return []
    table = published_table(analysis.ok_runs(runs, result["stage"]), published)
    write_csv(folder / "published.csv", table.to_dict("records"), list(table.columns))
    result["published"] = table
    md = ["## Beside the published figures\n", published_text(table), md_table(readable(table))]
    md += sorted({f"- {r['configuration']}: {r['source']}" for _, r in table.iterrows() if r["source"]})
    return md + [""]


def search_fidelity(trials: pd.DataFrame) -> list[str]:
    """What the search trials trained per task when below full fidelity (trials.csv's fidelity)."""
    return sorted(set(trials.get("fidelity", pd.Series(dtype=str)).dropna()) - {"full", ""})


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


def _points(x: float) -> str:
    return f"{x:g} point" + ("" if x == 1 else "s")


def verdicts_section(result: dict, kind: str, sequential: str | None, *, alpha: float, min_effect: float,
                     margin: float | None, power_effect: float, min_rel_effect: float) -> list[str]:
    """The rules every verdict follows, then one plain answer per primary and headline-cost comparison."""
    margin_pts = 100 * (min_effect if margin is None else margin)
    md = [f"## Verdicts ({'grid' if kind == 'grid' else result['stage'] + ' stage'}, paired by seed)\n",
          f"Holm families (each adjusted within itself): {families_text(result) or 'none'}.  \n"
          f"alpha {alpha}. p is the paired t-test's (the exact Wilcoxon signed-rank p is stats.csv's "
          f"p_secondary). \"better\"/\"worse\" needs p < alpha (p_holm in a family of more than one) and a "
          f"difference of at least {_points(100 * min_effect)}; \"equivalent\" needs a paired TOST within "
          f"±{_points(margin_pts)} with p < alpha, and a non-significant difference alone never means equal. "
          f"Power and the minimum detectable effect (MDE, 80% power) are for a paired t-test at alpha / family "
          f"size, power at a difference of {_points(100 * power_effect)}; below 0.8 an inconclusive result is "
          f"\"underpowered\". Cost metrics use {100 * min_rel_effect:g}% of the other arm as minimum, margin and "
          f"power effect. {WALL_CLOCK_RULE} {ci_text(result, alpha, sequential=bool(sequential))}"
          f"{exact_text(result['rows'])}\n"]
    if sequential:
        md.append(sequential[0].upper() + sequential[1:] + ".\n")
    rows = analysis.headline_rows(result)
    md += [verdict_table([(what, r) for what, r in rows], "metric"),
           "Power, TOST and the minimum detectable effect of each row: the Statistics table below and stats.csv.\n"
           ] if rows else ["No comparison (fewer than two configurations).\n"]
    note = wall_clock_note(result["rows"])
    return md + ([f"\n{note}\n"] if note else [])


# report.md's rule for wall-clock rows (comparisons.wall_clock_rule)
WALL_CLOCK_RULE = ("Wall-clock times (time_*) are never judged: machines are shared and their load swings, so "
                   f"their differences, intervals and p-values are shown for reading only, with the verdict "
                   f"\"{WALL_CLOCK_VERDICT}\"; the judged costs are {' and '.join(f'`{m}`' for m in JUDGED_COSTS)} "
                   "(CPU seconds and training FLOPs).")


def verdict_table(rows: list[tuple[str, dict]], what: str) -> str:
    """Verdicts as a table: per row the comparison, ``what`` (its metric and role, or the group it
    measures), the difference with its interval at the verdict's level, p_holm (p alone in a family
    of one) and the verdict; the details stay in the Statistics table and stats.csv."""
    out = []
    for label, r in rows:
        scale, unit = analysis.shown(r)
        unit = "points" if unit == "pts" else unit
        k = int(r["family_size"])
        rel = r.get("min_rel_effect", math.nan)
        pct = (f" ({100 * r['diff'] / abs(r['mean_b']):+.1f}%)" if rel is not None and not math.isnan(rel)
               and r["mean_b"] else "")
        out.append({"a": r["a"], "b": r["b"],
                    what: f"`{r['metric']}` ({label})" if what == "metric" else label,
                    "difference [CI]": f"{_fixed(scale * r['diff'], '+.1f')} {unit}{pct} {_ci(r, scale, '+.1f')} "
                                       f"({stats.level_text(r.get('ci_level', 0.95))})",
                    "p_holm": f"{_fmt(r['p_holm'], 2)} (k={k})" if k > 1 else f"{_fmt(r['p_value'], 2)} (p)",
                    "verdict": stats.verdict_label(r, scale=scale, unit=unit)
                               + (" (exact: same on every seed)" if r.get("exact") else "")})
    return md_table(pd.DataFrame(out))


def wall_clock_note(rows: list[dict]) -> str | None:
    """One sentence under the verdicts when some comparisons are on wall clock, else None."""
    wall = [r for r in rows if r.get("verdict") == WALL_CLOCK_VERDICT]
    if not wall:
        return None
    metrics = ", ".join(f"`{m}`" for m in dict.fromkeys(r["metric"] for r in wall))
    judged = [m for m in JUDGED_COSTS if any(r["metric"] == m for r in rows)]
    instead = (f"read {' and '.join(f'`{m}`' for m in judged)} for a verdict on cost" if judged
               else "these runs have no CPU seconds or FLOP counts to judge cost by")
    return (f"{len(wall)} comparison{'s' if len(wall) != 1 else ''} on {metrics}: wall clock, not judged; their "
            f"numbers are in the Statistics table for reading only; {instead}.")


def attribution_section(result: dict) -> list[str]:
    """A search's attribution (one group of fields at a time) and its compute-matched control."""
    if not result.get("attribution"):
        return []
    md = ["\n## Attribution: what the search changed, one group at a time\n",
          "Each row compares the reference with one group of fields taken from the search's best "
          "configuration; the two arms differ in that group only.\n"]
    attribution = analysis.attribution_rows(result)
    measured = [(g.detail if g.group == g.detail else f"{g.group}: {g.detail}", g.row) for g in attribution
                if g.row is not None]
    md += [verdict_table(measured, "only this differs")] if measured else []
    md += [f"- {g.lead}: {g.note}" for g in attribution if g.row is None]
    compute, conclusion = analysis.compute_rows(result)
    if compute:
        md.append("\n## Replay set or extra training?\n")
        both = all(e.get("generator_samples_control") for e in result.get("attribution", []) if e.get("kind") == "compute")
        md.append("A larger replay set also means more training. The control is the reference with its "
                  + ("classifier's and its generator's epochs scaled so that both train on as many samples as the "
                     "best's" if both else "classifier epochs scaled so that it trains on as many samples as the best "
                     "(its generator is not matched: it trains on the reference's samples)")
                  + "; it keeps the reference's replay set and learning rate.\n")
        shown = [(g.lead, g.row) for g in compute if g.row is not None]
        md += [verdict_table(shown, "what it measures")] if shown else []
        md += [f"- {g.group} ({g.note}, {g.detail}): not measured" for g in compute if g.row is None]
        if conclusion:
            md.append(f"\n{conclusion[0].upper() + conclusion[1:]}.\n")
    return md


def differences_section(result: dict, trials: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """The config fields each compared pair differs in."""
    if not result["pairs"]:
        return []
    return ["\n## What each comparison changes (config fields that differ, a vs b)\n", md_table(pd.DataFrame(
        [{"a": a, "b": b, "differs in": "; ".join(f"`{f}` {va} vs {vb}" for f, va, vb in
                                                  analysis.differing_fields(trials, runs, result["stage"], a, b))
          or "nothing in the stored overrides"} for a, b in result["pairs"]]))]


def power_section(result: dict, power_effect: float, primary: str) -> list[str]:
    """The primary family's power: MDE and the seeds a target effect needs, per comparison."""
    power = analysis.power_summary(result, power_effect)
    if not power:
        return []
    table = analysis.power_table(result, power_effect)
    sn = analysis.sense(primary)
    shown_target = f"{sn.scale * power_effect:g} {sn.unit}".rstrip()
    return ["\n## Power (primary metric, paired t at alpha / family size, 80% power)\n",
            power[0].upper() + power[1:] + ".\n", md_table(pd.DataFrame({
                "a": table["a"], "b": table["b"], "seeds": table["seeds"], "family": table["family"],
                "sd of differences": [_fixed(x) for x in table["sd_diff"]], "MDE": [_fixed(x) for x in table["mde"]],
                f"seeds for {shown_target}": [_fmt(x) for x in table["seeds_needed"]]}))]


def statistics_section(result: dict, alpha: float) -> list[str]:
    """Every stats.csv row, the Friedman test across configurations, power-law fits of time."""
    md = ["\n## Statistics (stats.csv; accuracy differences in points)\n", md_table(stats_display(result["rows"]))]
    if result["friedman"]:
        md += friedman_text(result["friedman"], alpha)
    for family, fit in result["fits"].items():
        md.append(f"\nTime ~ T^k for `{family}`: k = {_fmt(fit['exponent'])} (95% CI {_fmt(fit['ci_low'])} to "
                  f"{_fmt(fit['ci_high'])}, n={fit['n']}); quadratic (k = 2) "
                  f"{'inside' if fit['consistent_with_expected'] else 'outside'} the CI.\n")
    return md


def summary_section(trials: pd.DataFrame, runs: pd.DataFrame, stage: str) -> list[str]:
    """Mean ± sd per configuration of the compared stage; for a final stage, the search stage's wall
    time (search fidelity) in its own column beside the final stage's (full fidelity)."""
    search = analysis.ok_runs(runs, "search") if stage == "final" else None
    md = [f"\n## Configurations ({stage} stage, mean ± sd over seeds)\n"]
    if search is not None and len(search):
        lengths = search_fidelity(trials)
        fidelity = f"at the search fidelity, {' or '.join(f'`{x}`' for x in lengths)} per task" if lengths \
            else "in full"
        md.append("Wall-clock seconds per run, for reading (never judged): \"search time s\" is the same "
                  f"configuration's search-stage runs (validation split, {fidelity}; \"-\" where it was not "
                  "searched), \"final time s\" the final stage's (full training, test split).\n")
    return md + [md_table(config_summary(analysis.ok_runs(runs, stage), search))]
