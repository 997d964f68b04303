"""Joint training: every task is trained together with all earlier tasks' real data (upper bound)."""

from __future__ import annotations

import torch

from .base import NoMemory, ReplaySet, to_float


class Joint(NoMemory):
    name = "joint"  # keeps every image it has seen: a reference without a budget, so stores_samples stays False

    def __init__(self, cfg=None, bench=None) -> None:
        self.x: list[torch.Tensor] = []  # uint8 images of every task seen so far
        self.y: list[torch.Tensor] = []

    def replay(self, task, rng):
        if not self.x:
            return None
        return ReplaySet(to_float(torch.cat(self.x)), torch.cat(self.y))

    def after_task(self, task, classifier, rng):
        self.x.append(task.x_train)
        self.y.append(task.y_train.to(torch.uint8))

    def memory_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.x + self.y)
