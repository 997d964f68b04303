"""How close does a generative-replay run come to the CPU's arithmetic limit?

The figures come from real runs of the trainer (no separate benchmark loop), one at each precision
(fp32, and bf16 autocast): a run records samples per phase and seconds per phase; FLOPs follow
from the models' layer shapes; each phase's GFLOP/s is set beside the single-thread gemm rate of
the same machine in the arithmetic that phase ran in (fp32 or bf16), measured in the same process
on the same matrix shapes (torch.mm of the VAE's layers at the VAE's batch size) and on 1024^3.
Evaluation runs in fp32 at both precisions (trainer.py), so it is set beside the fp32 gemm.

FLOPs per sample for a stack of Linear layers (in_i -> out_i), multiply-add = 2 FLOPs:
  forward   F = sum 2 * in_i * out_i
  training  3F - 2 * in_0 * out_0   (forward, weight gradients, input gradients except the first
                                     layer's, whose input is data and needs none)
Element-wise work (activations, losses, the optimizer) is not counted: it is overhead to shrink.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import torch

from .config import PRECISIONS, ConfigError, RunConfig
from .models import build_classifier, build_vae, forward_flops, linear_shapes, train_flops

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def sgemm_gflops(shapes: list[tuple[int, int]], batch: int, seconds: float = 0.25, device: str = "cpu",
                 precision: str = "fp32") -> float:
    """Achieved GFLOP/s of torch.mm on (batch x in) @ (in x out) for each shape, in fp32 or bf16:
    single-thread on the CPU, on the GPU when `device` is cuda (synchronised, so queued kernels are
    counted)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    dtype = _DTYPES[precision]
    try:
        flops = elapsed = 0.0
        for i, o in shapes:
            a = torch.randn(batch, i, device=device, dtype=dtype)
            w = torch.randn(i, o, device=device, dtype=dtype)
            for _ in range(3):
                torch.mm(a, w)  # warm-up: allocation, kernel selection
            sync()
            n, start = 0, time.perf_counter()
            while (t := time.perf_counter() - start) < seconds:
                torch.mm(a, w)
                n += 1
                if n % 64 == 0:
                    sync()
            sync()
            t = time.perf_counter() - start
            flops += 2.0 * batch * i * o * n
            elapsed += t
        return flops / elapsed / 1e9
    finally:
        torch.set_num_threads(threads)


def phase_figures(result, cfg: RunConfig, bench, sgemm: float, sgemm_1024: float | None = None,
                  fp32: tuple[float, float] | None = None) -> dict[str, dict]:
    """Samples/s, GFLOP/s, % of same-shape gemm and % of the 1024^3 gemm (the machine's
    single-thread limit) for each phase of a finished run, against the gemm of the run's precision
    (`sgemm`, `sgemm_1024`); `fp32` = (same-shape, 1024^3) fp32 gemm rates for the evaluation phase,
    which runs in fp32 whatever the run's precision (None: the same as the run's)."""
    limit = sgemm_1024 or sgemm
    clf = build_classifier(input_dim=bench.input_dim, hidden=cfg.model.hidden, n_outputs=bench.n_outputs)
    vae = build_vae(input_dim=bench.input_dim, hidden=cfg.model.vae_hidden, latent=cfg.model.latent)
    n_eval_passes = 1 + len(result.curves) // bench.n_tasks  # untrained model + after every pass
    n_test = sum(len(t.y_test) for t in bench.tasks)
    replayed = sum(result.replay_sizes)
    work = {  # phase -> (samples processed, FLOPs)
        "classifier": (result.samples["classifier"], result.samples["classifier"] * train_flops(clf)),
        "generator": (result.samples["generator"], result.samples["generator"] * train_flops(vae)),
        "replay": (replayed, replayed * (forward_flops(vae.decoder) + forward_flops(clf))),
        "eval": (n_eval_passes * n_test, n_eval_passes * n_test * forward_flops(clf)),
    }
    total_s = result.times["total"]
    precision = cfg.precision
    out = {}
    for phase, (samples, flops) in work.items():
        s = result.times.get(phase, 0.0)
        gflops = flops / s / 1e9 if s > 0 else 0.0
        same, big, arithmetic = sgemm, limit, precision
        if phase == "eval" and fp32 is not None:
            (same, big), arithmetic = fp32, "fp32"
        out[phase] = {"seconds": s, "share_of_run": s / total_s, "samples": samples,
                      "samples_per_s": samples / s if s > 0 else 0.0, "flops": flops,
                      "gflops": gflops, "pct_of_sgemm": 100 * gflops / same,
                      "pct_of_sgemm_1024": 100 * gflops / big, "arithmetic": arithmetic}
    flops = sum(v[1] for v in work.values())
    gflops = flops / total_s / 1e9
    out["run"] = {"seconds": total_s, "share_of_run": 1.0, "samples": None, "samples_per_s": None, "flops": flops,
                  "gflops": gflops, "pct_of_sgemm": 100 * gflops / sgemm, "pct_of_sgemm_1024": 100 * gflops / limit,
                  "arithmetic": precision}
    return out


def check_config(cfg: RunConfig) -> None:
    """The FLOP counts below are the MLP's and the VAE's: other generators would be miscounted."""
    from .trainer import check_device

    check_device(cfg.device)
    if cfg.strategy != "generative" or cfg.model.generator != "vae" or cfg.replay.replay_mode != "per-task":
        raise ConfigError("gr-bench bench measures generative replay as the seed runs it "
                          "(generator=vae, replay_mode=per-task)")


