"""Models: the MLP classifier and the generator registry, with parameter and byte counts.

GENERATORS maps each built-in generator's name to its class (one module each: vae.py, cvae.py,
gaussian.py, rtf.py); a plugin (gr_bench/plugins.py: module:Class, path/to/file.py:Class, an entry
point in `gr_bench.generators`, a module in $GR_BENCH_PLUGINS) is looked up the same way by
:func:`generator_class`, so every generator gets the same memory accounting, FLOP counting and
bytes-matched buffer. What a generator must provide: base.Generator.
"""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError
from .base import Generator, forward_flops, linear_shapes, n_params, param_bytes, train_flops
from .cvae import ConditionalVAE
from .gaussian import ClassGaussians, gmm_floats
from .mlp import build_classifier, head_log_softmax
from .plugin_check import check_generator_plugin, generator_plugin
from .rtf import ReplayThroughFeedback
from .vae import VAE, build_vae

__all__ = ["GENERATORS", "VAE", "ClassGaussians", "ConditionalVAE", "Generator", "ReplayThroughFeedback",
           "build_classifier", "build_generator", "build_vae", "check_generator", "classifier_for", "forward_flops",
           "generator_class", "generator_memory", "gmm_floats", "head_log_softmax", "kept_bytes", "linear_shapes",
           "model_memory", "n_params", "param_bytes", "replay_labels", "train_flops", "uses_feedback"]

GENERATORS: dict[str, type[Generator]] = {  # the built-in generators; docs/methods.md describes each
    "vae": VAE,  # the seed's: unconditional, labelled by the frozen old classifier
    "cvae": ConditionalVAE,  # class-conditional, its own labels
    "gmm": ClassGaussians,  # per-class Gaussian mixtures in per-class PCA spaces, fitted in closed form
    "rtf": ReplayThroughFeedback,  # replay-through-feedback: the classifier is the generator
}


def generator_class(cfg) -> type[Generator]:
    """The class of cfg's generator: a built-in, or a plugin imported and checked against the protocol
    (a ConfigError, one line, for an unknown name or a plugin that cannot be used)."""
    name, sha = cfg.model.generator, cfg.model.generator_sha256
    if name in GENERATORS:
        if sha is not None:  # config found a plugin of the same name
            raise ConfigError(f"generator {name!r}: a plugin of that name (an entry point or a module in "
                              f"$GR_BENCH_PLUGINS) clashes with the built-in generator; rename the plugin")
        return GENERATORS[name]
    cls = generator_plugin(name, sha)
    if cls is None:
        raise ConfigError(f"unknown generator {name!r}; choose from {', '.join(GENERATORS)}, or give a plugin as "
                          "module:Class or path/to/file.py:Class (docs/plugins.md)")
    return cls


def replay_labels(cfg) -> str:
    """The label mode in effect: labels=auto resolved for the configured generator (its own labels
    for a conditional one, hard labels from the old classifier otherwise)."""
    if cfg.replay.labels != "auto":
        return cfg.replay.labels
    return "generator" if generator_class(cfg).conditional else "hard"


def check_generator(cfg, *, input_dim: int = 784, n_outputs: int = 10) -> None:
    """Everything about cfg's generator that can be known before a run: it exists (a plugin is
    imported and follows the protocol), labels=generator has a conditional generator, and a plugin
    passes its smoke check at this input size (plugin_check.py). One ConfigError line otherwise."""
    cls = generator_class(cfg)
    if cfg.replay.labels == "generator" and not cls.conditional:
        conditional = ", ".join(name for name, c in GENERATORS.items() if c.conditional)
        raise ConfigError(f"labels 'generator' needs a conditional generator ({conditional}, or a plugin with "
                          f"conditional = True), not {cfg.model.generator!r}, got {cfg.replay.labels!r}")
    if cfg.model.generator not in GENERATORS:
        check_generator_plugin(cls, cfg, input_dim=input_dim, n_outputs=n_outputs)


