"""Time van de Ven's own code on this machine, so the reference's CPU per run has a yardstick:
none, DGR and DGR+distill on class-IL Split MNIST, each one run on one thread, kept in
results/van-de-ven-cost/runs.csv, from which docs/performance.md's cost table is generated.

    python -m scripts.time_van_de_ven --repo PATH [--seed 0] [--method none --method dgr ...]

PATH is a git checkout of GMvandeVen/continual-learning (its commit is recorded in every row).
Their main.py runs with its defaults for splitMNIST, the protocol gr-bench's reference follows
(classifier 784-400-400, VAE 784-400-400-z100, Adam 1e-3, batch 128, 2,000 iterations per task):
`--experiment=splitMNIST --scenario=class` plus nothing (none), `--replay=generative` (DGR) or
`--replay=generative --distill` (DGR+distill). It runs with OMP_NUM_THREADS=1 and MKL_NUM_THREADS=1,
as gr-bench's runs do (one thread each), and `--no-save`. Their code asks torchvision for MNIST;
offline, full MNIST is copied beforehand from gr-bench's own cache (`gr-bench datasets fetch mnist`)
into PATH/store/datasets/MNIST/MNIST/raw, the folder torchvision reads, so no download is tried.

A row records the run's CPU seconds (the child process's user + system time: their data loading,
training, and evaluation, as gr-bench's cpu_s counts a whole run), its wall time, the CPU seconds
the rest of the machine used meanwhile (so a run that shared the cores shows as such), the final
average accuracy their code prints, and the machine. CPU seconds are the process's own, so they
hold on a busy machine too, give or take what sharing the caches costs; other_cpu_s says how busy.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from gr_bench.fetch import default_target
from gr_bench.files import append_csv
from gr_bench.provenance import cpu_model
from scripts.time_test_tier import measured_run

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "van-de-ven-cost" / "runs.csv"
METHODS = {  # gr-bench's reference label -> their flags
    "none": [],
    "dgr": ["--replay=generative"],
    "dgr-distill": ["--replay=generative", "--distill"],
}
IDX = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
FIELDS = ["repo_commit", "started_utc", "label", "scenario", "seed", "flags", "cpu_s", "wall_s", "other_cpu_s",
          "final_avg_acc", "exit_code", "threads", "torch", "cpu_model"]
ACCURACY = re.compile(r"average accuracy over all \d+ contexts: ([0-9.]+)")


class BadInput(Exception):
    pass


def repo_commit(repo: Path) -> str:
    p = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if p.returncode != 0 or not (repo / "main.py").is_file():
        raise BadInput(f"{repo} is not a git checkout of GMvandeVen/continual-learning (no main.py or no commit)")
    return p.stdout.strip()


def place_mnist(repo: Path) -> None:
    """Copy gr-bench's cached full MNIST to where torchvision looks under their data dir."""
    cache, raw = default_target("mnist"), repo / "store" / "datasets" / "MNIST" / "MNIST" / "raw"
    missing = [name for name in IDX if not (cache / f"{name}.gz").is_file()]
    if missing:
        raise BadInput(f"full MNIST is not in {cache}: run `gr-bench datasets fetch mnist` first")
    raw.mkdir(parents=True, exist_ok=True)
    for name in IDX:
        if not (raw / name).is_file():
            (raw / name).write_bytes(gzip.decompress((cache / f"{name}.gz").read_bytes()))


def time_run(repo: Path, commit: str, label: str, seed: int) -> dict:
    flags = ["--experiment=splitMNIST", "--scenario=class", *METHODS[label], f"--seed={seed}", "--no-gpus",
             "--no-save"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    m = measured_run([sys.executable, "main.py", *flags], cwd=repo, env=env)
    p = m.process
    found = ACCURACY.findall(p.stdout)
    if p.returncode != 0 or not found:
        print("\n".join((p.stdout + p.stderr).splitlines()[-15:]), file=sys.stderr)
    return {"repo_commit": commit, "started_utc": started, "label": label, "scenario": "class", "seed": seed,
            "flags": " ".join(flags), "cpu_s": m.cpu_s, "wall_s": m.wall_s, "other_cpu_s": m.other_cpu_s,
            "final_avg_acc": float(found[-1]) if found else float("nan"), "exit_code": p.returncode,
            "threads": 1, "torch": torch.__version__, "cpu_model": cpu_model()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, required=True, help="a git checkout of GMvandeVen/continual-learning")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", action="append", choices=list(METHODS), help="repeatable; default: all three")
    a = ap.parse_args(argv)
    try:
        commit = repo_commit(a.repo)
        place_mnist(a.repo)
    except BadInput as e:
        print(f"time_van_de_ven: error: {e}", file=sys.stderr)
        return 2
    rows: list[dict] = []
    try:
        for label in a.method or list(METHODS):
            rows.append(row := time_run(a.repo, commit, label, a.seed))
            print(f"{label}: {row['cpu_s']:.0f} CPU s, {row['wall_s']:.0f} s wall, accuracy {row['final_avg_acc']}, "
                  f"exit {row['exit_code']}; other processes used {row['other_cpu_s']:.0f} CPU s meanwhile",
                  flush=True)
    except KeyboardInterrupt:
        return 130
    finally:
        if rows:
            append_csv(OUT, rows, FIELDS)
            print(f"{len(rows)} row(s) added to {OUT.relative_to(ROOT)}; now run python -m tools.docs", flush=True)
    return 1 if any(r["exit_code"] or r["final_avg_acc"] != r["final_avg_acc"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
