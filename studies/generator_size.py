"""How big must the VAE be? A search over its width and latent size (the seed's "simpler generative model").

The seed's VAE (784-512-256, 2-d latent; 1,068,820 parameters) outweighs the classifier 24 times.
This searches smaller and wider encoders and latent sizes; the seed's preset is the first trial.
The final stage also runs the seed's VAE with only the best's widths, and with only its latent
size, so each change gets its own verdict.
"""

from gr_bench.orchestration import StudySpec

WIDTHS = ("512,256", "256,128", "128,64", "64,32", "32,16")


def space(trial, n_tasks: int) -> dict:
    return {
        "vae_hidden": trial.suggest_categorical("vae_hidden", WIDTHS),
        "latent": trial.suggest_categorical("latent", (2, 4, 8, 16)),
    }


STUDY = StudySpec(
    name="generator_size",
    summary="search VAE encoder widths and latent size, from the seed's preset down to 32-16",
    base={"strategy": "generative", "val_fraction": 0.1},
    space=space,
    start_points=({"vae_hidden": "512,256", "latent": 2},),
    seeds=2,
    trials=12,
    top=3,
    # Holm over up to 5 comparisons (top 3, 2 ablations), paired t on 8 seeds: report.md states the
    # minimum detectable effect at that family size
    eval_seeds=8,
    reference={"report-vae": {"vae_hidden": "512,256", "latent": 2}},
    attribution={"width": ("vae_hidden",), "latent": ("latent",)},
    quick={"trials": 4, "seeds": 2, "eval_seeds": 2, "top": 2, "base": {"epochs": 3, "vae_epochs": 3}},
)
