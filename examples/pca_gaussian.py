"""A per-class PCA-Gaussian generator: a complete gr-bench plugin in one file (docs/plugins.md).

Each class keeps its mean image and its top COMPONENTS principal directions, scaled by their
standard deviations. A sample picks one of the classes fitted so far, draws COMPONENTS standard
normals, maps them back to pixels and clips to [0, 1]. It is fitted in closed form (one thin SVD per
class, once per task) and is conditional: it labels its own samples, so generative replay keeps no
copy of the old classifier. Does it beat a buffer of real images of the same bytes?

    gr-bench study generator_vs_buffer --quick --set generator=examples/pca_gaussian.py:PCAGaussian
"""

from __future__ import annotations

import torch

from gr_bench.models import Generator

COMPONENTS = 16  # principal directions kept per class


class PCAGaussian(Generator):
    closed_form = True  # fit() once per task, no gradient training
    conditional = True  # sample() returns the class each sample was drawn for

    @classmethod
    def build(cls, cfg, *, input_dim: int, n_outputs: int) -> PCAGaussian:
        return cls(input_dim, COMPONENTS)

    def __init__(self, input_dim: int, components: int) -> None:
        self.input_dim, self.components = input_dim, components
        self.means: dict[int, torch.Tensor] = {}  # class -> mean image (D,)
        self.bases: dict[int, torch.Tensor] = {}  # class -> directions times standard deviations (D, k)
        self.flops = 0

    def fit(self, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator) -> None:
        for label in torch.unique(y).tolist():
            xs = x[y == label].double()
            mean = xs.mean(0)
            _, s, vh = torch.linalg.svd(xs - mean, full_matrices=False)
            k = min(self.components, len(s))
            self.means[label] = mean.float()
            self.bases[label] = (vh[:k].T * (s[:k] / max(len(xs) - 1, 1) ** 0.5)).float()
            a, b = max(xs.shape), min(xs.shape)
            self.flops += 6 * a * b * b + 20 * b**3  # the thin SVD (Golub & Van Loan's count)

    def sample(self, n: int, generator: torch.Generator, seen: torch.Tensor | None = None):
        labels = sorted(self.means)  # the classes fitted so far: the seen ones
        which = torch.randint(len(labels), (n,), generator=generator)
        x = torch.empty(n, self.input_dim)
        for i, label in enumerate(labels):
            idx = torch.nonzero(which == i).flatten()
            eps = torch.randn(len(idx), self.bases[label].shape[1], generator=generator)
            x[idx] = (self.means[label] + eps @ self.bases[label].T).clamp(0.0, 1.0)
        return x, torch.tensor(labels, dtype=torch.int64)[which]

    def memory_bytes(self) -> int:  # float32 means and bases
        return 4 * sum(m.numel() + b.numel() for m, b in zip(self.means.values(), self.bases.values()))

    def planned_bytes(self, n_groups: int) -> int:  # after the last task (an upper bound)
        return 4 * n_groups * self.input_dim * (1 + self.components)

    def sample_flops(self) -> int:
        return 2 * self.input_dim * self.components

    def info(self) -> dict:
        return {"classes": sorted(self.means)}
