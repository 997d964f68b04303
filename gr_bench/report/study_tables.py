"""Summary tables of a study, from its exported rows (see export.collect). Pure: return Tables."""

from __future__ import annotations

import math

import pandas as pd

from ..labels import short_settings
from ..stats import level_text
from .analysis import shown
from .frames import seed_sd
from .tables import Table  # cells never cut (overflow "fold")


def mean_sd(s: pd.Series, scale: float = 100.0, digits: int = 1) -> str:
    """'mean ± sd' over seeds (sd with ddof=1), the mean alone for one value, '-' for none."""
    s = s.dropna()
    if s.empty:
        return "-"
    if len(s) == 1:
        return f"{scale * s.iloc[0]:.{digits}f}"
    return f"{scale * s.mean():.{digits}f} ± {scale * seed_sd(s):.{digits}f}"


def shared_value(g: pd.DataFrame, column: str) -> str:
    """A configuration's value of a column shared by all its rows (config_id, settings), or ''."""
    values = g[column].dropna().astype(str) if column in g else []
    return values.iloc[0] if len(values) else ""


def shown_settings(settings: str) -> str:
    """runs.csv's settings (overrides in full) in the short form of search labels."""
    return short_settings(str(settings).split()) if settings else ""


def grid_table(runs: pd.DataFrame, title: str) -> Table:
    """One row per configuration: its label, config_id and settings (short form), then mean ± sd
    over seeds of accuracy, forgetting, time, memory."""
    table = Table(title=title)
    for col in ("configuration", "config_id", "settings", "n", "final avg acc %", "forgetting %", "time s",
                "memory MiB", "failed"):
        table.add_column(col, justify="left" if col in ("configuration", "config_id", "settings") else "right")
    if runs.empty:
        return table
    ok = runs[runs["status"] == "ok"]
    order = ok.groupby("label")["final_avg_acc"].mean().sort_values(ascending=False).index.tolist()
    order += [l for l in runs["label"].unique() if l not in order]
    for label in order:
        g, all_g = ok[ok["label"] == label], runs[runs["label"] == label]
        table.add_row(str(label), shared_value(all_g, "config_id"), shown_settings(shared_value(all_g, "settings")), str(len(g)),
                      mean_sd(g["final_avg_acc"]), mean_sd(g["avg_forgetting"]),
                      mean_sd(g["time_total_s"], 1.0), f"{g['memory_bytes'].mean() / 2**20:.2f}" if len(g) else "-",
                      str(int((all_g["status"] != "ok").sum())))
    return table


def best_table(trials: pd.DataFrame, runs: pd.DataFrame, reference: list[str], top: int = 5) -> Table:
    """Best search trials (validation, mean ± sd over search seeds) beside their test re-evaluation:
    the final stage's runs of the same config_id, under the label they have there. Wall time has a
    column per stage, never mixed: "search time s" (search fidelity, validation split) and "test
    time s" (the final stage: full training, test split)."""
    table = Table(title="Best configurations: validation (search seeds) and test (new seeds)")
    for col in ("trial", "configuration", "config_id", "test label", "val acc %", "test acc %",
                "gap to reference (points)", "search time s", "test time s"):
        table.add_column(col, justify="left" if col in ("configuration", "config_id", "test label") else "right")
    search = trials[(trials["stage"] == "search") & (trials["state"] == "COMPLETE")]
    value = "value" if "value" in search else "value_acc"
    final = runs[(runs["stage"] == "final") & (runs["status"] == "ok")] if not runs.empty else runs
    ref_acc = final[final["label"].isin(reference)]["final_avg_acc"].mean() if len(final) else math.nan
    search_runs = runs[runs["stage"] == "search"] if not runs.empty else runs
    for _, t in search.sort_values([value, "number"], ascending=[False, True]).head(top).iterrows():
        val = search_runs[search_runs["trial"] == t["number"]]
        test = final[(final["config_id"] == t["config_id"]) & ~final["label"].isin(reference)] \
            if len(final) and "config_id" in final else final.iloc[:0]
        gap = 100 * (test["final_avg_acc"].mean() - ref_acc) if len(test) and not math.isnan(ref_acc) else math.nan
        table.add_row(str(int(t["number"])), str(t["label"]), str(t.get("config_id", "")),
                      ", ".join(dict.fromkeys(map(str, test["label"]))) or "-", mean_sd(val["final_avg_acc"]),
                      mean_sd(test["final_avg_acc"]) if len(test) else "-",
                      "-" if math.isnan(gap) else f"{gap:+.1f}", mean_sd(val["time_total_s"], 1.0),
                      mean_sd(test["time_total_s"], 1.0) if len(test) else "-")
    for label in reference:
        test = final[final["label"] == label]
        if len(test):
            table.add_row("ref", label, shared_value(test, "config_id"), label, "-", mean_sd(test["final_avg_acc"]), "0.0",
                          "-", mean_sd(test["time_total_s"], 1.0))
    return table


