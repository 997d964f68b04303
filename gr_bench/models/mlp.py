"""The classifier: a plain ReLU MLP (the seed's 784-50-50-50-10 has 44,860 parameters)."""

from __future__ import annotations

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
