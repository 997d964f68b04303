"""A Gaussian-mixture generator per class in that class's PCA space (the seed's "simpler
generative model": fitted in closed form in seconds instead of trained for minutes).

For each (task, label) group of a task's training data: centre it, keep its top ``pca_dim``
principal directions, and fit a mixture of ``components`` full-covariance Gaussians to the
projected points (scikit-learn's EM). A sample picks a group uniformly, a component by its weight,
draws in the PCA space and maps back to pixels, clipped to [0, 1]. Old groups are never refitted,
so this generator does not forget; its memory grows by one group per class.

``select="heldout"`` picks each group's sizes from its own data instead: ``pca_dim`` and
``components`` become upper bounds, a seeded 20% of the group is held out, every candidate of
:func:`candidate_sizes` is fitted on the rest and scored by :func:`pixel_log_likelihood` on the
held-out images, and the best candidate is refitted on the whole group.

Per group it keeps, in float32: the mean (D), the basis (D x d), and per component a weight, a
mean (d) and a Cholesky factor (d(d+1)/2 numbers): see :func:`gmm_floats`.

Its cost in matmul FLOPs (the trainer adds it to ``flops_train``; docs/methods.md states the
formulas): :func:`fit_flops` per group fitted, :func:`score_flops` per held-out candidate scored,
:func:`draw_flops` per sample drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..config import GMM_SELECTIONS
from .base import Generator

SELECT_DIMS = (8, 16, 32, 64)  # heldout: PCA sizes tried (below the cap; the cap itself is always tried)
SELECT_COMPONENTS = (1, 2, 3, 5, 8)  # heldout: mixture sizes tried (likewise)
HELDOUT_FRACTION = 0.2  # heldout: share of each group held out for scoring
REG_COVAR = 1e-4  # added to every mixture covariance (EM's regulariser)
SIGMA2_FLOOR = REG_COVAR  # heldout: the smallest residual variance per pixel the score allows


def gmm_floats(input_dim: int, pca_dim: int, components: int) -> int:
    """float32 numbers kept for one class (an upper bound: small classes, and heldout selection,
    keep fewer)."""
    d = min(pca_dim, input_dim)
    return input_dim + input_dim * d + components * (1 + d + d * (d + 1) // 2)


def svd_flops(m: int, p: int) -> int:
    """Thin SVD (U, singular values and V) of an m x p matrix, as torch.linalg.svd(full_matrices=False)
    computes it: Golub & Van Loan's R-SVD count 6 a b^2 + 20 b^3, a = max(m, p), b = min(m, p)."""
    a, b = max(m, p), min(m, p)
    return 6 * a * b * b + 20 * b**3


def em_flops(n: int, d: int, components: int, iters: int) -> int:
    """scikit-learn's EM for K = `components` full-covariance Gaussians on n points in d dimensions
    that ran `iters` iterations (its n_iter_): iters + 1 E-steps (X @ precision Cholesky, 2 n d^2 per
    component; the last one after convergence) and iters + 1 M-steps (means 2 n K d, covariances
    2 n d^2 per component; the first one from the k-means labels): (iters + 1) 2 K n d (2 d + 1).
    The k-means initialisation and the d x d factorisations are not counted."""
    return (iters + 1) * 2 * components * n * d * (2 * d + 1)


def fit_flops(n: int, input_dim: int, pca_dim: int, components: int, iters: int) -> int:
    """One group of n images of input_dim (D) pixels fitted with pca_dim (d) and components (K): the
    thin SVD of the centred n x D images, their projection onto the basis (2 n D d) and the EM."""
    return svd_flops(n, input_dim) + 2 * n * input_dim * pca_dim + em_flops(n, pca_dim, components, iters)


def score_flops(n: int, input_dim: int, pca_dim: int, components: int) -> int:
    """pixel_log_likelihood of n images: the projection z (2 n D d), the residual r (2 n D d, none
    when d = D) and a triangular solve per component (n d^2 each)."""
    residual = 2 * n * input_dim * pca_dim if pca_dim < input_dim else 0
    return 2 * n * input_dim * pca_dim + residual + components * n * pca_dim * pca_dim


def draw_flops(input_dim: int, pca_dim: int) -> int:
    """One sample: its component's Cholesky factor times the noise (2 d^2), mapped back to pixels (2 D d)."""
    return 2 * pca_dim * pca_dim + 2 * input_dim * pca_dim


