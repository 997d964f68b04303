"""Generative replay, the seed report's method (Shin et al. 2017 style), with any generator.

Before task t > 0 (per-task mode), or at every training step (per-batch mode), the generator as it
was after task t-1 draws replay samples. Their labels come from the classifier as it was after
task t-1 - hard (argmax over the outputs seen so far) or soft (its softmax at a temperature, for
distillation) - or, for a conditional generator (cvae, gmm), from the class the generator drew
each sample for, in which case no old classifier is kept. In the task scenario the old classifier
labels each sample once per earlier task, within that task's head (argmax or softmax there), and
the sample is trained under all of those heads (van de Ven & Tolias 2019); in the domain scenario
the outputs are shared by every task, so "seen" is all of them from the first task on. The trainer
trains the classifier and the generator on the new task's data plus that replay.

Generators (see models/, the registry): vae (the seed's), cvae, gmm (fitted in closed form, never
forgets its old classes), rtf (the classifier itself generates; one model is trained and kept), or a
plugin: anything that follows models.base.Generator.
Memory kept between tasks: the frozen generator's size plus the frozen classifier's, if kept.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..models import (
    Generator,
    build_generator,
    check_generator,
    forward_flops,
    head_log_softmax,
    param_bytes,
    replay_labels,
    uses_feedback,
)
from ..schedule import parse_schedule
from .base import NoMemory, ReplaySet


def _frozen(model):
    old = copy.deepcopy(model)
    if isinstance(old, nn.Module):
        old.eval()
        for p in old.parameters():
            p.requires_grad_(False)
    return old


def _bytes(model) -> int:
    if model is None:
        return 0
    return model.memory_bytes() if isinstance(model, Generator) else param_bytes(model)


class GenerativeReplay(NoMemory):
    name = "generative"
    replays_generated = True

    def __init__(self, cfg, bench) -> None:
        check_generator(cfg, input_dim=bench.input_dim, n_outputs=bench.n_outputs)  # a plugin: smoke-checked once
        self.feedback = uses_feedback(cfg)
        self.generator = build_generator(cfg, input_dim=bench.input_dim, n_outputs=bench.n_outputs)
        self.schedule = parse_schedule(cfg.replay.schedule)
        self.per_batch = cfg.replay.replay_mode == "per-batch"
        self.labels = replay_labels(cfg)
        self.temperature = cfg.replay.temperature
        self.task_masks = bench.task_masks()  # (tasks, outputs) bool
        self.multi_head = bench.scenario == "task"  # one head per task: replay labelled under each (_under_every_head)
        self.seen = torch.zeros(bench.n_outputs, dtype=torch.bool)
        self.old_generator = None
        self.old_classifier: nn.Module | None = None

    def replay(self, task, rng):
        """Per-task mode: the replay set for `task`, sized by the schedule."""
        if self.per_batch:
            return None
        return self._draw(self.schedule(task.index, len(task.y_train)), rng)

    def fresh_replay(self, n, rng, labels=True):
        """Per-batch mode: n fresh samples for one training step (None before the second task).
        labels=False (the unconditional VAE's own training batch): no old-classifier labelling."""
        return self._draw(n, rng, labels) if self.per_batch else None

    def _draw(self, n: int, rng, labels: bool = True) -> ReplaySet | None:
        if self.old_generator is None or n == 0:
            return None
        # The same random draws either way: labelling by the old classifier draws nothing.
        if not self.old_generator.closed_form:  # decoded under the run's precision (autocast)
            x, y = self.old_generator.sample(n, rng, self.seen)
        else:  # closed form (gmm): precision does not apply to it, its draws stay fp32
            with torch.autocast("cpu", enabled=False):
                x, y = self.old_generator.sample(n, rng, self.seen)
        if self.labels == "generator":
            return ReplaySet(x, y.to(x.device))
        if not labels:  # nothing reads them: skip the old classifier's forward pass
            return ReplaySet(x, None)
        with torch.no_grad():
            # fp32 logits (bf16 under autocast) before the argmax and the softmax
            logits = torch.cat([self.old_classifier(x[i : i + 4096]).float() for i in range(0, n, 4096)])
            if self.multi_head:
                return self._under_every_head(x, logits)
            logits = logits.masked_fill(~self.seen.to(logits.device), float("-inf"))
            y = logits.argmax(1)
            soft = torch.softmax(logits / self.temperature, dim=1) if self.labels == "soft" else None
        return ReplaySet(x, y, soft, self.temperature if soft is not None else 1.0)

    def _under_every_head(self, x: torch.Tensor, logits: torch.Tensor) -> ReplaySet:
        """Task scenario: each sample is replayed under the head of every task seen so far, as van de
        Ven & Tolias's train_cl does (a generated digit has no task of its own, and each earlier head
        must keep answering for it): its target holds, in each seen head's outputs, that head's
        one-hot argmax (hard) or its softmax at the temperature (soft), and nothing elsewhere; the
        trainer's loss averages over those heads. y, the argmax over every seen output, is kept for
        whatever reads one label (a conditional generator's training)."""
        heads, seen = self.task_masks.to(logits.device), self.seen.to(logits.device)
        y = logits.masked_fill(~seen, float("-inf")).argmax(1)
        if self.labels == "soft":
            p = head_log_softmax(logits / self.temperature, heads).exp()
            return ReplaySet(x, y, p * seen, self.temperature)
        order = heads.nonzero()[:, 1].view(len(heads), -1)  # (tasks, outputs per task): each head's outputs
        best = order[torch.arange(len(heads), device=logits.device), logits[:, order].argmax(-1)]  # (n, tasks)
        target = torch.zeros_like(logits).scatter_(1, best[:, self.seen_heads().to(logits.device)], 1.0)
        return ReplaySet(x, y, target, 1.0)  # one-hot at each seen head's argmax; temperature 1: plain cross-entropy

    def seen_heads(self) -> torch.Tensor:
        """bool (tasks,): the tasks whose outputs have all been trained (task scenario: those before the current)."""
        return ~(self.task_masks & ~self.seen).any(1)

    def fit_generator(self, task, x, y, rng) -> None:
        """Closed-form generators (gmm) fit the new task's classes; gradient ones are trained by the trainer."""
        if self.generator is not None and self.generator.closed_form:
            self.generator.fit(x, y, rng)

    def after_task(self, task, classifier, rng):
        self.old_generator = _frozen(classifier if self.feedback else self.generator)
        # RtF labels with its own head; the generator's labels need no classifier at all.
        self.old_classifier = self.old_generator if self.feedback else (
            None if self.labels == "generator" else _frozen(classifier))
        self.seen |= self.task_masks[task.index]

    def sample_flops(self, labelled: bool = True) -> int:
        """Drawing one sample (Generator.sample_flops: a VAE's decoder; gmm: mapping a PCA draw back
        to pixels), plus labelling it with the old classifier where one labels (rtf: its own encoder
        and head, Generator.label_flops); labelled=False: a sample drawn with
        fresh_replay(labels=False), which the old classifier does not label."""
        gen = self.old_generator if self.old_generator is not None else self.generator
        if gen is None:
            return 0
        flops = gen.sample_flops()
        if not labelled and self.labels != "generator":
            return flops
        if self.feedback:
            flops += gen.label_flops()
        elif self.old_classifier is not None:
            flops += forward_flops(self.old_classifier)
        return flops

    def memory_bytes(self) -> int:
        if self.old_generator is None:
            return 0
        if self.feedback:
            return _bytes(self.old_generator)
        return _bytes(self.old_generator) + _bytes(self.old_classifier)
