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

from .build import md_table
from .frames import memory_points, ok_rows, pareto_mask

ANCHOR = "buffer-1x"  # studies/memory.py: the buffer of exactly the seed VAE + classifier's bytes


def arm_table(runs: pd.DataFrame, stats: pd.DataFrame, anchor: str = ANCHOR) -> pd.DataFrame:
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
    shown = pd.DataFrame({
        "arm": table["label"],
        "kept MiB": table["kept_mib"].map("{:.2f}".format),
        "× seed VAE": table["bytes_ratio"].map("{:.3g}".format),
        "accuracy % (sd, n)": [f"{100 * a:.1f} ({100 * sd:.1f}, {int(n)})"
                               for a, sd, n in zip(table["acc"], table["sd"], table["n"])],
        "train TFLOP": table["tflops"].map("{:.2f}".format),
        "CPU s": table["cpu_s"].map("{:.0f}".format),
        "front: bytes": table["front_bytes"].map({True: "yes", False: ""}),
        "front: FLOPs": table["front_flops"].map({True: "yes", False: ""}),
        f"vs {anchor} (points, CI at 1 - alpha/k)": [_verdict(r, anchor) for _, r in table.iterrows()],
    })
    return md_table(shown).rstrip("\n")


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