def by_param_table(trials: pd.DataFrame, param: str) -> Table:
    """Search trials grouped by one categorical parameter (e.g. the schedule family)."""
    table = Table(title=f"Search trials by {param} (validation accuracy %)")
    for col in (param, "trials", "complete", "pruned", "failed", "best", "median"):
        table.add_column(col, justify="left" if col == param else "right")
    search = trials[trials["stage"] == "search"]
    value = "value" if "value" in search else "value_acc"
    col = f"param_{param}"
    if col not in search:
        return table
    for v, g in search.groupby(col):
        done = g[g["state"] == "COMPLETE"][value]
        table.add_row(str(v), str(len(g)), str(len(done)), str(int((g["state"] == "PRUNED").sum())),
                      str(int((g["state"] == "FAIL").sum())),
                      f"{100 * done.max():.1f}" if len(done) else "-", f"{100 * done.median():.1f}" if len(done) else "-")
    return table


def importance_table(importances: dict[str, float]) -> Table:
    """One row per parameter; those of a conditional space that no or hardly any trial used
    (importance exactly 0) are left out and named in the caption."""
    dropped = [k for k, v in importances.items() if v == 0]
    table = Table(title="Parameter importances (Optuna's default evaluator, search stage)",
                  caption=f"not shown, importance exactly 0 (conditional): {', '.join(dropped)}" if dropped else None)
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    for k, v in importances.items():
        if v != 0:
            table.add_row(k, f"{v:.3f}")
    return table


def pareto_table(trials: pd.DataFrame, front: list[int]) -> Table:
    table = Table(title="Pareto front: validation accuracy against training time")
    for col in ("trial", "configuration", "config_id", "val acc %", "time s"):
        table.add_column(col, justify="left" if col in ("configuration", "config_id") else "right")
    rows = trials[(trials["stage"] == "search") & trials["number"].isin(front)].sort_values("value_time_s")
    for _, t in rows.iterrows():
        table.add_row(str(int(t["number"])), str(t["label"]), str(t.get("config_id", "")), f"{100 * t['value_acc']:.1f}",
                      f"{t['value_time_s']:.1f}")
    return table


def _n(x, spec: str) -> str:
    """A number, or '—' when there is none (NaN/None: no CI or effect size below 3 seeds)."""
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def verdict_table(rows: list[dict], alpha: float, min_effect: float) -> Table:
    """One row per comparison: is the difference real (p within its Holm family), is it large
    enough, is it shown equivalent (TOST), and could the design have seen it (MDE, power)?
    Accuracy differences in points; wall-clock metrics are marked as such."""
    first = next(iter(rows), {})
    power_at = first.get("power_effect_points", float("nan"))
    rel = next((r.get("min_rel_effect") for r in rows if r.get("wall_clock") or r.get("unit") != "fraction"), None)
    title = (f"Verdicts: paired by seed, Holm within each metric's family, alpha {alpha}; accuracy minimum "
             f"{100 * min_effect:g} point{'' if 100 * min_effect == 1 else 's'} (TOST margin the same), power at {_n(power_at, 'g')} points")
    if rel is not None and not math.isnan(rel):
        title += f"; costs: minimum and margin {100 * rel:g}% of the other arm"
    table = Table(title=title)
    for col in ("metric", "a vs b", "n", "diff", "CI (its Holm level)", "p", "p_holm", "TOST p", "effect", "MDE",
                "power", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "a vs b", "verdict") else "right")
    for r in rows:
        scale, unit = shown(r)
        k = int(r.get("family_size", 1))
        role = r.get("role", "")
        tag = f"{role}, k={k}" + (", wall-clock" if r.get("wall_clock") else "")
        rel_diff = r.get("rel_diff", float("nan"))
        diff = f"{scale * r['diff']:+.1f} {unit}".rstrip()
        if rel_diff is not None and not math.isnan(rel_diff):
            diff += f" ({100 * rel_diff:+.1f}%)"
        tost = r.get("tost_p_holm", float("nan")) if k > 1 else r.get("tost_p", float("nan"))
        table.add_row(f"{r['metric']} ({tag})", f"{r['a']} vs {r['b']}", str(r["n_a"]), diff,
                      f"[{_n(scale * r['ci_low'], '.1f')}, {_n(scale * r['ci_high'], '.1f')}]"
                      + ("" if math.isnan(r.get("ci_level", float("nan"))) else f" {level_text(r['ci_level'])}"),
                      _n(r["p_value"], ".3g"), _n(r["p_holm"], ".3g") if k > 1 else "—", _n(tost, ".3g"),
                      "—" if math.isnan(r["effect_size"]) else f"{r['effect_kind']} {r['effect_size']:.2f}",
                      _n(scale * r.get("mde", float("nan")), ".1f"), _n(r.get("power_at_min_effect"), ".2f"),
                      r["verdict"])
    return table


def frame_table(df: pd.DataFrame, title: str) -> Table:
    """Any small frame of already formatted text, as it stands (columns in order)."""
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col))
    for row in df.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    return table
