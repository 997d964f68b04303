"""The registry's cvae: the class-conditional VAE (vae.py's model with the one-hot class appended to
the encoder's and the decoder's inputs). It draws each sample for a class it chooses among those
seen, so with labels=auto (or generator) no old classifier is kept to label its replay."""

from __future__ import annotations

from .vae import VAE


class ConditionalVAE(VAE):
    conditional = True

    @classmethod
    def build(cls, cfg, *, input_dim: int, n_outputs: int) -> ConditionalVAE:
        return cls(input_dim, cfg.model.vae_hidden, cfg.model.latent, n_classes=n_outputs)

    @classmethod
    def shareable(cls, cfg) -> bool:
        """Only when labelled by itself: its training reads the labels of its replay, which an old
        classifier would otherwise give (and that classifier depends on the classifier's lr)."""
        return cfg.replay.labels in ("auto", "generator")  # auto: a conditional generator's own labels
