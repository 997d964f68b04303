"""The answer at equal bytes, for a grid whose anchor is a buffer matched to a generator's bytes
(studies/memory.py: the report VAE's; studies/generator_vs_buffer.py: a plugin's). Not a study (its
name starts with "_"): each of the two studies' answer hooks (StudySpec.answer) calls
equal_bytes_section with its anchor, and report.md gets one section after its Answer: every arm's
kept bytes, accuracy, training cost, place on the two Pareto fronts and verdict against the anchor,
and at each buffer budget the best generator within it against that buffer. tools/docs.py builds
docs/memory.md from the same tables.

Everything here reads the rows it is given (runs.csv's, the analysis's stats rows) and computes
nothing that the report did not, apart from the fronts (frames.pareto_mask).
"""

from __future__ import annotations

import math

import pandas as pd

from gr_bench.budgets import buffer_budgets
from gr_bench.orchestration import Section
from gr_bench.report.frames import memory_points, ok_rows, pareto_mask
from gr_bench.report.markdown import md_table
from gr_bench.stats import level_text


def arm_table(runs: pd.DataFrame, stats: pd.DataFrame, anchor: str) -> pd.DataFrame:
    """One row per arm: label, kept_mib, bytes_ratio (kept bytes / the anchor's generator bytes),
    acc, sd, n, tflops, cpu_s, front_bytes, front_flops, and the primary verdict against the anchor
    (diff, ci_low, ci_high in points; verdict)."""
    g = memory_points(runs)  # label, acc, sd, n, mem: the accuracy-vs-memory plot's own points
    df = ok_rows(runs)
    costs = df.groupby("label", sort=False).agg(flops=("flops_train", "mean"), cpu_s=("cpu_s", "mean"))
    g = g.join(costs, on="label")
    reference = df.loc[df["label"] == anchor, "generator_bytes"]
    base = float(reference.mean()) if len(reference) else float("nan")
    g["kept_mib"] = g["mib"]
    g["bytes_ratio"] = g["mem"] / base
    g["tflops"] = g["flops"] / 1e12
    g["front_bytes"] = pareto_mask(g["acc"], g["mem"])
    g["front_flops"] = pareto_mask(g["acc"], g["flops"])
    primary = stats[(stats["metric"] == "final_avg_acc") & (stats["b"] == anchor)]
    if "role" in primary:  # the budgets family can hold the same pair: one row per arm, the study's verdict
        primary = primary[primary["role"] == "primary"]
    verdicts = primary.set_index("a")[["diff_points", "ci_low_points", "ci_high_points", "ci_level", "verdict"]]
    g = g.join(verdicts, on="label")
    return g.sort_values("acc", ascending=False).reset_index(drop=True)


def budget_table(runs: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """At every buffer budget of the sweep, the best generator within it against that buffer: the
    rows of the analysis's family "budgets" (budgets.py picks the pairs; the analysis tests them as
    one Holm family, under the study's sequential design if it has one), one row per buffer.

    `stats`: the rows as stats.csv holds them (Analysis.stats_frame(), or the file). One row per
    budget: buffer, its MiB, the generator (none when no generator fits), its MiB, both accuracies
    and the stats row's diff, CI (at the verdict's level), p_holm, MDE (a fraction) and verdict."""
    g = memory_points(runs)
    given = buffer_budgets(runs)
    g = g.assign(mem=[max(m, given.get(lab, m)) for lab, m in zip(g["label"], g["mem"])])
    buffers = g[g["kind"] == "buffer"].sort_values("mem")
    fam = stats[stats["family"] == "budgets"] if len(stats) and "family" in stats else stats.iloc[0:0]
    rows = {str(r["b"]): r for _, r in fam.iterrows()}
    out = []
    for b in buffers.itertuples():
        row = rows.get(str(b.label))
        gen = g[g["label"] == row["a"]].iloc[0] if row is not None else None
        out.append({"buffer": b.label, "buffer_mib": b.mem / 2**20,
                    "generator": "" if gen is None else str(gen["label"]),
                    "generator_mib": math.nan if gen is None else float(gen["mem"]) / 2**20,
                    "acc_generator": math.nan if gen is None else float(gen["acc"]),
                    "acc_buffer": float(b.acc),
                    **{k: (row[k] if row is not None and k in row else math.nan)
                       for k in ("diff", "ci_low", "ci_high", "ci_level", "p_holm", "n_a")},
                    "mde": math.nan if row is None else row["mde_points"] / 100,  # stats.csv: the MDE in points
                    "verdict": row["verdict"] if row is not None else "no generator this small"})
    return pd.DataFrame(out)


def budget_markdown(table: pd.DataFrame) -> str:
    def ci(r) -> str:
        return ("—" if pd.isna(r["ci_low"]) else
                f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}] at {level_text(r['ci_level'])}")

    shown = pd.DataFrame({
        "buffer (MiB)": [f"{b} ({m:.2f})" for b, m in zip(table["buffer"], table["buffer_mib"])],
        "best generator within it (MiB)": [f"{gname} ({m:.2f})" if gname else "—"
                                           for gname, m in zip(table["generator"], table["generator_mib"])],
        "generator %": [("—" if pd.isna(a) else f"{100 * a:.1f}") for a in table["acc_generator"]],
        "buffer %": [f"{100 * a:.1f}" for a in table["acc_buffer"]],
        "difference, points": [("—" if pd.isna(d) else f"{100 * d:+.1f}") for d in table["diff"]],
        "CI (at its Holm level)": [ci(r) for _, r in table.iterrows()],
        "p_holm": [("—" if pd.isna(p) else f"{p:.2g}") for p in table["p_holm"]],
        "verdict": table["verdict"],
    })
    return md_table(shown).rstrip("\n")


