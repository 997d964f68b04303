"""The memory study's answer as one markdown table: every arm's kept bytes, accuracy, training cost,
place on the two Pareto fronts, and verdict against the buffer of the seed VAE's bytes.

    python -m gr_bench.report.memory_answer RESULTS/memory [RESULTS/memory-fashion ...] --out docs/memory.md

Reads each study folder's runs.csv and stats.csv (written by `gr-bench study memory` or `gr-bench
report`); computes nothing that the report did not, apart from the fronts (frames.pareto_mask).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .frames import ok_rows, pareto_mask, seed_sd

ANCHOR = "buffer-1x"  # studies/memory.py: the buffer of exactly the seed VAE + classifier's bytes


def arm_table(runs: pd.DataFrame, stats: pd.DataFrame, anchor: str = ANCHOR) -> pd.DataFrame:
    """One row per arm: label, kept_mib, bytes_ratio (kept bytes / the anchor's generator bytes),
    acc, sd, n, tflops, cpu_s, front_bytes, front_flops, and the primary verdict against the anchor
    (diff, ci_low, ci_high in points; verdict)."""
    df = ok_rows(runs)
    g = df.groupby("label", sort=False).agg(
        kept=("memory_bytes", "mean"), acc=("final_avg_acc", "mean"), sd=("final_avg_acc", seed_sd),
        n=("final_avg_acc", "count"), flops=("flops_train", "mean"), cpu_s=("cpu_s", "mean")).reset_index()
    reference = df.loc[df["label"] == anchor, "generator_bytes"]
    base = float(reference.mean()) if len(reference) else float("nan")
    g["kept_mib"] = g["kept"] / 2**20
    g["bytes_ratio"] = g["kept"] / base
    g["tflops"] = g["flops"] / 1e12
    g["front_bytes"] = pareto_mask(g["acc"], g["kept"])
    g["front_flops"] = pareto_mask(g["acc"], g["flops"])
    primary = stats[(stats["metric"] == "final_avg_acc") & (stats["b"] == anchor)]
    verdicts = primary.set_index("a")[["diff_points", "ci_low_points", "ci_high_points", "verdict"]]
    g = g.join(verdicts, on="label")
    return g.sort_values("acc", ascending=False).reset_index(drop=True)


def _verdict(row: pd.Series, anchor: str) -> str:
    if row["label"] == anchor:
        return "anchor"
    if pd.isna(row.get("diff_points")):
        return ""
    ci = ("[—, —]" if pd.isna(row["ci_low_points"])  # fewer than 3 seeds: no interval
          else f"[{row['ci_low_points']:+.1f}, {row['ci_high_points']:+.1f}]")
    return f"{row['diff_points']:+.1f} {ci} {row['verdict']}"


def markdown(table: pd.DataFrame, anchor: str = ANCHOR) -> str:
    head = ("| arm | kept MiB | × seed VAE | accuracy % (sd, n) | train TFLOP | CPU s | front: bytes | "
            "front: FLOPs | vs " + anchor + " (points, 95% CI) |")
    lines = [head, "|" + "---|" * 9]
    for _, r in table.iterrows():
        lines.append(f"| {r['label']} | {r['kept_mib']:.2f} | {r['bytes_ratio']:.3g} | "
                     f"{100 * r['acc']:.1f} ({100 * r['sd']:.1f}, {int(r['n'])}) | {r['tflops']:.2f} | "
                     f"{r['cpu_s']:.0f} | {'yes' if r['front_bytes'] else ''} | {'yes' if r['front_flops'] else ''} | "
                     f"{_verdict(r, anchor)} |")
    return "\n".join(lines)


def study_answer(folder: Path) -> str:
    runs, stats = pd.read_csv(folder / "runs.csv"), pd.read_csv(folder / "stats.csv")
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    datasets = ", ".join(manifest.get("datasets") or sorted(set(runs["dataset"].astype(str))))
    command = manifest.get("command", "")
    seeds = sorted(set(ok_rows(runs)["seed"]))
    return (f"### {datasets}\n\n`{command}`: {len(seeds)} seeds ({', '.join(map(str, seeds))}), code "
            f"{str(manifest.get('git_sha', ''))[:7]}. Verdicts are the study's (paired t, Holm over its "
            f"arms); \"front\" marks the arms no other arm beats on accuracy at no more bytes (or FLOPs).\n\n"
            + markdown(arm_table(runs, stats)) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    missing = [str(f) for f in a.folders if not (f / "runs.csv").is_file() or not (f / "stats.csv").is_file()]
    if missing:
        print(f"gr-bench: no runs.csv and stats.csv in {', '.join(missing)} (run `gr-bench report` there)",
              file=sys.stderr)
        return 2
    text = ("# The memory frontier\n\nGenerated from the stored studies by `python -m gr_bench.report.memory_answer "
            + " ".join(str(f) for f in a.folders) + "`. Kept bytes: what a run keeps between tasks (generator "
            "parameters and the classifier copy that labels its samples, or the buffer's images and labels); "
            "\"× seed VAE\": those bytes over the source report's VAE + classifier (4,454,720 bytes).\n\n"
            + "\n".join(study_answer(f) for f in a.folders))
    if a.out:
        from ..files import atomic_write_text

        atomic_write_text(a.out, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
