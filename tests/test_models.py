import torch

from gr_bench.config import preset
from gr_bench.models import build_classifier, build_vae, model_memory, n_params


def test_seed_preset_matches_table_1_exactly():
    m = preset("seed").model
    assert n_params(build_classifier(input_dim=784, hidden=m.hidden, n_outputs=10)) == 44_860
    assert n_params(build_vae(input_dim=784, hidden=m.vae_hidden, latent=m.latent)) == 1_068_820
    rows = model_memory(preset("seed"))
    assert [r["params"] for r in rows] == [44_860, 1_068_820, 1_113_680]
    assert [round(r["bytes"] / 2**20, 2) for r in rows] == [0.17, 4.08, 4.25]  # the seed's MB


def test_vae_shapes_and_finite_loss():
    torch.manual_seed(0)
    vae = build_vae(input_dim=64, hidden=(32, 16), latent=3)
    x = torch.rand(10, 64)
    logits, mu, logvar = vae(x)
    assert logits.shape == (10, 64) and mu.shape == (10, 3) and logvar.shape == (10, 3)
    assert torch.isfinite(vae.loss(x))
    s, y = vae.sample(7, torch.Generator().manual_seed(1))
    assert s.shape == (7, 64) and s.min() >= 0 and s.max() <= 1 and y is None