def budget_sentence(table: pd.DataFrame) -> str:
    """The answer at each budget tested, in one sentence (README and docs)."""
    parts = [f"{r.buffer} ({r.buffer_mib:.2f} MiB): {r.generator or 'no generator'} "
             + (f"{100 * r.diff:+.1f} points, {r.verdict}{_undecided(r)}" if r.generator else "fits")
             for r in table.itertuples()]
    k = int(table["generator"].astype(bool).sum())
    return (f"The best generator within each buffer's bytes against that buffer (paired by seed, Holm over {k} "
            f"budget{'s' if k != 1 else ''}; the generator picked by its mean on the same seeds, which favours it): "
            + "; ".join(parts))


def _undecided(r) -> str:
    """For an undecided budget: the minimum detectable effect at the seeds it reached."""
    if r.verdict in ("underpowered", "no evidence", "inconclusive") and pd.notna(getattr(r, "mde", float("nan"))):
        return f" (minimum detectable effect {100 * r.mde:.1f} points at {int(r.n_a)} seeds)"
    return ""


def _verdict(row: pd.Series, anchor: str) -> str:
    if row["label"] == anchor:
        return "anchor"
    if pd.isna(row.get("diff_points")):
        return ""
    if pd.isna(row["ci_low_points"]):  # fewer than 3 seeds: no interval
        return f"{row['diff_points']:+.1f} [—, —] {row['verdict']}"
    return (f"{row['diff_points']:+.1f} [{row['ci_low_points']:+.1f}, {row['ci_high_points']:+.1f}] at "
            f"{level_text(row['ci_level'])}: {row['verdict']}")


def markdown(table: pd.DataFrame, anchor: str, ratio_of: str = "report VAE") -> str:
    """arm_table as markdown; `ratio_of` names the bytes bytes_ratio divides by (the anchor's generator's)."""
    shown = pd.DataFrame({
        "arm": table["label"],
        "kept MiB": table["kept_mib"].map("{:.2f}".format),
        f"× {ratio_of}": table["bytes_ratio"].map("{:.3g}".format),
        "accuracy % (sd, n)": [f"{100 * a:.1f} ({100 * sd:.1f}, {int(n)})"
                               for a, sd, n in zip(table["acc"], table["sd"], table["n"])],
        "train TFLOP": table["tflops"].map("{:.2f}".format),
        "CPU s": table["cpu_s"].map("{:.0f}".format),
        "front: bytes": table["front_bytes"].map({True: "yes", False: ""}),
        "front: FLOPs": table["front_flops"].map({True: "yes", False: ""}),
        f"vs {anchor} (points, CI at its Holm level)": [_verdict(r, anchor) for _, r in table.iterrows()],
    })
    return md_table(shown).rstrip("\n")


def matched_anchor(runs: pd.DataFrame, anchor: str | None) -> bool:
    """Whether `anchor` is a buffer sized to a generator's bytes (buffer_bytes=match-generator[:R])."""
    df = ok_rows(runs) if len(runs) and "label" in runs else runs
    if not anchor or not len(df) or not {"strategy", "buffer_bytes", "generator_bytes"} <= set(df.columns):
        return False
    rows = df[df["label"] == anchor]
    return bool(len(rows)) and bool((rows["strategy"] == "buffer").all()) and bool(
        rows["buffer_bytes"].astype(str).str.startswith("match-generator").all())


