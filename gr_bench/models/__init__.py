"""Models: the MLP classifier and the generators, with parameter and byte counts."""

from __future__ import annotations

import dataclasses

from .gaussian import ClassGaussians, gmm_floats
from .mlp import build_classifier
from .rtf import ReplayThroughFeedback
from .vae import VAE, build_vae

__all__ = ["VAE", "ClassGaussians", "ReplayThroughFeedback", "build_classifier", "build_generator",
           "build_vae", "classifier_for", "forward_flops", "generator_memory", "kept_bytes", "linear_shapes",
           "model_memory", "n_params", "param_bytes", "train_flops"]


def linear_shapes(model) -> list[tuple[int, int]]:
    from torch import nn

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


def uses_feedback(cfg) -> bool:
    """Replay-through-feedback: the classifier is the generator (one model)."""
    return cfg.strategy == "generative" and cfg.model.generator == "rtf"


def classifier_for(cfg, *, input_dim: int, n_outputs: int):
    """The classifier a run trains: the seed's MLP, or the RtF model that is also the generator."""
    m = cfg.model
    if uses_feedback(cfg):
        return ReplayThroughFeedback(input_dim, m.vae_hidden, m.latent, n_outputs)
    return build_classifier(input_dim=input_dim, hidden=m.hidden, n_outputs=n_outputs)


def build_generator(cfg, *, input_dim: int, n_outputs: int):
    """The generator trained beside the classifier: an nn.Module trained by gradient (vae, cvae),
    ClassGaussians fitted in closed form (gmm), or None (rtf: the classifier generates)."""
    m = cfg.model
    if m.generator in ("vae", "cvae"):
        return build_vae(input_dim=input_dim, hidden=m.vae_hidden, latent=m.latent,
                         n_classes=n_outputs if m.generator == "cvae" else 0)
    if m.generator == "gmm":
        return ClassGaussians(input_dim, m.pca_dim, m.gmm_components, threads=cfg.threads, select=m.gmm_select)
    return None


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


def kept_bytes(cfg, *, input_dim: int, n_outputs: int, n_groups: int = 10) -> int:
    """What generative replay with cfg's generator and label mode keeps after the last task."""
    row = next(r for r in generator_memory(cfg, input_dim=input_dim, n_outputs=n_outputs, n_groups=n_groups)
               if r["generator"] == cfg.model.generator)
    return int(row["kept_bytes"])


def generator_memory(cfg, *, input_dim: int = 784, n_outputs: int = 10, n_groups: int = 10) -> list[dict]:
    """What generative replay keeps between tasks with each generator, in float32 bytes.

    `kept` = the generator (for gmm: `n_groups` fitted classes, its size after the last task)
    plus the frozen classifier copy that labels samples, when the label mode needs one; RtF keeps
    one model. `images` is how many uint8 images of `input_dim` bytes the same bytes would hold.
    """
    rows = []
    clf = build_classifier(input_dim=input_dim, hidden=cfg.model.hidden, n_outputs=n_outputs)
    for name in ("vae", "cvae", "gmm", "rtf"):
        c = dataclasses.replace(cfg, strategy="generative", model=dataclasses.replace(cfg.model, generator=name))
        if name == "gmm":
            params = n_groups * gmm_floats(input_dim, c.model.pca_dim, c.model.gmm_components)
        elif name == "rtf":
            params = n_params(classifier_for(c, input_dim=input_dim, n_outputs=n_outputs))
        else:
            params = n_params(build_generator(c, input_dim=input_dim, n_outputs=n_outputs))
        labeller = 0 if name == "rtf" or c.replay_labels() == "generator" else n_params(clf)
        total = 4 * (params + labeller)
        rows.append({"generator": name, "params": params, "generator_bytes": 4 * params,
                     "classifier_copy_bytes": 4 * labeller, "kept_bytes": total, "images": total // input_dim,
                     # what buffer_bytes=match-generator holds: an image plus its label and task id
                     "buffer_examples": total // (input_dim + 2)})
    return rows
