"""The classifier: a plain ReLU MLP (the seed's 784-50-50-50-10 has 44,860 parameters).

In the task-incremental scenario its one output layer is read as a multi-headed one (van de Ven &
Tolias 2019): the units of each task's classes form that task's head, and a sample is only ever
scored among the units of the head it is trained or evaluated under (head_log_softmax).
"""

from __future__ import annotations

import torch
from torch import nn


def mlp(sizes: tuple[int, ...] | list[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_classifier(*, input_dim: int, hidden: tuple[int, ...], n_outputs: int) -> nn.Sequential:
    return mlp((input_dim, *hidden, n_outputs))


def head_log_softmax(logits: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
    """Log-softmax of every output within its own head: `heads` is bool (n_heads, n_outputs), each
    output in exactly one head and every head of the same size (data.SplitBenchmark.task_masks in
    the task scenario). Row i, output k: log p(k | x_i, head of k), so each head's slice is a
    distribution of its own and a target may put mass on several heads at once (replay labelled
    under every earlier task's head). One gather, one log-softmax, one gather back: a loop over the
    heads cost a masked log-sum-exp per head and step."""
    order = heads.nonzero()[:, 1]  # the outputs, head by head
    grouped = logits[:, order].view(len(logits), len(heads), -1).log_softmax(-1)
    return grouped.view(len(logits), -1)[:, torch.argsort(order)]