def matched_arms(runs: pd.DataFrame, anchor: str) -> list[str]:
    """The generative arms whose generator the anchor's buffer is matched to: those whose generator
    keeps the bytes the anchor's buffer was sized from (runs.csv's generator_bytes)."""
    df = ok_rows(runs)
    base = df.loc[df["label"] == anchor, "generator_bytes"].astype(float).mean()
    generative = df[df["strategy"] == "generative"]
    means = generative.groupby("label", sort=False)["generator_bytes"].mean()
    return [str(label) for label, b in means.items() if float(b) == base]


def answer_lines(table: pd.DataFrame, arms: list[str], anchor: str) -> list[str]:
    """One sentence per arm of `arms` (arm_table's rows): its verdict against the anchor at equal
    bytes, its place on the accuracy-bytes and accuracy-FLOPs fronts, its training cost."""
    rows = {str(r["label"]): r for _, r in table.iterrows()}
    if anchor not in rows:
        return []
    b = rows[anchor]
    out = []
    for arm in arms:
        if arm not in rows:
            continue
        r = rows[arm]
        if pd.isna(r.get("diff_points")):
            verdict = "no verdict"
        else:
            ci = ("" if pd.isna(r["ci_low_points"])  # fewer than 3 seeds: no interval
                  else f", {level_text(r['ci_level'])} CI [{r['ci_low_points']:+.1f}, {r['ci_high_points']:+.1f}] "
                  "(its Holm level)")
            verdict = f"{r['diff_points']:+.1f} points{ci}: {r['verdict']}"
        cost = (f"training {_flops(r['flops'])} and {r['cpu_s']:.3g} CPU s"
                + (f" ({r['flops'] / b['flops']:.3g}x the buffer's FLOPs)" if b["flops"] > 0 else ""))
        out.append(f"{arm}: {100 * r['acc']:.1f}% against {100 * b['acc']:.1f}% for {anchor} "
                   f"({b['kept_mib']:.3g} MiB, the generator's bytes), {verdict}; "
                   f"{'on' if r['front_bytes'] else 'off'} the accuracy-bytes front and "
                   f"{'on' if r['front_flops'] else 'off'} the accuracy-FLOPs front; {cost}")
    return out


def _flops(flops: float) -> str:
    """'2.1 TFLOP', '35.2 GFLOP', '0.2 GFLOP'."""
    return f"{flops / 1e12:.3g} TFLOP" if flops >= 1e12 else f"{flops / 1e9:.3g} GFLOP"


def generator_names(runs: pd.DataFrame, arms: list[str]) -> str:
    """The generator the arms ran, as runs.csv names it, with its plugin's sha256 (first 12 digits)."""
    df = ok_rows(runs)
    df = df[df["label"].isin(arms)]
    names = []
    for (name, sha), _ in df.groupby([df["generator"].astype(str),
                                      df.get("generator_sha256", pd.Series("", index=df.index)).fillna("").astype(str)],
                                     sort=False):
        plugin = sha and sha != "nan"
        names.append(f"`{name}`" + (f", a plugin whose source has sha256 {sha[:12]}..." if plugin else ""))
    return ", ".join(names)


def equal_bytes_section(runs: pd.DataFrame, stats: pd.DataFrame, anchor: str) -> list[Section]:
    """When ``anchor`` is a bytes-matched buffer: report.md's section (the sentences, the arm table,
    the answer at every buffer budget) with the sentences alone for the terminal; else none."""
    if not matched_anchor(runs, anchor):
        return []
    table = arm_table(runs, stats, anchor)
    arms = matched_arms(runs, anchor)  # the arms of the anchor's generator
    lines = answer_lines(table, arms, anchor)
    budget = budget_table(runs, stats)
    which = generator_names(runs, arms) if "generator" in runs else ""
    text = ("## At equal bytes, on the fronts, and at what cost\n\n"
            + f"The generator ({which or 'the arms of the anchor'}) against {anchor}, a buffer of real images in "
            "exactly the bytes it keeps between tasks "
            "(its parameters and the classifier copy that labels its samples); \"front\": no other arm has at least "
            "its accuracy at no more bytes (or training FLOPs). Verdicts are the study's (paired by seed, Holm over "
            "its arms).\n\n" + "".join(f"- {line}.\n" for line in lines) + "\n"
            + markdown(table, anchor, ratio_of="the generator's bytes") + "\n\n#### At every buffer budget\n\n"
            + budget_sentence(budget) + ".\n\n" + budget_markdown(budget) + "\n")
    return [Section(text, (*lines, budget_sentence(budget)))]