def pixel_log_likelihood(x: np.ndarray, mean: np.ndarray, basis: np.ndarray, weights: np.ndarray,
                         means: np.ndarray, covariances: np.ndarray, sigma2: float) -> np.ndarray:
    """Log-density of each row of x (n, D) under a Gaussian mixture in a d-dim PCA subspace,
    completed to pixel space as in probabilistic PCA.

    With c = x - mean, z = basis.T c (basis: D x d, orthonormal columns) and the residual
    r = c - basis z, the density is the mixture's in the subspace times an isotropic Gaussian
    N(0, sigma2 I) on the D - d residual dimensions:

        log p(x) = log sum_k weights[k] N(z; means[k], covariances[k])
                   - ((D - d) log(2 pi sigma2) + |r|^2 / sigma2) / 2.

    For one component this is exactly N(x; mean + basis means[0], basis cov basis.T +
    sigma2 (I - basis basis.T)), so scores of different d are densities on the same space and
    comparable. When d = D the residual term is zero.
    """
    from scipy.linalg import solve_triangular
    from scipy.special import logsumexp

    D, d = basis.shape
    c = np.asarray(x, dtype=np.float64) - mean
    z = c @ basis
    per_component = []
    for w, mu, cov in zip(weights, means, covariances):
        chol = np.linalg.cholesky(cov)
        u = solve_triangular(chol, (z - mu).T, lower=True)  # (d, n)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        per_component.append(math.log(w) - 0.5 * (d * math.log(2 * math.pi) + logdet + (u**2).sum(0)))
    ll = logsumexp(np.stack(per_component), axis=0)
    if D > d:
        r = c - z @ basis.T
        ll = ll - 0.5 * ((D - d) * math.log(2 * math.pi * sigma2) + (r**2).sum(1) / sigma2)
    return ll


