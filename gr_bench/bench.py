"""How close does a generative-replay run come to the CPU's arithmetic limit?

The figures come from a real run of the trainer (no separate benchmark loop): the run records
samples per phase and seconds per phase; FLOPs follow from the models' layer shapes; each
phase's GFLOP/s is set beside the single-thread sgemm rate of the same machine, measured in the
same process on the same matrix shapes (torch.mm of the VAE's layers at the VAE's batch size).

FLOPs per sample for a stack of Linear layers (in_i -> out_i), multiply-add = 2 FLOPs:
  forward   F = sum 2 * in_i * out_i
  training  3F - 2 * in_0 * out_0   (forward, weight gradients, input gradients except the first
                                     layer's, whose input is data and needs none)
Element-wise work (activations, losses, the optimizer) is not counted: it is overhead to shrink.
"""

from __future__ import annotations

import os
import time

import torch

from .config import ConfigError, RunConfig
from .models import build_classifier, build_vae, forward_flops, linear_shapes, train_flops


def sgemm_gflops(shapes: list[tuple[int, int]], batch: int, seconds: float = 0.25, device: str = "cpu") -> float:
    """Achieved GFLOP/s of torch.mm on (batch x in) @ (in x out) for each shape: single-thread on
    the CPU, on the GPU when `device` is cuda (synchronised, so queued kernels are counted)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    try:
        flops = elapsed = 0.0
        for i, o in shapes:
            a, w = torch.randn(batch, i, device=device), torch.randn(i, o, device=device)
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


def phase_figures(result, cfg: RunConfig, bench, sgemm: float, sgemm_1024: float | None = None) -> dict[str, dict]:
    """Samples/s, GFLOP/s, % of same-shape sgemm and % of the 1024^3 sgemm (the machine's
    single-thread limit) for each phase of a finished run."""
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
    out = {}
    for phase, (samples, flops) in work.items():
        s = result.times.get(phase, 0.0)
        gflops = flops / s / 1e9 if s > 0 else 0.0
        out[phase] = {"seconds": s, "share_of_run": s / total_s, "samples": samples,
                      "samples_per_s": samples / s if s > 0 else 0.0, "flops": flops,
                      "gflops": gflops, "pct_of_sgemm": 100 * gflops / sgemm,
                      "pct_of_sgemm_1024": 100 * gflops / limit}
    flops = sum(v[1] for v in work.values())
    gflops = flops / total_s / 1e9
    out["run"] = {"seconds": total_s, "share_of_run": 1.0, "samples": None, "samples_per_s": None, "flops": flops,
                  "gflops": gflops, "pct_of_sgemm": 100 * gflops / sgemm, "pct_of_sgemm_1024": 100 * gflops / limit}
    return out


def check_config(cfg: RunConfig) -> None:
    """The FLOP counts below are the MLP's and the VAE's: other generators would be miscounted."""
    from .trainer import check_device

    check_device(cfg.device)
    if cfg.strategy != "generative" or cfg.model.generator != "vae" or cfg.replay.replay_mode != "per-task":
        raise ConfigError("gr-bench bench measures generative replay as the seed runs it "
                          "(generator=vae, replay_mode=per-task)")


def run_bench(cfg: RunConfig, bench) -> dict:
    """One generative run of `cfg` on `bench`, measured against this machine's sgemm."""
    from .trainer import run

    check_config(cfg)
    vae = build_vae(input_dim=bench.input_dim, hidden=cfg.model.vae_hidden, latent=cfg.model.latent)
    vae_batch = cfg.train.vae_batch_size or cfg.train.batch_size
    sgemm = sgemm_gflops(linear_shapes(vae), vae_batch, device=cfg.device)
    big = sgemm_gflops([(1024, 1024)], 1024, device=cfg.device)
    result = run(cfg, bench)
    phases = phase_figures(result, cfg, bench, sgemm, big)
    return {
        "dataset": bench.dataset,
        "threads": cfg.threads,
        "device": cfg.device,
        "batch_size": cfg.train.batch_size,
        "vae_batch_size": vae_batch,
        "sgemm_gflops": sgemm,
        "sgemm_1024_gflops": big,
        "phases": phases,
        "vae_train_pct_of_sgemm": phases["generator"]["pct_of_sgemm"],
        "run_pct_of_sgemm": phases["run"]["pct_of_sgemm"],
        "run_pct_of_sgemm_1024": phases["run"]["pct_of_sgemm_1024"],
        "final_avg_acc": result.metrics()["final_avg_acc"],
        "peak_rss_bytes": result.peak_rss_bytes,
    }


def workers_speedup(results_dir: str, dataset: str, trials: int = 4, device: str = "cpu") -> dict:
    """Wall time of the same grid of equal generative trials with --workers 1 and --workers 2 (on
    `device`: with cuda, the workers share one GPU). Its two small studies live in a temporary
    folder that is removed afterwards."""
    import shutil

    from .files import temp_dir
    from .storage import default_url
    from .study import Setup, run_study

    walls = {}
    scratch = temp_dir(results_dir, ".bench-workers-")
    try:
        for workers in (1, 2):
            name = f"bench-workers-{workers}"
            folder = scratch / name
            os.makedirs(folder, exist_ok=True)
            setup = Setup(study="bench_workers", study_name=name, storage_url=default_url(folder),
                          results_dir=str(folder), quick=False, dataset=dataset, seeds=tuple(range(trials)),
                          trials=trials, workers=workers, sets=(f"device={device}",))
            start = time.perf_counter()
            run_study(setup)
            walls[workers] = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"trials": trials, "wall_1_worker_s": walls[1], "wall_2_workers_s": walls[2],
            "workers_speedup": walls[1] / walls[2]}
