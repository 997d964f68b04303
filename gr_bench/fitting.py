"""One training pass and what it minimises: the trainer's steps 2 and 3 (trainer.py) for one model.

A task's training set is its new data plus the replay set, written once as float pixels
(:func:`training_set`); a model trains over it in passes (:func:`passes`: `epochs`, or `iters` steps
with the last pass cut short), each one seeded random order of batches (:func:`fit_epoch`, with a
:class:`Fit`: the model, its loss, optimizer, lr schedule, batch size and precision context). The
losses: the classifier's cross-entropy or distillation, within each task's head in the task scenario
(:func:`classifier_loss`), the generator's own (:func:`generator_loss`), and in per-batch replay mode
either one weighed against a fresh replay batch at every step (:class:`FreshReplay`). A NaN or
infinite loss or weight ends the run as failed (:class:`NonFiniteLoss`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .data import Task
from .models import head_log_softmax
from .strategies import ReplaySet
from .strategies.base import to_float

MASKED = -1e9  # logit for outputs outside a sample's task (finite, so 0 * logit stays 0)


class NonFiniteLoss(RuntimeError):
    """A loss became NaN or infinite: the run ends as `failed` with this message as reason."""


@dataclass(frozen=True)
class Fit:
    """What trains one model through a task's passes: the model, the loss it minimises (called as
    loss(model, *batch)), its optimizer and lr schedule (or None), the batch size, and the context its
    forward pass runs in (precision: autocast, or nothing)."""

    model: nn.Module
    loss: Callable
    opt: Any
    batch_size: int
    scheduler: Any = None
    autocast: Callable[[], AbstractContextManager] = nullcontext


def fit_epoch(fit: Fit, tensors: tuple, rng: torch.Generator, where: str, max_steps: int | None = None) -> int:
    """One pass of `fit` over `tensors` (first dimension = samples) in a seeded random order, or its
    first `max_steps` batches; returns the number of samples seen. The forward pass (and so the
    backward pass autograd records from it) runs inside `fit.autocast()`. `where` names the pass in
    the message of a NonFiniteLoss."""
    n, batch_size = tensors[0].shape[0], fit.batch_size
    order = torch.randperm(n, generator=rng).to(tensors[0].device)
    total = torch.zeros((), device=tensors[0].device)
    stop = n if max_steps is None else min(n, max_steps * batch_size)
    for i in range(0, stop, batch_size):
        idx = order[i : i + batch_size]
        with fit.autocast():
            loss = fit.loss(fit.model, *(t[idx] if t is not None else None for t in tensors))
        fit.opt.zero_grad(set_to_none=True)
        loss.backward()
        fit.opt.step()
        if fit.scheduler is not None:
            fit.scheduler.step()
        total += loss.detach()
    # One check per pass (a NaN propagates into the sum): a sync per batch would cost time.
    value = float(total)
    if not math.isfinite(value):
        raise NonFiniteLoss(f"{where}: loss is {value}")
    return stop


def passes(n: int, batch_size: int, epochs: int, iters: int | None) -> list[int]:
    """Steps of each pass over n samples: `epochs` full passes, or `iters` steps with the last pass
    cut short where they run out."""
    per_pass = math.ceil(n / batch_size)
    if iters is None:
        return [per_pass] * epochs
    return [per_pass] * (iters // per_pass) + ([iters % per_pass] if iters % per_pass else [])


def check_finite(model: nn.Module, where: str) -> None:
    """Once per task: an infinite gradient in an epoch's last batch leaves a finite loss but
    non-finite weights, which the per-epoch loss check cannot see."""
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise NonFiniteLoss(f"{where}: parameters are not finite")


def classifier_loss(heads: torch.Tensor | None, active: torch.Tensor | None = None):
    """Cross-entropy on hard labels, or distillation on soft targets at per-sample temperature;
    plus the per-pixel negative ELBO when the classifier is also the generator (RtF).
    heads (task scenario): bool (tasks, outputs), each task's head. Every output is normalised within
    its own head (models.head_log_softmax): a hard label is scored among its task's classes only, and
    a soft target may cover several heads - generative replay labels each sample under every earlier
    task's head (strategies/generative.py) - and then costs the mean over those heads of each head's
    cross-entropy, as van de Ven & Tolias average the replay loss over the earlier tasks.
    active: the outputs that compete at all (class scenario, active_outputs=seen), the same for every
    sample of the task."""

    def loss(model, x, y, soft, tau):
        elbo = None
        if getattr(model, "feedback", False):
            logits, elbo = model.logits_and_elbo(x)
        else:
            logits = model(x)
        logits = logits.float()  # the loss is reduced in fp32 (a no-op unless under bf16 autocast)
        if active is not None:
            logits = logits.masked_fill(~active, MASKED)
        if soft is None:
            ce = F.cross_entropy(logits, y) if heads is None else F.nll_loss(head_log_softmax(logits, heads), y)
        else:
            # Hinton et al.: soft cross-entropy at temperature tau, scaled by tau^2 so its gradients
            # match the hard loss's size; real samples have one-hot targets and tau = 1.
            scaled = logits / tau[:, None]
            logp = F.log_softmax(scaled, dim=1) if heads is None else head_log_softmax(scaled, heads)
            ce = -(soft * logp).sum(1) * tau.pow(2)
            if heads is not None:  # each head's slice of a target sums to 1: its sum counts the heads
                ce = ce / soft.sum(1)
            ce = ce.mean()
        return ce if elbo is None else ce + elbo

    return loss


def generator_loss(model, x, y):
    return model.loss(x, y)  # y conditions a class-conditional VAE; the seed's VAE ignores it


class FreshReplay:
    """Per-batch replay: each step also draws a fresh replay batch of the current batch's size;
    loss = weight * current + (1 - weight) * replay, with weight = 1/t on the t-th task.
    `drawn` counts the replayed samples drawn so far."""

    def __init__(self, loss_fn: Callable, draw: Callable[[int], ReplaySet | None], weight: float,
                 timer: Callable[[str], AbstractContextManager], generator: bool = False) -> None:
        self.loss_fn, self.draw, self.weight, self.timer, self.generator = loss_fn, draw, weight, timer, generator
        self.drawn = 0

    def __call__(self, model, x, *rest):
        current = self.loss_fn(model, x, *rest)
        with self.timer("replay"):
            r = self.draw(len(x))
        if r is None:
            return current
        self.drawn += len(r)
        rx, ry = r.x.to(x.device), None if r.y is None else r.y.to(x.device)
        if self.generator:
            replayed = self.loss_fn(model, rx, ry)
        else:
            replayed = self.loss_fn(model, rx, ry, None if r.soft is None else r.soft.to(x.device),
                                    None if r.soft is None else r.tau().to(x.device))
        return self.weight * current + (1 - self.weight) * replayed


def drawn(loss: Callable) -> int:
    """Replayed samples a task's loss drew per batch (0 unless per-batch replay)."""
    return loss.drawn if isinstance(loss, FreshReplay) else 0


def training_set(task: Task, replay: ReplaySet | None, n_outputs: int, device: torch.device):
    """New task data plus replay as (x, y, soft, tau); soft/tau are None unless replay is soft.

    The float pixels are written once into one tensor (the uint8 images converted in place, then
    the replay after them) rather than converted and then concatenated: on Fashion-MNIST that
    saved a transient copy of the whole training set from the run's peak memory."""
    y = task.y_train
    if replay is None or len(replay) == 0:
        return to_float(task.x_train).to(device), y.to(device), None, None
    n = len(y)
    x = torch.empty(n + len(replay), task.x_train.shape[1])
    x[:n].copy_(task.x_train).div_(255.0)  # the same values as to_float
    x[n:].copy_(replay.x)
    soft = tau = None
    if replay.soft is not None:
        soft = torch.cat([F.one_hot(y, n_outputs).float(), replay.soft.cpu()])
        tau = torch.cat([torch.ones(len(y)), torch.full((len(replay),), replay.temperature)])
        soft, tau = soft.to(device), tau.to(device)
    y = torch.cat([y, replay.y.cpu()])
    return x.to(device), y.to(device), soft, tau
