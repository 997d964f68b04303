"""Which generator? Every generator at its memory and time cost, on the same seeds (paired).

- vae-report: the source report's VAE (784-512-256, 2-d latent) labelled by the frozen old classifier;
- vae-small: the "simpler generative model" preset (128-64, 8-d latent), 219,808 parameters: 4.9x fewer;
- cvae: class-conditional VAE, its own labels (no old classifier kept);
- gmm: per-class Gaussian mixtures in per-class PCA spaces, fitted in closed form;
- rtf: replay-through-feedback, the classifier is the VAE's encoder (one model);
- buffer-1000: a real-image buffer, for the accuracy-against-memory plot.
Each run's memory is what it keeps between tasks; time is the whole run's.
"""

from gr_bench.orchestration import StudySpec

GENERATORS = {
    "vae-report": {"generator": "vae"},
    "vae-small": {"generator": "vae", "vae_hidden": "128,64", "latent": 8},
    "cvae": {"generator": "cvae"},
    "gmm": {"generator": "gmm"},
    "rtf": {"generator": "rtf"},
    "buffer-1000": {"strategy": "buffer", "buffer": 1000},
}

STUDY = StudySpec(
    name="generator",
    summary="vae (seed), small vae, conditional vae, per-class GMM, replay-through-feedback, buffer: accuracy, time, bytes",
    base={"strategy": "generative"},
    grid={"generator": GENERATORS},
    anchor="vae-report",  # each generator (and the buffer) against the source report's VAE
    seeds=8,  # paired t + Holm over the family; report.md states each comparison's detectable effect at 8 seeds
    quick={"seeds": 2, "base": {"epochs": 3, "vae_epochs": 3, "schedule": "linear:500"}},
)
