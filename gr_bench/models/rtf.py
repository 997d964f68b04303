"""Replay-through-feedback (van de Ven et al. 2020): one model that classifies and generates.

The classifier's hidden layers are the VAE's encoder: input -> vae_hidden (ReLU) -> a softmax
head for the classes, and mean and log-variance heads for the latent; a mirrored decoder maps the
latent back to pixels. Generative replay then keeps one model instead of a classifier and a VAE.
Trained on loss = cross-entropy + negative ELBO / input_dim: the ELBO summed over pixels is
hundreds of nats against about one for the cross-entropy, so per pixel neither term swamps the
other. Sampling decodes latents drawn from the prior, and the same model (its frozen copy) labels
the samples with its classification head. The registry's rtf: its generator is the classifier
(``feedback``), so generative replay keeps no separate generator and no classifier copy.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Generator, forward_flops
from .mlp import mlp
from .vae import elbo_loss


class ReplayThroughFeedback(nn.Module, Generator):
    feedback = True  # the trainer adds the ELBO to the classification loss of such a classifier

    @classmethod
    def build(cls, cfg, *, input_dim: int, n_outputs: int) -> ReplayThroughFeedback:
        """The classifier of the run, which is also its generator."""
        return cls(input_dim, cfg.model.vae_hidden, cfg.model.latent, n_outputs)

    def label_flops(self) -> int:
        """Its own encoder and classification head."""
        return forward_flops(self.encoder) + forward_flops(self.head)

    def __init__(self, input_dim: int, hidden: tuple[int, ...], latent: int, n_outputs: int) -> None:
        super().__init__()
        self.input_dim, self.latent = input_dim, latent
        self.encoder = nn.Sequential(mlp((input_dim, *hidden)), nn.ReLU())
        self.head = nn.Linear(hidden[-1], n_outputs)
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent)
        self.decoder = mlp((latent, *reversed(hidden), input_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (what the evaluator and labelling see)."""
        return self.head(self.encoder(x))

    def logits_and_elbo(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and the per-pixel negative ELBO from one encoder pass."""
        h = self.encoder(x)
        mu, logvar = self.mu(h).float(), self.logvar(h).float()  # fp32 under bf16 autocast too (see vae.py)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.head(h), elbo_loss(self.decoder(z), x, mu, logvar) / self.input_dim

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, seen: torch.Tensor | None = None,
               chunk: int = 4096) -> tuple[torch.Tensor, None]:
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator).to(device)
        return torch.cat([torch.sigmoid(self.decoder(z[i : i + chunk]).float()) for i in range(0, n, chunk)]), None
