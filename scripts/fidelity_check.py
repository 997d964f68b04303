"""Does a cheaper search fidelity rank a search's trials as full fidelity does?

Re-runs every complete search trial of a study that searched at full fidelity (`gr-bench study
NAME --no-prune`) at SHARE of each task's epochs, on the trial's own seeds and validation split,
and prints the Spearman correlation between the two accuracies, both picks, and the CPU time. Runs
go through the run cache of the study's results folder, so a second call costs nothing.

    python scripts/fidelity_check.py RESULTS/NAME-full --share 0.2 [--workers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import optuna
from scipy.stats import spearmanr

from gr_bench.result import RunResult


def _stage(folder: Path) -> tuple[str, optuna.Study]:
    url = f"sqlite:///{folder / 'study.db'}"
    names = [s.study_name for s in optuna.get_all_study_summaries(url)
             if ":" not in s.study_name and not s.study_name.startswith("__")]  # not a stage, not a kept run
    if len(names) != 1:
        sys.exit(f"{folder}: expected one search stage in study.db, found {names or 'none'}")
    return url, optuna.load_study(study_name=names[0], storage=url)


def _run_one(args: tuple[str, str, float, list[str], list[int]]) -> dict:
    """One trial's configuration at the lower fidelity, on each of its search seeds (a worker process)."""
    import torch

    from gr_bench import runcache
    from gr_bench.orchestration import Setup, get_spec, make_config
    from gr_bench.orchestration.trials import BenchCache
    from gr_bench.trainer import run

    folder, url, share, pairs, seeds = args
    torch.set_num_threads(1)
    setup_attrs = json.loads(Path(folder, "manifest.json").read_text()).get("setup", {})
    spec = dataclasses.replace(get_spec(setup_attrs["study"], setup_attrs.get("quick", False)),
                               search_fidelity=share)
    setup = Setup(study=spec.name, study_name="fidelity-check", storage_url=url, results_dir=folder,
                  dataset=setup_attrs.get("dataset"), seeds=tuple(seeds), sets=tuple(setup_attrs.get("sets", ())))
    benches, accs, cpu = BenchCache(None), [], 0.0
    for seed in seeds:
        cfg = make_config(spec, setup, pairs, seed, search=True)
        result, _ = runcache.run_or_reuse(setup, cfg, benches(cfg), "val", None, run)
        accs.append(result.metrics()[spec.objective])
        cpu += result.cpu_s
    return {"low": sum(accs) / len(accs), "cpu_s": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="the results folder of a full-fidelity search study")
    ap.add_argument("--share", type=float, required=True, help="share of each task's epochs, in (0, 1]")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if not 0 < a.share <= 1:
        sys.exit("--share must be in (0, 1]")
    url, study = _stage(a.folder)
    trials = [t for t in study.trials if t.state.name == "COMPLETE"]
    seeds = sorted({int(k[4:]) for t in trials for k in t.user_attrs if k.startswith("run:")})
    jobs = [(str(a.folder), url, a.share, t.user_attrs["overrides"], seeds) for t in trials]
    with ProcessPoolExecutor(a.workers) as pool:
        low = list(pool.map(_run_one, jobs))
    full = [t.values[0] for t in trials]
    rho = spearmanr([r["low"] for r in low], full)
    best_full = max(range(len(trials)), key=lambda i: full[i])
    best_low = max(range(len(trials)), key=lambda i: low[i]["low"])
    full_cpu = sum(RunResult.from_dict(v).cpu_s for t in trials for k, v in t.user_attrs.items()
                   if k.startswith("run:"))
    print(f"{len(trials)} trials, seeds {seeds}, share {a.share}: Spearman {rho.statistic:.2f} (p {rho.pvalue:.2g})")
    print(f"full fidelity picks trial {trials[best_full].number} ({100 * full[best_full]:.1f}%); share {a.share} "
          f"picks trial {trials[best_low].number} (full-fidelity value {100 * full[best_low]:.1f}%)")
    print(f"CPU: {sum(r['cpu_s'] for r in low):.0f} s at share {a.share}, {full_cpu:.0f} s at full fidelity")
    for i in sorted(range(len(trials)), key=lambda i: -full[i]):
        print(f"  trial {trials[i].number:3d}: full {100 * full[i]:5.1f}  share {100 * low[i]['low']:5.1f}  "
              + " ".join(trials[i].user_attrs["overrides"]))


if __name__ == "__main__":
    main()
