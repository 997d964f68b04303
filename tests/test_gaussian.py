"""The gmm generator's held-out size selection (gmm_select=heldout), on real data (sklearn digits)."""

import json
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from gr_bench.config import ConfigError, RunConfig, preset, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.models import build_generator
from gr_bench.models.gaussian import (
    REG_COVAR,
    ClassGaussians,
    candidate_sizes,
    gmm_floats,
    heldout_split,
    pixel_log_likelihood,
)
from gr_bench.result import RunResult
from gr_bench.trainer import run


def test_pixel_log_likelihood_of_a_standard_normal_at_its_mean():
    # D = 2, d = 1: N(0, 1) along e1 times N(0, 1) on the residual e2 = a 2-d standard normal: -log(2 pi)
    ll = pixel_log_likelihood(np.zeros((1, 2)), np.zeros(2), np.array([[1.0], [0.0]]), np.array([1.0]),
                              np.zeros((1, 1)), np.ones((1, 1, 1)), sigma2=1.0)
    assert ll[0] == pytest.approx(-math.log(2 * math.pi), abs=1e-12)


def test_pixel_log_likelihood_is_the_implied_full_gaussian():
    rng = np.random.default_rng(0)
    D, d, sigma2 = 6, 2, 0.3
    basis = np.linalg.qr(rng.normal(size=(D, d)))[0]  # orthonormal columns
    mean, mu = rng.normal(size=D), rng.normal(size=(1, d))
    a = rng.normal(size=(d, d))
    cov = a @ a.T + 0.5 * np.eye(d)
    full = basis @ cov @ basis.T + sigma2 * (np.eye(D) - basis @ basis.T)  # probabilistic PCA's covariance
    x = mean + rng.multivariate_normal(np.zeros(D), full, size=50)  # data exactly of that Gaussian
    expected = multivariate_normal(mean + basis @ mu[0], full).logpdf(x)
    got = pixel_log_likelihood(x, mean, basis, np.array([1.0]), mu, cov[None], sigma2)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # d = D: no residual (sigma2 unused), the subspace's Gaussian rotated back to pixels
    q = np.linalg.qr(rng.normal(size=(D, D)))[0]
    np.testing.assert_allclose(pixel_log_likelihood(x, mean, q, np.array([1.0]), np.zeros((1, D)), full[None], 9.9),
                               multivariate_normal(mean, q @ full @ q.T).logpdf(x), rtol=1e-10)


def test_pixel_log_likelihood_of_a_mixture_is_the_mixture_of_completed_gaussians():
    rng = np.random.default_rng(1)
    D, d, sigma2 = 5, 2, 0.2
    basis = np.linalg.qr(rng.normal(size=(D, d)))[0]
    mean, mus, w = rng.normal(size=D), rng.normal(size=(2, d)), np.array([0.3, 0.7])
    covs = np.stack([np.diag([1.0, 0.5]), np.diag([0.2, 2.0])])
    x = rng.normal(size=(20, D))
    rest = sigma2 * (np.eye(D) - basis @ basis.T)
    dens = sum(w[k] * multivariate_normal(mean + basis @ mus[k], basis @ covs[k] @ basis.T + rest).pdf(x)
               for k in range(2))
    np.testing.assert_allclose(pixel_log_likelihood(x, mean, basis, w, mus, covs, sigma2), np.log(dens), rtol=1e-10)


def test_candidate_sizes_are_capped_by_the_settings_and_the_group():
    assert candidate_sizes(1000, 784, 32, 3) == [(d, k) for d in (8, 16, 32) for k in (1, 2, 3)]
    assert candidate_sizes(1000, 784, 64, 8) == [(d, k) for d in (8, 16, 32, 64) for k in (1, 2, 3, 5, 8)]
    assert candidate_sizes(1000, 784, 20, 4) == [(d, k) for d in (8, 16, 20) for k in (1, 2, 3, 4)]
    assert candidate_sizes(12, 784, 32, 8) == [(8, k) for k in (1, 2, 3, 5, 6)] + [(11, k) for k in (1, 2, 3, 5, 6)]
    assert candidate_sizes(100, 10, 64, 1) == [(8, 1), (10, 1)]  # never more directions than pixels
    assert candidate_sizes(2, 784, 32, 3) == [(1, 1)]


def test_heldout_split_holds_out_a_fifth():
    fit, held = heldout_split(144, torch.Generator().manual_seed(0))
    assert (len(fit), len(held)) == (116, 28)
    assert sorted(torch.cat([fit, held]).tolist()) == list(range(144))
    assert heldout_split(4, torch.Generator()) is None  # nothing to hold out


@pytest.fixture(scope="module")
def digit_task():
    ds = load_dataset("digits")
    x = ds.x_train.reshape(len(ds.x_train), -1).float() / 255
    keep = (ds.y_train == 3) | (ds.y_train == 8)
    return x[keep], ds.y_train[keep]


