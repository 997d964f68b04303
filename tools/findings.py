"""The findings lines README.md and docs/results.md open with, one per shipped study, from its
rebuilt report (rebuild.Rebuilt), and docs/memory.md's section of a shipped memory study."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from gr_bench.studies._memory_answer import arm_table, budget_markdown, budget_sentence, budget_table, markdown
from gr_bench.studies.memory import ANCHOR

from gr_bench import stats
from gr_bench.report.analysis import PRIMARY, compute_lines, sense
from gr_bench.report.frames import ok_rows
from gr_bench.report.header import commits_clause, resumed_text
from gr_bench.report.markdown import duration_text
from gr_bench.report.published import out_of_reach
from gr_bench.report.rebuild import Rebuilt


def comparison_text(row: dict) -> str:
    """'+28.0 points (97.5% CI [+23.5, +32.6]; p_holm 2e-4): better', in the metric's unit; an
    "equivalent" or "negligible" verdict states its margin."""
    sn = sense(row["metric"])
    label = stats.verdict_label(row, scale=sn.scale, unit=sn.unit)
    if row.get("test") == "exact":  # the same difference on every seed: stated, not tested
        return f"{stats.exact_text(row, scale=sn.scale, unit=sn.unit)}: {label}"
    unit = " points" if sn.unit == "points" else f" {sn.unit}" if sn.unit else ""
    label += _mde_text(row, unit)
    if str(row.get("boundary") or "holm") not in ("holm", "nan"):  # a sequential design: p against its level
        return f"{sn.scale * row['diff']:+.1f}{unit} ({_ci(row, sn.scale)}; {stats.p_text(row)}): {label}"
    p = row["p_holm"] if int(row.get("family_size", 1)) > 1 else row["p_value"]
    ptext = "—" if p is None or (isinstance(p, float) and math.isnan(p)) else f"{p:.2g}"
    rel = row.get("rel_diff", math.nan)
    rel_text = f", {100 * rel:+.0f}%" if isinstance(rel, float) and math.isfinite(rel) else ""
    return (f"{sn.scale * row['diff']:+.1f}{unit}{rel_text} ({_ci(row, sn.scale)}; "
            f"{'p_holm' if int(row.get('family_size', 1)) > 1 else 'p'} {ptext}): {label}")


def _mde_text(row: dict, unit: str) -> str:
    """An open verdict says how large a difference its seeds could have seen: ' (minimum detectable
    effect 3.6 points at 20 seeds)', from the row's mde_points (80% power at its level)."""
    mde = row.get("mde_points", math.nan)
    if row.get("verdict") not in ("underpowered", "no evidence", "inconclusive"):
        return ""
    if not isinstance(mde, (int, float)) or not math.isfinite(mde):
        return ""
    return f" (minimum detectable effect {mde:.1f}{unit} at {int(min(row['n_a'], row['n_b']))} seeds)"


def _ci(row: dict, scale: float) -> str:
    if math.isnan(row["ci_low"]):
        return "no interval below 3 seeds"
    return (f"{stats.level_text(row.get('ci_level', 0.95))} CI [{scale * row['ci_low']:+.1f}, "
            f"{scale * row['ci_high']:+.1f}]")


def _mean(runs: pd.DataFrame, label: str, metric: str = PRIMARY) -> float:
    return float(runs.loc[runs["label"] == label, metric].astype(float).mean())


def _rows(out: Rebuilt, metric: str = PRIMARY) -> dict[tuple[str, str], dict]:
    return {(r["a"], r["b"]): r for r in out.analysis.rows if r["metric"] == metric}


def seeds_text(runs: pd.DataFrame) -> str:
    """'20 seeds'; for a study with a search and a final stage, the final stage's seeds (those its
    verdicts rest on) and the search's apart: '5 seeds in the final stage (1 in the search)'. The
    stages draw different seeds, so counting them together would name seeds no comparison has."""

    def count(rows: pd.DataFrame) -> int:
        return len({int(s) for s in rows["seed"]}) if len(rows) else 0

    def plural(n: int) -> str:
        return f"{n} seed{'s' if n != 1 else ''}"

    stages = list(dict.fromkeys(runs["stage"].astype(str))) if len(runs) and "stage" in runs else []
    if "final" not in stages or len(stages) == 1:
        return plural(count(runs))
    others = ", ".join(f"{count(runs[runs['stage'].astype(str) == st])} in the {st}" for st in stages if st != "final")
    return f"{plural(count(runs[runs['stage'].astype(str) == 'final']))} in the final stage ({others})"


def timing_text(meta: dict, runs: pd.DataFrame) -> str:
    """'5 seeds, 1 h 52 min wall, 2,010 s of CPU summed over its runs': seeds, wall and CPU time
    (the manifest's), and which seeds ran at which code when several commits did."""
    wall, cpu = meta.get("wall_s"), meta.get("runs_cpu_s")
    parts = [seeds_text(runs)]
    if wall:
        parts.append(f"{duration_text(wall)} wall{resumed_text(meta, runs)}")
    if cpu:
        parts.append(f"{cpu:,.0f} s of CPU summed over its runs"
                     + (" (shared generators counted in each run that shares them)"
                        if meta.get("restored_generator_runs") else ""))
    several = commits_clause(runs)  # which seeds ran at which code, beside the finding
    if several:
        parts.append(several)
    return ", ".join(parts)


def precision_of_runs(runs: pd.DataFrame) -> str:
    """'searched and run at fp32', or each stage's precision where they differ (a search at bf16)."""
    if "precision" not in runs.columns or not len(runs):
        return "precision not recorded"
    by_stage = {str(stage): sorted({str(p) for p in g["precision"]}) for stage, g in runs.groupby("stage", sort=False)}
    if len({tuple(v) for v in by_stage.values()}) == 1:
        return f"searched and run at {'/'.join(next(iter(by_stage.values())))}"
    return ", ".join(f"{stage} stage at {'/'.join(v)}" for stage, v in by_stage.items())


def findings(out: Rebuilt, meta: dict, folder: Path) -> list[str]:
    """A shipped study's findings lines: the memory study's answer at every budget, a study with
    published figures against them, a search's best against its reference, or a grid's verdicts."""
    if out.spec.name == "memory":
        return memory_findings(out, meta, folder)
    if out.published is not None:
        return published_findings(out, meta)
    if out.spec.kind == "search":
        return search_findings(out, meta)
    return grid_findings(out, meta)


def search_findings(out: Rebuilt, meta: dict) -> list[str]:
    """A search study with a reference: the best against it, each attribution group, the
    compute-matched control, and the cost."""
    runs = out.runs[(out.runs["stage"] == "final") & (out.runs["status"] == "ok")] if len(out.runs) else out.runs
    rows = _rows(out)
    best = next((e["best"] for e in out.analysis.attribution), None)
    ref = next(iter(out.spec.reference), None)
    if not best or ref is None or (best, ref) not in rows:
        return []
    settings = str(runs.loc[runs["label"] == best, "settings"].iloc[0]).replace("val_fraction=0", "").strip()
    done = out.runs[out.runs["status"] == "ok"] if len(out.runs) else out.runs
    lines = [f"- **{meta.get('study_name')}** (`{meta.get('command')}`; {precision_of_runs(done)}; test split, "
             f"{timing_text(meta, runs)}): "
             f"the search's best, `{settings}`, reaches {100 * _mean(runs, best):.1f}% final average accuracy "
             f"against {100 * _mean(runs, ref):.1f}% for `{ref}`: {comparison_text(rows[(best, ref)])}."]
    for e in out.analysis.attribution:
        row = rows.get((e.get("a"), e.get("b")))
        if row is None:
            continue
        what = (f"{e['group']} alone ({e['a']} against {e['b']})" if e.get("kind") != "compute"
                else f"{e['group']} ({e['a']} against {e['b']})")
        lines.append(f"  - {what}: {comparison_text(row)}.")
    compute = compute_lines(out.analysis)
    if compute:
        lines.append(f"  - {compute[-1][0].upper() + compute[-1][1:]}.")
    cost = _rows(out, "flops_train").get((best, ref))
    if cost is not None:
        lines.append(f"  - Training FLOPs of the best against `{ref}`: {comparison_text(cost)}.")
    return lines


def published_findings(out: Rebuilt, meta: dict) -> list[str]:
    """A study with published figures: each configuration's reproduction verdict, the difference's
    interval at the level of the test that decided it (published.py)."""
    table = out.published
    if table is None or table.empty:
        return []
    runs = out.runs[out.runs["status"] == "ok"] if len(out.runs) else out.runs
    head = (f"- **{meta.get('study_name')}** (`{meta.get('command')}`; {timing_text(meta, runs)}): gr-bench's mean "
            "against the published mean ± SEM, Welch tests within, beyond and off the margin shown, each "
            "Holm-adjusted over the published rows; the interval at the level of the test that decided the verdict:")
    lines = [head, "", "  | configuration | n | gr-bench % | published % | difference [CI] | CI level | verdict |",
             "  |---|---|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        pub = "—" if math.isnan(r["published_mean"]) else f"{r['published_mean']:.2f} ± {r['published_sem']:.2f}"
        diff = "—" if math.isnan(r["difference"]) else (
            f"{r['difference']:+.1f}" + ("" if math.isnan(r.get("diff_low", math.nan))
                                          else f" [{r['diff_low']:+.1f}, {r['diff_high']:+.1f}]"))
        level = "—" if math.isnan(r.get("ci_level", math.nan)) else stats.level_text(r["ci_level"])
        lines.append(f"  | {r['configuration']} | {r['n']} | {r['mean']:.1f} | {pub} | {diff} | {level} | "
                     f"{r['verdict'] or '—'} |")
    reach = out_of_reach(table)
    return lines + ([""] + [f"  {line}" for line in reach] if reach else []) + [""]


def grid_findings(out: Rebuilt, meta: dict) -> list[str]:
    """A grid: each configuration against the anchor on the primary metric."""
    runs = out.runs[out.runs["status"] == "ok"] if len(out.runs) else out.runs
    rows = [r for r in out.analysis.rows if r["metric"] == out.spec.objective]
    if not rows:
        return []
    head = f"- **{meta.get('study_name')}** (`{meta.get('command')}`; {timing_text(meta, runs)})"
    if len({r["b"] for r in rows}) == 1:
        lines = [f"{head}, against `{rows[0]['b']}` ({100 * _mean(runs, rows[0]['b']):.1f}%):"]
        return lines + [f"  - {r['a']} ({100 * r['mean_a']:.1f}%): {comparison_text(r)}." for r in rows]
    # anchors within groups (compare_within): each comparison names its own
    return [f"{head}:"] + [f"  - {r['a']} ({100 * r['mean_a']:.1f}%) against {r['b']} ({100 * r['mean_b']:.1f}%): "
                           f"{comparison_text(r)}." for r in rows]


def memory_findings(out: Rebuilt, meta: dict, folder: Path) -> list[str]:
    """The memory study: how it ran; its answer at every budget is its row of memory_answer_table."""
    runs = out.runs[out.runs["status"] == "ok"] if len(out.runs) else out.runs
    return [f"- **{folder.name}** (`{meta.get('command')}`; {timing_text(meta, runs)}): row "
            f"*{_where(runs)}* of the memory table below."]


def _where(runs: pd.DataFrame) -> str:
    """A memory study's row name: its dataset and scenario (class-IL unless the runs say otherwise)."""
    datasets = ", ".join(sorted(set(runs["dataset"].astype(str)))) if len(runs) else "no runs"
    scenarios = sorted(set(runs["scenario"].astype(str))) if "scenario" in runs and len(runs) else ["class"]
    return f"{datasets}, {'/'.join(scenarios)}-IL"


def memory_answer_table(folders: list[Path]) -> list[str]:
    """README's memory answer, one row per shipped memory study (dataset and scenario), one column per
    buffer budget: the best generator within the buffer's bytes against that buffer (paired by seed,
    Holm over the budgets within each study), from each folder's runs.csv and stats.csv."""
    if not folders:
        return []
    rows, budgets = [], {}  # buffer -> its MiB in each study (a domain-IL classifier's 2 outputs keep fewer bytes)
    for folder in folders:
        runs, stats_rows = pd.read_csv(folder / "runs.csv"), pd.read_csv(folder / "stats.csv")
        table = budget_table(runs, stats_rows)
        cells = {}
        for r in table.itertuples():
            budgets.setdefault(r.buffer, set()).add(round(float(r.buffer_mib), 2))
            open_ = r.verdict in ("underpowered", "no evidence", "inconclusive") and pd.notna(r.mde)
            mde = f" (MDE {100 * r.mde:.1f} at {int(r.n_a)} seeds)" if open_ else ""
            cells[r.buffer] = (f"{r.generator} {100 * r.diff:+.1f}, {r.verdict}{mde}" if r.generator
                               else "no generator fits")
        rows.append((_where(ok_rows(runs)), len(set(ok_rows(runs)["seed"])), cells))
    order = sorted(budgets, key=lambda b: min(budgets[b]))
    head = ["dataset, scenario", "seeds", *(f"{b} ({'–'.join(f'{m:.2f}' for m in sorted(budgets[b]))} MiB)"
                                            for b in order)]
    lines = ["- **The memory answer**: at each buffer's bytes, the best generator within them against that "
             "buffer, in points (paired by seed, Holm over each study's budgets; the generator picked by its "
             "mean on the same seeds, which favours it; MDE: the minimum detectable effect of an open verdict). "
             "All arms: [docs/memory.md](docs/memory.md).", "",
             "  | " + " | ".join(head) + " |", "  |" + "---|" * len(head)]
    for where, seeds, cells in rows:
        lines.append(f"  | {where} | {seeds} | " + " | ".join(cells.get(b, "—") for b in order) + " |")
    return lines + [""]


def memory_page_section(folder: Path) -> str:
    """docs/memory.md's section of one shipped memory study: its command, seeds and code, every arm
    against the anchor (studies/_memory_answer.py) and the answer at every buffer budget, from the
    folder's runs.csv and stats.csv."""
    runs, stats_rows = pd.read_csv(folder / "runs.csv"), pd.read_csv(folder / "stats.csv")
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    command = manifest.get("command", "")
    seeds = sorted(set(ok_rows(runs)["seed"]))
    budget = budget_table(runs, stats_rows)
    return (f"### {_where(ok_rows(runs))}\n\n`{command}`: {len(seeds)} seeds ({', '.join(map(str, seeds))}), "
            "code of the runs "
            f"{', '.join(manifest.get('code_versions') or ['unknown'])}. Verdicts are the study's (paired t, Holm "
            f"over its arms); \"front\" marks the arms no other arm beats on accuracy at no more bytes (or FLOPs).\n\n"
            + markdown(arm_table(runs, stats_rows, ANCHOR), ANCHOR) + "\n\n#### At every buffer budget\n\n"
            + budget_sentence(budget) + ".\n\n" + budget_markdown(budget) + "\n")