def run_bench(cfg: RunConfig, bench, precisions: tuple[str, ...] = PRECISIONS) -> dict:
    """One generative run of `cfg` on `bench` at each of `precisions` (cfg's own precision first
    among them), each measured against this machine's gemm in its arithmetic.

    The top-level figures (sgemm_gflops, phases, ...) are those of cfg's precision, as before
    precisions existed; `by_precision` holds every precision's, and `bf16_speedup` the fp32 run's
    seconds over the bf16 run's, per phase, when both ran."""
    from .provenance import native_bf16
    from .trainer import run

    check_config(cfg)
    vae = build_vae(input_dim=bench.input_dim, hidden=cfg.model.vae_hidden, latent=cfg.model.latent)
    vae_batch = cfg.train.vae_batch_size or cfg.train.batch_size
    order = [cfg.precision, *(p for p in precisions if p != cfg.precision)]
    gemm = {p: (sgemm_gflops(linear_shapes(vae), vae_batch, device=cfg.device, precision=p),
                sgemm_gflops([(1024, 1024)], 1024, device=cfg.device, precision=p)) for p in order}
    by_precision = {}
    for p in order:
        c = dataclasses.replace(cfg, precision=p)
        result = run(c, bench)
        phases = phase_figures(result, c, bench, *gemm[p], fp32=gemm.get("fp32"))
        by_precision[p] = {
            "run_id": c.run_id(), "gemm_gflops": gemm[p][0], "gemm_1024_gflops": gemm[p][1],
            "native": True if p == "fp32" else native_bf16(cfg.device), "phases": phases,
            "final_avg_acc": result.metrics()["final_avg_acc"], "peak_rss_bytes": result.peak_rss_bytes,
        }
    own = by_precision[cfg.precision]
    phases = own["phases"]
    out = {
        "dataset": bench.dataset,
        "threads": cfg.threads,
        "device": cfg.device,
        "precision": cfg.precision,
        "batch_size": cfg.train.batch_size,
        "vae_batch_size": vae_batch,
        "sgemm_gflops": own["gemm_gflops"],
        "sgemm_1024_gflops": own["gemm_1024_gflops"],
        "gemm_1024_gflops": {p: v["gemm_1024_gflops"] for p, v in by_precision.items()},
        "phases": phases,
        "vae_train_pct_of_sgemm": phases["generator"]["pct_of_sgemm"],
        "run_pct_of_sgemm": phases["run"]["pct_of_sgemm"],
        "run_pct_of_sgemm_1024": phases["run"]["pct_of_sgemm_1024"],
        "final_avg_acc": own["final_avg_acc"],
        "peak_rss_bytes": own["peak_rss_bytes"],
        "by_precision": by_precision,
    }
    if {"fp32", "bf16"} <= set(by_precision):
        a, b = by_precision["fp32"]["phases"], by_precision["bf16"]["phases"]
        out["bf16_speedup"] = {k: a[k]["seconds"] / b[k]["seconds"] if b[k]["seconds"] > 0 else None for k in a}
    return out


def workers_setups(scratch: str | Path, dataset: str, trials: int = 4, device: str = "cpu",
                   precision: str = "fp32") -> dict:
    """The two small studies of the workers check: the same grid of `trials` equal generative
    trials (seeds 0..trials-1), with --workers 1 and --workers 2.

    Each lives in its own folder, scratch/w<workers>/, so each has its own run cache (a study on
    its default SQLite file keeps its runs in run_cache.db beside its folder: runcache.cache_url).
    In one shared folder the 2-worker study reused the runs the 1-worker study had just finished
    and timed cache reads (222.6 s against 4.95 s: a "speed-up" of 44.9x). Separate caches, not
    distinct seeds: the two studies then train exactly the same runs."""
    from .orchestration import Setup
    from .storage import default_url

    sets = (f"device={device}",) + ((f"precision={precision}",) if precision != "fp32" else ())
    out = {}
    for workers in (1, 2):
        name = f"bench-workers-{workers}"
        folder = Path(scratch) / f"w{workers}" / name
        out[workers] = Setup(study="bench_workers", study_name=name, storage_url=default_url(folder),
                             results_dir=str(folder), quick=False, dataset=dataset, seeds=tuple(range(trials)),
                             trials=trials, workers=workers, sets=sets)
    return out


def workers_speedup(results_dir: str, dataset: str, trials: int = 4, device: str = "cpu",
                    precision: str = "fp32") -> dict:
    """Wall time of the same grid of equal generative trials with --workers 1 and --workers 2 (on
    `device`: with cuda, the workers share one GPU), each study training every run itself (see
    workers_setups); the speed-up is wall(1) / wall(2) as measured. Its two small studies live in
    a temporary folder that is removed afterwards. `reused_runs` counts runs a study took from a
    run cache instead of training them: 0 unless something is wrong, and then no speed-up is given."""
    import shutil

    from .files import temp_dir
    from .orchestration import run_study

    walls, reused, trained = {}, {}, {}
    scratch = temp_dir(results_dir, ".bench-workers-")
    try:
        for workers, setup in workers_setups(scratch, dataset, trials, device, precision).items():
            os.makedirs(setup.results_dir, exist_ok=True)
            start = time.perf_counter()
            stages = run_study(setup)
            walls[workers] = time.perf_counter() - start
            done = [t for st in stages.values() for t in st.get_trials(deepcopy=False)]
            reused[workers] = sum(int(t.user_attrs.get("reused_runs", 0)) for t in done)
            trained[workers] = sum(1 for t in done if t.state.name == "COMPLETE") - reused[workers]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    honest = not any(reused.values())
    return {"trials": trials, "wall_1_worker_s": walls[1], "wall_2_workers_s": walls[2],
            "runs_trained": {str(k): v for k, v in trained.items()},
            "reused_runs": {str(k): v for k, v in reused.items()},
            "workers_speedup": walls[1] / walls[2] if honest else None}
