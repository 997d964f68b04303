"""The small interface between the trainer and a replay strategy.

The trainer owns the classifier, optimizers, epochs, timing and evaluation. A strategy only
(1) supplies a replay set before each task, (2) updates its memory after each task, and
(3) says how many bytes that memory takes. A strategy with a ``generator`` has it trained by the
trainer on the same data as the classifier (new task plus replay), as in the seed report.
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
    y: torch.Tensor  # int64 hard targets, (N,)
    soft: torch.Tensor | None = None  # (N, n_outputs) target distribution at `temperature`, or None
    temperature: float = 1.0

    def __len__(self) -> int:
        return self.x.shape[0]


class Strategy(Protocol):
    name: str
    generator: nn.Module | None  # trained by the trainer alongside the classifier when set

    def replay(self, task: Task, rng: torch.Generator) -> ReplaySet | None:
        """The replay set to mix into task ``task``'s training data (None for no replay)."""

    def after_task(self, task: Task, classifier: nn.Module, rng: torch.Generator) -> None:
        """Update the memory once task ``task`` has been trained."""

    def memory_bytes(self) -> int:
        """Bytes kept between tasks (buffer images as uint8, or frozen model parameters)."""


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1] (done once per task, never per batch)."""
    return x_uint8.to(torch.float32).div_(255.0)