def uses_feedback(cfg) -> bool:
    """Replay-through-feedback: the classifier is the generator (one model)."""
    return cfg.strategy == "generative" and generator_class(cfg).feedback


def classifier_for(cfg, *, input_dim: int, n_outputs: int):
    """The classifier a run trains: the seed's MLP, or the model that is also the generator (rtf)."""
    if uses_feedback(cfg):
        return generator_class(cfg).build(cfg, input_dim=input_dim, n_outputs=n_outputs)
    return build_classifier(input_dim=input_dim, hidden=cfg.model.hidden, n_outputs=n_outputs)


def build_generator(cfg, *, input_dim: int, n_outputs: int) -> Generator | None:
    """The generator trained (or fitted) beside the classifier, or None when the classifier generates (rtf)."""
    cls = generator_class(cfg)
    return None if cls.feedback else cls.build(cfg, input_dim=input_dim, n_outputs=n_outputs)


def model_memory(cfg, *, input_dim: int = 784, n_outputs: int = 10) -> list[dict]:
    """The seed's Table 1 for any config: parameters and float32 bytes of each model and the total."""
    clf = build_classifier(input_dim=input_dim, hidden=cfg.model.hidden, n_outputs=n_outputs)
    vae = build_vae(input_dim=input_dim, hidden=cfg.model.vae_hidden, latent=cfg.model.latent)
    rows: list[dict] = [
        {"model": "MLP (classifier)", "params": n_params(clf), "bytes": param_bytes(clf)},
        {"model": "VAE (generator)", "params": n_params(vae), "bytes": param_bytes(vae)},
    ]
    rows.append({"model": "Total", "params": rows[0]["params"] + rows[1]["params"],
                 "bytes": rows[0]["bytes"] + rows[1]["bytes"]})
    return rows


def kept_bytes(cfg, *, input_dim: int, n_outputs: int, n_groups: int = 10) -> int:
    """What generative replay with cfg's generator and label mode keeps after the last task."""
    row = _memory_row(cfg, cfg.model.generator, input_dim=input_dim, n_outputs=n_outputs, n_groups=n_groups)
    return int(row["kept_bytes"])


def generator_memory(cfg, *, input_dim: int = 784, n_outputs: int = 10, n_groups: int = 10) -> list[dict]:
    """What generative replay keeps between tasks with each built-in generator, and cfg's own when it
    is a plugin, in bytes.

    `kept` = the generator (Generator.planned_bytes: for gmm, `n_groups` fitted classes, its size
    after the last task) plus the frozen classifier copy that labels samples, when the label mode
    needs one; a feedback generator (rtf) keeps one model. `images` is how many uint8 images of
    `input_dim` bytes the same bytes would hold.
    """
    names = list(GENERATORS) + ([cfg.model.generator] if cfg.model.generator not in GENERATORS else [])
    return [_memory_row(cfg, name, input_dim=input_dim, n_outputs=n_outputs, n_groups=n_groups) for name in names]


def _memory_row(cfg, name: str, *, input_dim: int, n_outputs: int, n_groups: int) -> dict:
    own = name == cfg.model.generator
    c = dataclasses.replace(cfg, strategy="generative", model=dataclasses.replace(
        cfg.model, generator=name, generator_sha256=cfg.model.generator_sha256 if own else None))
    cls = generator_class(c)
    generator_bytes = int(cls.build(c, input_dim=input_dim, n_outputs=n_outputs).planned_bytes(n_groups))
    labeller = 0 if cls.feedback or replay_labels(c) == "generator" else n_params(
        build_classifier(input_dim=input_dim, hidden=cfg.model.hidden, n_outputs=n_outputs))
    total = generator_bytes + 4 * labeller
    return {"generator": name, "params": generator_bytes // 4, "generator_bytes": generator_bytes,
            "classifier_copy_bytes": 4 * labeller, "kept_bytes": total, "images": total // input_dim,
            # what buffer_bytes=match-generator holds: an image plus its label and task id
            "buffer_examples": total // (input_dim + 2)}
