"""A Gaussian-mixture generator per class in that class's PCA space (the seed's "simpler
generative model": fitted in closed form in seconds instead of trained for minutes).

For each (task, label) group of a task's training data: centre it, keep its top ``pca_dim``
principal directions, and fit a mixture of ``components`` full-covariance Gaussians to the
projected points (scikit-learn's EM). A sample picks a group uniformly, a component by its weight,
draws in the PCA space and maps back to pixels, clipped to [0, 1]. Old groups are never refitted,
so this generator does not forget; its memory grows by one group per class.

Per group it keeps, in float32: the mean (D), the basis (D x d), and per component a weight, a
mean (d) and a Cholesky factor (d(d+1)/2 numbers): see :func:`gmm_floats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def gmm_floats(input_dim: int, pca_dim: int, components: int) -> int:
    """float32 numbers kept for one class (an upper bound: small classes keep fewer)."""
    d = min(pca_dim, input_dim)
    return input_dim + input_dim * d + components * (1 + d + d * (d + 1) // 2)


@dataclass(frozen=True)
class _Group:
    label: int
    mean: torch.Tensor  # (D,)
    basis: torch.Tensor  # (D, d) orthonormal columns
    weights: torch.Tensor  # (K,)
    means: torch.Tensor  # (K, d)
    chol: torch.Tensor  # (K, d, d) lower-triangular Cholesky factors of the covariances

    def floats(self) -> int:
        K, d = self.means.shape
        return self.mean.numel() + self.basis.numel() + K * (1 + d + d * (d + 1) // 2)


class ClassGaussians:
    conditional = True

    def __init__(self, input_dim: int, pca_dim: int, components: int, threads: int = 1) -> None:
        self.input_dim, self.pca_dim, self.components, self.threads = input_dim, pca_dim, components, threads
        self.groups: list[_Group] = []

    def fit_task(self, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator) -> None:
        """Fit one group per label present in (x, y): x float pixels (N, D), y int64 labels."""
        from sklearn.mixture import GaussianMixture
        from threadpoolctl import threadpool_limits

        for label in torch.unique(y).tolist():
            xs = x[y == label].double().cpu()
            mean = xs.mean(0)
            centred = xs - mean
            d = max(1, min(self.pca_dim, len(xs) - 1, self.input_dim))
            basis = torch.linalg.svd(centred, full_matrices=False).Vh[:d].T  # (D, d)
            z = (centred @ basis).numpy()
            k = max(1, min(self.components, len(xs) // 2))
            seed = int(torch.randint(2**31 - 1, (1,), generator=rng))
            with threadpool_limits(limits=self.threads):  # one worker, one core: no BLAS oversubscription
                gm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(z)
            self.groups.append(_Group(
                label=int(label), mean=mean.float(), basis=basis.float(),
                weights=torch.from_numpy(gm.weights_).float(), means=torch.from_numpy(gm.means_).float(),
                chol=torch.linalg.cholesky(torch.from_numpy(gm.covariances_)).float()))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator,
               seen: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n images in [0, 1] and the labels of the groups they were drawn from (every fitted
        group is a seen class, so `seen`, part of the generators' common signature, is unused)."""
        which = torch.randint(len(self.groups), (n,), generator=generator)
        x = torch.empty(n, self.input_dim)
        y = torch.empty(n, dtype=torch.long)
        for g, group in enumerate(self.groups):
            idx = torch.nonzero(which == g).flatten()
            if len(idx) == 0:
                continue
            comp = torch.multinomial(group.weights, len(idx), replacement=True, generator=generator)
            eps = torch.randn(len(idx), group.means.shape[1], generator=generator)
            z = group.means[comp] + torch.einsum("nij,nj->ni", group.chol[comp], eps)
            x[idx] = (group.mean + z @ group.basis.T).clamp_(0.0, 1.0)
            y[idx] = group.label
        return x, y

    def memory_bytes(self) -> int:
        return 4 * sum(g.floats() for g in self.groups)

    def to(self, device) -> "ClassGaussians":  # sampled on the CPU; the trainer moves the samples
        return self
