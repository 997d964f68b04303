"""The generator: a VAE with a Gaussian latent and a Bernoulli decoder.

Seed preset: encoder 784-512-256 with mean and log-variance heads to a 2-d latent, decoder
2-256-512-784 (mirrored): 1,068,820 parameters. The decoder outputs logits; the reconstruction
term is binary cross-entropy on logits, summed over pixels, so pixel intensities in [0, 1]
(real or generated) are valid targets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mlp import mlp


class VAE(nn.Module):
    def __init__(self, input_dim: int, hidden: tuple[int, ...], latent: int) -> None:
        super().__init__()
        self.latent = latent
        # The encoder's last hidden layer is followed by a ReLU before the two heads.
        self.encoder = nn.Sequential(mlp((input_dim, *hidden)), nn.ReLU())
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent)
        self.decoder = mlp((latent, *reversed(hidden), input_dim))  # ReLUs between, logits out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per sample, averaged over the batch."""
        logits, mu, logvar = self(x)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (rec + kl) / x.shape[0]

    @torch.no_grad()  # not inference_mode: the samples are later training inputs for autograd
    def sample(self, n: int, generator: torch.Generator, chunk: int = 4096) -> torch.Tensor:
        """n images as pixel probabilities in [0, 1], drawn from the prior in large batches."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator).to(device)
        return torch.cat([torch.sigmoid(self.decoder(z[i : i + chunk])) for i in range(0, n, chunk)])


def build_vae(*, input_dim: int, hidden: tuple[int, ...], latent: int) -> VAE:
    return VAE(input_dim, hidden, latent)
