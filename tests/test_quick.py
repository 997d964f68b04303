"""Quick is quick: every study's --quick plan fits a first look's time on 2 cores, under 3 minutes
with the bundled digits (--dataset digits) and under 10 on full MNIST (the default dataset).

The test walks `gr-bench study --list`, dry-runs each study with --quick (on digits and on the
default dataset), reads the plan's runs and estimates the plan's time on 2 workers without
training anything: a fixed cost per study (workers starting, data, the report), plus per run a
fixed cost and its training samples (classifier and generator, new and replayed: the trainer's
own count, modelled below) at a CPU cost per sample, read from the shipped results for full-size
images and measured once for digits."""

from __future__ import annotations

import csv
import glob
import math
import re
import statistics
from pathlib import Path

import pytest

from gr_bench.cli import main
from gr_bench.orchestration import get_spec, study_names

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2  # the 2 cores a first look runs on
LIMIT_S = {"digits": 3 * 60, "mnist": 10 * 60}
TRAIN_IMAGES = {"digits": 1437, "mnist": 60_000}  # training images (digits: every fifth image is a test image)
# What a quick study costs besides its runs' training, measured once: `gr-bench study
# replay_schedule --quick --dataset digits --workers 2` (14 runs of a few thousand samples each)
# took 58-75 s of wall time under `nice -n 19` on the 2-core VM while another study kept both cores
# busy, of which its runs' own durations were 31 s over 2 workers (16 s): about 60 s for starting
# two workers per stage, loading data, exporting and the report. Per run, the trainer's set-up and
# evaluation: 1 s (the shortest of those runs took 0.3-0.9 s).
STUDY_S = 60.0
RUN_S = 1.0
# CPU seconds per training sample on digits' 8x8 images, measured once the same way (trainer.run
# in one process, cpu_s over samples): the report's preset at 3 epochs 33 us, van de Ven's
# networks at 200 steps per task 44 us. Full-size images: _cpu_per_sample, from the shipped runs.
DIGITS_CPU_PER_SAMPLE = 45e-6


def _cpu_per_sample() -> float:
    """CPU seconds per training sample (classifier and generator samples, as runs.csv counts them),
    over every shipped run on full-size images: the 90th percentile, so a costlier model (a
    replay-through-feedback VAE, van de Ven's larger networks) is not underestimated."""
    rates = []
    for path in glob.glob(str(ROOT / "results" / "*" / "runs.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                samples = int(row.get("samples_classifier") or 0) + int(row.get("samples_generator") or 0)
                if samples and row.get("cpu_s"):
                    rates.append(float(row["cpu_s"]) / samples)
    assert len(rates) > 100, "the shipped results/*/runs.csv hold too few runs to read a CPU cost from"
    return statistics.quantiles(rates, n=10)[-1]


def _samples(cfg, n_images: int) -> int:
    """The classifier's and the generator's training samples over a run (trainer.py: every pass
    over the task's data, new and per-task replay; per-batch replay draws a replay batch per step),
    from the config and the dataset's training images."""
    from gr_bench.schedule import parse_schedule

    t, r = cfg.train, cfg.replay
    n = int(n_images * (1 - cfg.data.val_fraction)) // cfg.data.n_tasks
    replaying = cfg.strategy in ("generative", "buffer")
    per_batch = replaying and r.replay_mode == "per-batch"
    total = 0
    for task in range(cfg.data.n_tasks):
        if cfg.strategy == "joint":
            data = n * (task + 1)
        elif task and replaying and not per_batch:
            data = n + (parse_schedule(r.schedule)(task, n) if cfg.strategy == "generative" else
                        min(r.buffer or n, n * task))
        else:
            data = n
        models = [(t.epochs, t.iters, t.batch_size)]
        if cfg.strategy == "generative" and cfg.model.generator != "gmm":  # gmm is fitted, not trained
            models.append((t.vae_epochs, t.vae_iters, t.vae_batch_size or t.batch_size))
        for epochs, iters, batch in models:
            seen = iters * batch if iters else epochs * data
            total += seen * (2 if per_batch and task else 1)
    return total


def _planned_configs(name: str, dataset: str | None):
    """Every run a study's --quick plan may train, composed as the study composes them: a grid's
    points on every seed; a search's trials at its fidelity on its seeds (each trial's parameters
    are the search's to choose: the base configuration stands for them) and its final stage, at
    most top + references + attribution swaps + compute-matched controls on every evaluation seed."""
    from gr_bench.orchestration import as_pairs, make_config, planned_points
    from gr_bench.orchestration.launch import StudyRequest, checked_setup

    spec = get_spec(name, quick=True)
    setup = checked_setup(spec, StudyRequest(name=name, quick=True, workers=WORKERS, dataset=dataset,
                                            seeds=tuple(range(spec.seeds)), dry_run=True))
    if spec.kind == "grid":
        grid = spec.stored_grid()
        return setup, [make_config(spec, setup, [q for axis, labels in grid.items() for q in as_pairs(labels[p[axis]])],
                                   p["seed"]) for p in planned_points(spec, setup, "search")]
    search = [make_config(spec, setup, [], s, search=True) for _ in range(setup.trials) for s in setup.seeds]
    finals = (spec.top + len(spec.reference) * (1 + len(spec.attribution or {}) + spec.compute_matched))
    base = make_config(spec, setup, [], 0)
    return setup, search + [base] * (finals * len(setup.eval_seeds))


def _dry_run(capsys, *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("dataset", ["digits", None])
def test_every_quick_plan_fits_a_first_look(capsys, tmp_path, dataset):
    listed = _dry_run(capsys, "study", "--list")
    names = study_names()
    assert names and all(re.search(rf"\b{re.escape(n)}\b", listed) for n in names)
    per_sample = {"digits": DIGITS_CPU_PER_SAMPLE, "mnist": _cpu_per_sample()}
    over = []
    for name in names:
        args = ["study", name, "--quick", "--dry-run", "--workers", str(WORKERS), "--results", str(tmp_path)]
        plan = _dry_run(capsys, *args, *(["--dataset", dataset] if dataset else []))
        trials = int(re.search(r"plan: (\d+) (grid|search) trials", plan).group(1))
        setup, configs = _planned_configs(name, dataset)
        assert trials == (len(configs) if get_spec(name, quick=True).kind == "grid" else setup.trials), plan
        data = configs[0].data.dataset
        kind = "digits" if data == "digits" else "mnist"  # "auto" is full MNIST; Fashion-MNIST is its size
        cpu = sum(RUN_S + _samples(c, TRAIN_IMAGES[kind]) * per_sample[kind] for c in configs)
        wall = STUDY_S + cpu / WORKERS
        if wall > LIMIT_S[kind]:
            over.append(f"{name} ({data}): {len(configs)} runs, about {math.ceil(wall / 60)} min")
    assert not over, f"--quick plans over {LIMIT_S}: " + "; ".join(over)
