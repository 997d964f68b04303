"""Seconds per VAE training step at fp32 and bf16, through the trainer's own generator-phase code
(trainer._fit_epoch with the generator loss, the package's Adam and trainer.precision_context).

    taskset -c 1 .venv/bin/python benchmarks/precision_step.py [--rounds 5] [--steps 40]

One thread. Rounds alternate fp32 and bf16 so that load from other jobs falls on both; the figure
per precision is the median over rounds of (pass seconds / steps). It times speed only: whether
bf16 training gives equivalent accuracy is a study's question.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gr_bench.data import load_dataset
from gr_bench.models import build_vae
from gr_bench.optim import make_optimizer
from gr_bench.provenance import cpu_model, native_bf16
from gr_bench.trainer import _fit_epoch, _generator_loss, precision_context

MODELS = {  # name -> (encoder widths, latent, batch)
    "report VAE 784-512-256-z2, batch 64": ((512, 256), 2, 64),
    "van de Ven VAE 784-400-400-z100, batch 128": ((400, 400), 100, 128),
}


def step_seconds(hidden, latent, batch, x, precision, rounds, steps) -> list[float]:
    torch.manual_seed(0)
    vae = build_vae(input_dim=x.shape[1], hidden=hidden, latent=latent)
    opt = make_optimizer("adam", vae, 1e-3)
    rng = torch.Generator().manual_seed(0)
    autocast = precision_context(precision, torch.device("cpu"))
    _fit_epoch(vae, _generator_loss, (x, None), opt, rng, batch, "warm-up", max_steps=10, autocast=autocast)
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        _fit_epoch(vae, _generator_loss, (x, None), opt, rng, batch, "timed", max_steps=steps, autocast=autocast)
        out.append((time.perf_counter() - start) / steps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args()
    torch.set_num_threads(1)
    x = load_dataset("mnist-5k").x_train.float().div_(255.0)
    print(f"{cpu_model()}; torch {torch.__version__}; native bf16: {native_bf16('cpu')}; 1 thread")
    for name, (hidden, latent, batch) in MODELS.items():
        times: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for _ in range(args.rounds):  # alternate, one round each at a time
            for p in times:
                times[p] += step_seconds(hidden, latent, batch, x, p, 1, args.steps)
        fp32, bf16 = statistics.median(times["fp32"]), statistics.median(times["bf16"])
        print(f"{name}: fp32 {1e3 * fp32:.2f} ms/step, bf16 {1e3 * bf16:.2f} ms/step, "
              f"fp32/bf16 {fp32 / bf16:.2f}x  (rounds fp32 {[round(1e3 * t, 2) for t in times['fp32']]}, "
              f"bf16 {[round(1e3 * t, 2) for t in times['bf16']]})")


if __name__ == "__main__":
    main()
