"""The generator protocol: what the trainer, generative replay and the accounting ask of a generator.

Every entry of the generator registry (models/__init__.py: vae, cvae, gmm, rtf) and every plugin
subclasses :class:`Generator`. A generator is either

- trained by gradient (``closed_form = False``): a ``torch.nn.Module`` whose :meth:`Generator.loss`
  the trainer minimises on each task's data (new images plus replay), with its own optimizer; or
- fitted in closed form (``closed_form = True``): :meth:`Generator.fit` once per task, on the task's
  own images and labels; its fits' matmul FLOPs accumulate in ``flops``.

After each task generative replay keeps a frozen copy (``copy.deepcopy``) that draws the next
tasks' replay with :meth:`Generator.sample`, labelled by the frozen old classifier, or for a
``conditional`` generator by the class it drew each sample for. What it keeps between tasks is
:meth:`Generator.memory_bytes`; a buffer matched to it (``buffer_bytes=match-generator``) holds
:meth:`Generator.planned_bytes` before any training. FLOPs are matmul FLOPs (multiply-add = 2), as
for every model here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import nn


def linear_shapes(model) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def forward_flops(model) -> int:
    """Matmul FLOPs of one sample's forward pass (multiply-add = 2)."""
    return sum(2 * i * o for i, o in linear_shapes(model))


def train_flops(model) -> int:
    """Forward, weight gradients and input gradients, except the first layer's (its input is data):
    3F - 2 * in_0 * out_0 per training sample. Element-wise work is not counted."""
    shapes = linear_shapes(model)
    if not shapes:
        return 0
    i0, o0 = shapes[0]  # the first Linear registered consumes the data
    return 3 * forward_flops(model) - 2 * i0 * o0


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def param_bytes(model) -> int:
    """Bytes of the parameters as stored (float32: 4 bytes each)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


class Generator(ABC):
    """A generator for generative replay. Subclass it (and ``torch.nn.Module`` when trained by
    gradient); implement :meth:`build` and :meth:`sample`, and :meth:`loss` or :meth:`fit`. The other
    methods have defaults that are right for an MLP-like ``nn.Module``; override them otherwise."""

    closed_form: ClassVar[bool] = False  # True: fitted by fit() once per task; False: an nn.Module trained on loss()
    conditional: ClassVar[bool] = False  # sample() draws each sample for a class it chooses and returns those labels
    # The classifier itself is the generator (replay-through-feedback): build() makes the classifier,
    # which returns class logits from forward() and (logits, loss) from logits_and_elbo().
    feedback: ClassVar[bool] = False
    flops: int = 0  # closed form: matmul FLOPs of every fit() so far (the trainer adds them to flops_train)

    @classmethod
    @abstractmethod
    def build(cls, cfg, *, input_dim: int, n_outputs: int) -> Generator:
        """A fresh generator for a run of `cfg` (a RunConfig: read its model section, or nothing) on
        images of `input_dim` pixels in [0, 1] with `n_outputs` classes."""

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator,
               seen: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n samples drawn with the random stream `generator` (every random draw from it, so a seed
        fixes them): float32 pixels in [0, 1], (n, input_dim), on the generator's device; and int64
        labels (n,) among the `seen` classes (a bool mask over the outputs) when conditional, else None."""

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Trained by gradient: the scalar loss of a batch (float pixels (B, input_dim) and their int64
        labels, or None when replay was drawn unlabelled) that the trainer minimises."""
        raise NotImplementedError(f"{type(self).__name__} is trained by gradient: it must define loss(x, y)")

    def fit(self, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator) -> None:
        """Closed form: fit one task's training images (float32 (N, input_dim) in [0, 1]) and labels
        (int64 (N,)), drawing any randomness from `rng`; add the fit's matmul FLOPs to ``self.flops``."""
        raise NotImplementedError(f"{type(self).__name__} is fitted in closed form: it must define fit(x, y, rng)")

    @property
    def reads_labels(self) -> bool:
        """Whether training reads the labels of its batches (else per-batch replay for it is drawn
        unlabelled, and no old classifier labels it)."""
        return self.conditional

    def memory_bytes(self) -> int:
        """Bytes kept between tasks: by default the parameters (float32: 4 bytes each)."""
        return param_bytes(self) if isinstance(self, nn.Module) else 0

    def planned_bytes(self, n_groups: int) -> int:
        """What it will keep after the last task, known before any training (a buffer matched to its
        bytes is sized by it); `n_groups` classes will have been seen. By default memory_bytes()."""
        return self.memory_bytes()

    def train_flops(self) -> int:
        """Matmul FLOPs of one training sample (forward and backward); by default its Linear layers'."""
        return train_flops(self) if isinstance(self, nn.Module) else 0

    def sample_flops(self) -> int:
        """Matmul FLOPs of drawing one sample: by default the forward pass of a `decoder` attribute,
        else of every Linear layer."""
        return forward_flops(getattr(self, "decoder", self)) if isinstance(self, nn.Module) else 0

    def label_flops(self) -> int:
        """feedback: matmul FLOPs of labelling one sample with its own classifier."""
        return 0

    def info(self) -> dict:
        """What a run records about the fitted generator (RunResult.generator_info), JSON-ready."""
        return {}

    @classmethod
    def shareable(cls, cfg) -> bool:
        """Whether runs of `cfg` that differ only in the classifier's lr may share this generator's
        training (generator_tracks.py): only when that training never reads the old classifier's
        labels nor anything the classifier's lr changes. False unless a generator says so."""
        return False
