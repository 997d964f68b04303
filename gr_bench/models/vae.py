"""The VAE generator, unconditional (the seed's) or class-conditional.

A Gaussian latent and a Bernoulli decoder. Seed preset: encoder 784-512-256 with mean and
log-variance heads to a 2-d latent, decoder 2-256-512-784 (mirrored): 1,068,820 parameters. The
decoder outputs logits; the reconstruction term is binary cross-entropy on logits, summed over
pixels, so pixel intensities in [0, 1] (real or generated) are valid targets.

Class-conditional (``n_classes > 0``, Sohn et al. 2015): the one-hot label is appended to the
encoder's input and to the decoder's latent input, so the decoder draws an image *for a chosen
class* and replayed samples need no labelling by an old classifier (the registry's cvae: cvae.py).

The registry's vae: trained by gradient on the negative ELBO; the old classifier's labels are never
read by its training, so runs differing only in the classifier's lr may share it (generator_tracks.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Generator
from .mlp import mlp


def elbo_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per sample (Bernoulli decoder, standard normal prior), averaged over the batch.
    Reduced in fp32 whatever the forward pass ran in (bf16 under autocast: the casts are no-ops in fp32)."""
    logits, mu, logvar = logits.float(), mu.float(), logvar.float()
    rec = F.binary_cross_entropy_with_logits(logits, x.float(), reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (rec + kl) / x.shape[0]


class VAE(nn.Module, Generator):
    """The registry's vae (unconditional, n_classes = 0), and the model of cvae (n_classes > 0)."""

    @classmethod
    def build(cls, cfg, *, input_dim: int, n_outputs: int) -> VAE:
        return cls(input_dim, cfg.model.vae_hidden, cfg.model.latent)

    @classmethod
    def shareable(cls, cfg) -> bool:
        return True  # unconditional: its training never reads the old classifier's labels

    def __init__(self, input_dim: int, hidden: tuple[int, ...], latent: int, n_classes: int = 0) -> None:
        super().__init__()
        self.latent, self.n_classes = latent, n_classes
        # The encoder's last hidden layer is followed by a ReLU before the two heads.
        self.encoder = nn.Sequential(mlp((input_dim + n_classes, *hidden)), nn.ReLU())
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent)
        self.decoder = mlp((latent + n_classes, *reversed(hidden), input_dim))  # ReLUs between, logits out

    @property
    def reads_labels(self) -> bool:
        """Whether training reads the labels of its samples (only a conditional VAE does)."""
        return self.n_classes > 0

    def _cond(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if not self.n_classes:
            return t
        assert y is not None, "a conditional VAE needs the labels"
        return torch.cat([t, F.one_hot(y, self.n_classes).to(t.dtype)], dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        h = self.encoder(self._cond(x, y))
        # fp32 latent statistics under bf16 autocast too: the KL and the reparametrised draw (the
        # same fp32 normal draws as an fp32 run) are computed in fp32; the decoder casts z back
        mu, logvar = self.mu(h).float(), self.logvar(h).float()
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(self._cond(z, y)), mu, logvar

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Negative ELBO per sample, averaged over the batch (y is used only when conditional)."""
        logits, mu, logvar = self(x, y)
        return elbo_loss(logits, x, mu, logvar)

    @torch.no_grad()  # not inference_mode: the samples are later training inputs for autograd
    def sample(self, n: int, generator: torch.Generator, seen: torch.Tensor | None = None,
               chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n images (pixel probabilities in [0, 1]) from the prior, in large batches, and for a
        conditional VAE the classes they were drawn for (uniform over the `seen` output mask)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator)
        y = None
        if self.n_classes:
            assert seen is not None, "a conditional VAE draws among the seen classes"
            classes = torch.nonzero(seen.cpu()).flatten()
            y = classes[torch.randint(len(classes), (n,), generator=generator)].to(device)
        z = z.to(device)
        # float32 pixels even when decoded under bf16 autocast (replay sets are fp32 data)
        x = torch.cat([torch.sigmoid(self.decoder(self._cond(z[i : i + chunk], None if y is None else y[i : i + chunk])).float())
                       for i in range(0, n, chunk)])
        return x, y


def build_vae(*, input_dim: int, hidden: tuple[int, ...], latent: int, n_classes: int = 0) -> VAE:
    return VAE(input_dim, hidden, latent, n_classes)
