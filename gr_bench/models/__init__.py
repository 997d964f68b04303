"""Models: the MLP classifier and the VAE generator, with parameter and byte counts."""

from .mlp import build_classifier
from .vae import VAE, build_vae

__all__ = ["VAE", "build_classifier", "build_vae", "model_memory", "n_params", "param_bytes"]


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def param_bytes(model) -> int:
    """Bytes of the parameters as stored (float32: 4 bytes each)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


def model_memory(cfg, *, input_dim: int = 784, n_outputs: int = 10) -> list[dict]:
    """The seed's Table 1 for any config: parameters and float32 bytes of each model and the total."""
    clf = build_classifier(input_dim=input_dim, hidden=cfg.model.hidden, n_outputs=n_outputs)
    vae = build_vae(input_dim=input_dim, hidden=cfg.model.vae_hidden, latent=cfg.model.latent)
    rows = [
        {"model": "MLP (classifier)", "params": n_params(clf), "bytes": param_bytes(clf)},
        {"model": "VAE (generator)", "params": n_params(vae), "bytes": param_bytes(vae)},
    ]
    rows.append({"model": "Total", "params": rows[0]["params"] + rows[1]["params"],
                 "bytes": rows[0]["bytes"] + rows[1]["bytes"]})
    return rows
