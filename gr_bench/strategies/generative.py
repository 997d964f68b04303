"""Generative replay, the seed report's method (Shin et al. 2017 style, with a VAE).

Before task t > 0, the VAE as it was after task t-1 generates a replay set (its size from the
replay schedule), and the classifier as it was after task t-1 labels it: hard labels (argmax over
the outputs seen so far) or soft labels (its softmax at a temperature, for distillation). Then the
trainer trains both the classifier and the VAE on the new task's data plus that replay set.
Memory kept between tasks: the generator's and the frozen old classifier's parameters.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..models import build_vae, param_bytes
from ..schedule import parse_schedule
from .base import ReplaySet


def _frozen(model: nn.Module) -> nn.Module:
    old = copy.deepcopy(model).eval()
    for p in old.parameters():
        p.requires_grad_(False)
    return old


class GenerativeReplay:
    name = "generative"

    def __init__(self, cfg, bench) -> None:
        m = cfg.model
        self.generator = build_vae(input_dim=bench.input_dim, hidden=m.vae_hidden, latent=m.latent)
        self.schedule = parse_schedule(cfg.replay.schedule)
        self.soft = cfg.replay.labels == "soft"
        self.temperature = cfg.replay.temperature
        self.task_masks = bench.task_masks()  # (tasks, outputs) bool
        self.restrict_to_task = bench.scenario == "task"
        self.seen = torch.zeros(bench.n_outputs, dtype=torch.bool)
        self.old_generator: nn.Module | None = None
        self.old_classifier: nn.Module | None = None

    def replay(self, task, rng):
        n = self.schedule(task.index, len(task.y_train))
        if self.old_generator is None or n == 0:
            return None
        x = self.old_generator.sample(n, rng)
        with torch.no_grad():
            logits = torch.cat([self.old_classifier(x[i : i + 4096]) for i in range(0, n, 4096)])
            logits = logits.masked_fill(~self.seen.to(logits.device), float("-inf"))
            y = logits.argmax(1)
            soft = None
            if self.soft:
                if self.restrict_to_task:  # distil within the task the hard label belongs to
                    owner = self.task_masks[:, y.cpu()].float().argmax(0)
                    logits = logits.masked_fill(~self.task_masks[owner].to(logits.device), float("-inf"))
                soft = torch.softmax(logits / self.temperature, dim=1)
        return ReplaySet(x, y, soft, self.temperature if self.soft else 1.0)

    def after_task(self, task, classifier, rng):
        self.old_generator = _frozen(self.generator)
        self.old_classifier = _frozen(classifier)
        self.seen |= self.task_masks[task.index]

    def memory_bytes(self) -> int:
        if self.old_classifier is None:
            return 0
        return param_bytes(self.old_generator) + param_bytes(self.old_classifier)
