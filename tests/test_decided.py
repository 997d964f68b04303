"""Shipped evidence answers: every primary verdict in results/*/stats.csv is decided (better, worse,
equivalent, negligible), or its study ran to a cap of at least 20 seeds (10 for a memory study) and
the row states its minimum detectable effect at that cap."""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import pandas as pd
import pytest

RESULTS = Path(__file__).resolve().parent.parent / "results"
DECIDED = ("better", "worse", "equivalent", "negligible")
SHIPPED = sorted(p.parent for p in RESULTS.glob("*/stats.csv") if (p.parent / "manifest.json").is_file())


def cap_needed(study: str) -> int:
    """The seeds a study must reach before an open verdict may ship: 10 for memory studies (each
    seed trains every arm of a 20-arm grid), 20 otherwise (the reference's 20 seeds)."""
    return 10 if study.startswith("memory") else 20


def study_cap(manifest: dict) -> int:
    """The most seeds the shipped command could run: --sequential CAP, or --seeds N / a list."""
    args = shlex.split(manifest["command"])
    for flag in ("--sequential", "--seeds"):
        if flag in args:
            value = args[args.index(flag) + 1]
            return len(value.split(",")) if "," in value else int(value)
    return 0


def open_rows(folder: Path) -> list[str]:
    """The primary rows of a shipped folder that stop undecided short of the cap, or with no MDE."""
    stats = pd.read_csv(folder / "stats.csv")
    manifest = json.loads((folder / "manifest.json").read_text())
    need = cap_needed(folder.name)
    out = []
    for _, r in stats[stats["role"] == "primary"].iterrows():
        label = str(r["verdict"])
        if any(label.startswith(v) for v in DECIDED):
            continue
        reached = min(r["n_a"], r["n_b"]) >= need and study_cap(manifest) >= need
        if not reached or not math.isfinite(float(r["mde_points"])):
            out.append(f"{folder.name}: {r['a']} vs {r['b']} ({r['metric']}): {label} at "
                       f"{int(min(r['n_a'], r['n_b']))} seeds, cap {study_cap(manifest)}")
    return out


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_primary_verdict_is_decided_or_at_its_cap(folder):
    assert open_rows(folder) == []


def test_an_open_verdict_short_of_its_cap_is_caught(tmp_path):
    folder = tmp_path / "memory-toy"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"command": "gr-bench study memory --seeds 0,1,2"}))
    row = {"role": "primary", "verdict": "underpowered", "n_a": 3, "n_b": 3, "mde_points": 9.0,
           "a": "x", "b": "y", "metric": "final_avg_acc"}
    pd.DataFrame([row, {**row, "verdict": "equivalent within ±1 point", "a": "z"}]).to_csv(
        folder / "stats.csv", index=False)
    assert open_rows(folder) == ["memory-toy: x vs y (final_avg_acc): underpowered at 3 seeds, cap 3"]
    (folder / "manifest.json").write_text(json.dumps({"command": "gr-bench study memory --sequential 10"}))
    assert len(open_rows(folder)) == 1  # a cap of 10 that the row did not reach
    pd.DataFrame([{**row, "n_a": 10, "n_b": 10}]).to_csv(folder / "stats.csv", index=False)
    assert open_rows(folder) == []  # run to its cap of 10, it may stop open, with its MDE
    pd.DataFrame([{**row, "n_a": 10, "n_b": 10, "mde_points": float("nan")}]).to_csv(folder / "stats.csv", index=False)
    assert len(open_rows(folder)) == 1  # ... but not without its MDE
