"""The small interface between the trainer and a replay strategy.

The trainer owns the classifier, optimizers, epochs, timing and evaluation. A strategy only
(1) supplies replay: a set before each task (per-task mode) or fresh samples at each training
step (per-batch mode), (2) updates its memory after each task, and (3) says how many bytes that
memory takes. A strategy whose ``generator`` is an nn.Module has it trained by the trainer on the
same data as the classifier (new task plus replay), as in the seed report; a generator fitted in
closed form is fitted by ``fit_generator``.

What the trainer and the reports need to know of a strategy is a class attribute (``stores_samples``,
``replays_generated``), never its name: a plug-in that sets them gets the built-ins' treatment (the
bytes it is matched against, its kind on the accuracy-memory plane).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from ..data import Task


@dataclass(frozen=True, eq=False)
class ReplaySet:
    x: torch.Tensor  # float32 pixels in [0, 1], (N, D)
    y: torch.Tensor | None  # int64 hard targets, (N,); None when drawn unlabelled (nothing reads them)
    # (N, n_outputs) target distribution at `temperature`, or None; in the task scenario, one
    # distribution per head a sample is replayed under (each head's slice sums to 1)
    soft: torch.Tensor | None = None
    temperature: float = 1.0

    def __len__(self) -> int:
        return self.x.shape[0]

    def tau(self) -> torch.Tensor | None:
        """Per-sample temperatures for the distillation loss (None for hard labels)."""
        return None if self.soft is None else torch.full((len(self),), self.temperature, device=self.x.device)


class Strategy(Protocol):
    name: str
    # a models.Generator or None: one trained by gradient is trained by the trainer alongside the
    # classifier, one fitted in closed form is fitted by fit_generator
    generator: object | None
    stores_samples: bool  # NoMemory says what each attribute means
    replays_generated: bool

    def replay(self, task: Task, rng: torch.Generator) -> ReplaySet | None:
        """The replay set to mix into task ``task``'s training data (None for no replay)."""

    def fresh_replay(self, n: int, rng: torch.Generator, labels: bool = True) -> ReplaySet | None:
        """Per-batch mode: n replay samples for one training step (None when nothing to replay).
        labels=False: the caller reads no labels (an unconditional generator's training), so a
        strategy that would compute them (an old classifier's forward pass) may leave y None; the
        random draws must be the same either way."""

    def fit_generator(self, task: Task, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator) -> None:
        """Fit a closed-form generator on the task's training data (float pixels, labels)."""

    def after_task(self, task: Task, classifier: nn.Module, rng: torch.Generator) -> None:
        """Update the memory once task ``task`` has been trained."""

    def sample_flops(self, labelled: bool = True) -> int:
        """Matmul FLOPs to produce one replayed sample (0: replay is stored data); labelled=False:
        one drawn with fresh_replay(labels=False)."""
        return 0

    def memory_bytes(self) -> int:
        """Bytes kept between tasks (buffer images as uint8, or frozen model parameters)."""


class NoMemory:
    """Defaults for every method and attribute: no replay, nothing kept (the `none` strategy as it is).
    Built with the run's (cfg, bench), which it reads neither of."""

    generator = None
    # A memory with a budget, compared with others at equal bytes: a run records beside its
    # memory_bytes the bytes generative replay would keep with its config (generator_bytes), and the
    # reports plot it as a buffer or as generative replay. None and joint have no budget: references.
    stores_samples = False  # replays real training images kept within a budget (a buffer)
    replays_generated = False  # replays what a generator draws (generative replay)

    def __init__(self, cfg=None, bench=None) -> None:
        pass

    def replay(self, task, rng):
        return None

    def fresh_replay(self, n, rng, labels=True):
        return None

    def fit_generator(self, task, x, y, rng):
        pass

    def after_task(self, task, classifier, rng):
        pass

    def sample_flops(self, labelled: bool = True) -> int:
        """Matmul FLOPs to produce one replayed sample (0: replay is stored data)."""
        return 0

    def memory_bytes(self) -> int:
        return 0


def keeps_memory(strategy) -> bool:
    """Whether a strategy (its class or an instance) keeps a memory with a budget: stored samples or a
    generator (NoMemory's attributes; a plug-in that sets neither, or does not subclass it, keeps none)."""
    return bool(getattr(strategy, "stores_samples", False) or getattr(strategy, "replays_generated", False))


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1] (done once per task, never per batch)."""
    return x_uint8.to(torch.float32).div_(255.0)