def _fit(x, y, select, seed=7, caps=(32, 3)):
    gen = ClassGaussians(x.shape[1], *caps, select=select)
    gen.fit_task(x, y, torch.Generator().manual_seed(seed))
    return gen


def test_heldout_picks_a_valid_candidate_and_counts_what_it_keeps(digit_task):
    x, y = digit_task
    gen = _fit(x, y, "heldout")
    assert [c[0] for c in gen.chosen] == [3, 8] and len(gen.scores) == 2
    for (label, d, k), scores, group in zip(gen.chosen, gen.scores, gen.groups):
        n = int((y == label).sum())
        assert list(scores) == candidate_sizes(n - int(0.2 * n), 64, 32, 3)
        assert (d, k) in scores and scores[(d, k)] == max(scores.values())
        assert group.basis.shape == (64, d) and group.means.shape == (k, d)
    assert gen.memory_bytes() == 4 * sum(gmm_floats(64, d, k) for _, d, k in gen.chosen)
    assert gen.memory_bytes() <= _fit(x, y, "fixed").memory_bytes()  # the settings are upper bounds
    xs, ys = gen.sample(500, torch.Generator().manual_seed(0))
    assert set(ys.tolist()) == {3, 8} and xs.min() >= 0 and xs.max() <= 1


def test_heldout_selection_is_reproducible(digit_task):
    x, y = digit_task
    a, b = _fit(x, y, "heldout", seed=3), _fit(x, y, "heldout", seed=3)
    assert a.chosen == b.chosen and a.scores == b.scores
    xa, ya = a.sample(1000, torch.Generator().manual_seed(5))
    xb, yb = b.sample(1000, torch.Generator().manual_seed(5))
    assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_heldout_scores_at_least_the_fixed_default_on_the_same_split(digit_task):
    """The fixed default (32 directions, 3 components) refitted here, independently, on the split
    the generator drew (one seed draw, then the permutation, from the run's generator)."""
    x, y = digit_task
    label = 3
    xs = x[y == label].double()
    gen = _fit(xs.float(), torch.full((len(xs),), label), "heldout", seed=11)
    rng = torch.Generator().manual_seed(11)
    seed = int(torch.randint(2**31 - 1, (1,), generator=rng))
    fit, held = (xs[i].numpy() for i in heldout_split(len(xs), rng))
    mean = fit.mean(0)
    _, s, vh = np.linalg.svd(fit - mean, full_matrices=False)
    basis = vh[:32].T
    gm = GaussianMixture(3, covariance_type="full", reg_covar=REG_COVAR, random_state=seed).fit((fit - mean) @ basis)
    sigma2 = max((s[32:] ** 2).sum() / (len(fit) * (64 - 32)), REG_COVAR)
    fixed = pixel_log_likelihood(held, mean, basis, gm.weights_, gm.means_, gm.covariances_, sigma2).mean()
    (scores,) = gen.scores
    assert scores[(32, 3)] == pytest.approx(fixed, rel=1e-6)
    _, d, k = gen.chosen[0]
    assert scores[(d, k)] >= fixed


def test_gmm_select_is_validated_in_one_line():
    with pytest.raises(ConfigError, match=r"^gmm_select must be one of fixed, heldout, got 'cv'$"):
        with_overrides(RunConfig(), ["gmm_select=cv"])
    with pytest.raises(ConfigError, match=r"^gmm_select must be one of fixed, heldout, got 3$"):
        with_overrides(RunConfig(), {"gmm_select": 3})
    cfg = with_overrides(RunConfig(), ["generator=gmm", "gmm_select=heldout", "pca_dim=16"])
    gen = build_generator(cfg, input_dim=64, n_outputs=10)
    assert (gen.select, gen.pca_dim, gen.components) == ("heldout", 16, 3)


def test_run_ids_unchanged_while_gmm_select_is_fixed():
    gmm = with_overrides(RunConfig(), ["generator=gmm"])
    assert gmm.run_id() == "e1c044e69859"  # as before gmm_select existed
    assert with_overrides(gmm, ["gmm_select=fixed"]).run_id() == "e1c044e69859"
    assert preset("seed").run_id() == "bef6d65e5343"
    assert with_overrides(gmm, ["gmm_select=heldout"]).run_id() != gmm.run_id()


def test_a_heldout_run_records_the_chosen_sizes():
    bench = make_benchmark(load_dataset("digits"))
    cfg = with_overrides(RunConfig(), ["generator=gmm", "gmm_select=heldout", "epochs=1", "schedule=linear:100",
                                       "n_tasks=2"])
    r = run(cfg, bench)
    chosen = r.generator_info["chosen"]
    assert len(chosen) == 10 and sorted(c[0] for c in chosen) == list(range(10))
    assert all(d in (8, 16, 32) and k in (1, 2, 3) for _, d, k in chosen)
    assert r.memory_bytes == 4 * r.params["generator"] == 4 * sum(gmm_floats(64, d, k) for _, d, k in chosen)
    back = RunResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.generator_info == r.generator_info