def candidate_sizes(n_fit: int, input_dim: int, max_dim: int, max_components: int) -> list[tuple[int, int]]:
    """(pca_dim, components) pairs heldout selection tries for a group fitted on n_fit images:
    SELECT_DIMS below the cap min(max_dim, n_fit - 1, input_dim) and the cap itself, times
    SELECT_COMPONENTS below the cap min(max_components, n_fit // 2) and that cap; smallest first."""
    d_cap = max(1, min(max_dim, n_fit - 1, input_dim))
    k_cap = max(1, min(max_components, n_fit // 2))
    dims = sorted({d for d in SELECT_DIMS if d < d_cap} | {d_cap})
    comps = sorted({k for k in SELECT_COMPONENTS if k < k_cap} | {k_cap})
    return [(d, k) for d in dims for k in comps]


def heldout_split(n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(fit, held-out) row indices of a group of n images, held-out = int(HELDOUT_FRACTION * n)
    drawn from the run's generator; None when that leaves no held-out image or under two to fit."""
    n_held = int(HELDOUT_FRACTION * n)
    if n_held < 1 or n - n_held < 2:
        return None
    perm = torch.randperm(n, generator=rng)
    return perm[n_held:], perm[:n_held]


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


class ClassGaussians(Generator):
    """The registry's gmm: fitted in closed form, conditional (each sample is drawn for a fitted class)."""

    closed_form = True
    conditional = True

    @classmethod
    def build(cls, cfg, *, input_dim: int, n_outputs: int) -> ClassGaussians:
        m = cfg.model
        return cls(input_dim, m.pca_dim, m.gmm_components, threads=cfg.threads, select=m.gmm_select)

    def __init__(self, input_dim: int, pca_dim: int, components: int, threads: int = 1,
                 select: str = "fixed") -> None:
        if select not in GMM_SELECTIONS:
            raise ValueError(f"select must be one of {', '.join(GMM_SELECTIONS)}, got {select!r}")
        self.input_dim, self.pca_dim, self.components, self.threads = input_dim, pca_dim, components, threads
        self.select = select
        self.groups: list[_Group] = []
        self.chosen: list[tuple[int, int, int]] = []  # (label, pca_dim, components) per group, as fitted
        # heldout: per group, {(pca_dim, components): mean held-out log-likelihood per image}
        self.scores: list[dict[tuple[int, int], float]] = []
        self.em_iters: list[int] = []  # EM iterations of each group's final fit (as `chosen`)
        self.flops = 0  # matmul FLOPs of every fit so far (fit_flops; heldout adds its candidates')

    def _mixture(self, z: np.ndarray, k: int, seed: int):
        from sklearn.mixture import GaussianMixture
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):  # one worker, one core: no BLAS oversubscription
            return GaussianMixture(k, covariance_type="full", reg_covar=REG_COVAR, random_state=seed).fit(z)

    def fit(self, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator) -> None:
        """Fit one group per label present in (x, y): x float pixels (N, D), y int64 labels."""
        for label in torch.unique(y).tolist():
            xs = x[y == label].double().cpu()
            seed = int(torch.randint(2**31 - 1, (1,), generator=rng))
            split = heldout_split(len(xs), rng) if self.select == "heldout" else None
            if split is not None:
                scores = self._score_candidates(xs[split[0]], xs[split[1]], seed)
                d, k = max(scores, key=lambda c: scores[c])  # the first (smallest) of equal bests
                self.scores.append(scores)
            else:  # fixed, or a group too small to hold any image out: the caps
                d = max(1, min(self.pca_dim, len(xs) - 1, self.input_dim))
                k = max(1, min(self.components, len(xs) // 2))
            mean = xs.mean(0)
            centred = xs - mean
            basis = torch.linalg.svd(centred, full_matrices=False).Vh[:d].T  # (D, d)
            gm = self._mixture((centred @ basis).numpy(), k, seed)
            self.em_iters.append(int(gm.n_iter_))
            self.flops += fit_flops(len(xs), self.input_dim, d, k, int(gm.n_iter_))
            self.groups.append(_Group(
                label=int(label), mean=mean.float(), basis=basis.float(),
                weights=torch.from_numpy(gm.weights_).float(), means=torch.from_numpy(gm.means_).float(),
                chol=torch.linalg.cholesky(torch.from_numpy(gm.covariances_)).float()))
            self.chosen.append((int(label), d, k))

    def _score_candidates(self, fit: torch.Tensor, held: torch.Tensor, seed: int) -> dict[tuple[int, int], float]:
        """Mean held-out pixel-space log-likelihood of every candidate size, each fitted on `fit`
        (one SVD shared by all PCA sizes; sigma2 = the fit rows' mean squared residual per
        residual pixel, floored at SIGMA2_FLOOR). Adds their FLOPs to self.flops."""
        mean = fit.mean(0)
        centred = fit - mean
        _, s, vh = torch.linalg.svd(centred, full_matrices=False)
        self.flops += svd_flops(len(fit), self.input_dim)
        energy = (s**2).numpy()
        mean_np, held_np = mean.numpy(), held.numpy()
        scores: dict[tuple[int, int], float] = {}
        for d, k in candidate_sizes(len(fit), self.input_dim, self.pca_dim, self.components):
            basis = vh[:d].T
            rest = self.input_dim - d
            sigma2 = max(float(energy[d:].sum()) / (len(fit) * rest), SIGMA2_FLOOR) if rest else SIGMA2_FLOOR
            gm = self._mixture((centred @ basis).numpy(), k, seed)
            ll = pixel_log_likelihood(held_np, mean_np, basis.numpy(), gm.weights_, gm.means_,
                                      gm.covariances_, sigma2)
            self.flops += (2 * len(fit) * self.input_dim * d + em_flops(len(fit), d, k, int(gm.n_iter_))
                           + score_flops(len(held), self.input_dim, d, k))
            scores[(d, k)] = float(ll.mean())
        return scores

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

    def sample_flops(self) -> int:
        """draw_flops of one sample (2 d^2 + 2 D d), averaged over the groups a sample picks
        uniformly; with d = pca_dim before any group is fitted."""
        if not self.groups:
            return draw_flops(self.input_dim, self.pca_dim)
        return round(sum(draw_flops(self.input_dim, g.basis.shape[1]) for g in self.groups) / len(self.groups))

    fit_task = fit  # its earlier name

    def memory_bytes(self) -> int:
        return 4 * sum(g.floats() for g in self.groups)

    def planned_bytes(self, n_groups: int) -> int:
        """n_groups classes at gmm_floats each (an upper bound: small classes, and heldout selection, keep fewer)."""
        return 4 * n_groups * gmm_floats(self.input_dim, self.pca_dim, self.components)

    def info(self) -> dict:
        return {"chosen": [list(c) for c in self.chosen], "em_iters": list(self.em_iters)}

    def to(self, device) -> "ClassGaussians":  # sampled on the CPU; the trainer moves the samples
        return self
