"""Accuracy against memory: buffers from a few hundred to ten thousand images vs generative replay.

Generative replay's memory is fixed by its models (4,454,720 bytes for the seed preset); a buffer's
grows with its size (786 bytes per example). On mnist-5k the training set has 4,000 images, so
buffers of 5,000 and 10,000 hold every image seen (the joint-training limit).
"""

from gr_bench.study import StudySpec

SIZES = (200, 500, 1000, 2000, 5000, 10000)

STUDY = StudySpec(
    name="memory",
    summary="buffer sizes 200..10,000 images against generative replay at its fixed bytes",
    base={},
    grid={"memory": {
        **{f"buffer-{n}": {"strategy": "buffer", "buffer": n} for n in SIZES},
        "generative": {"strategy": "generative"},
    }},
    seeds=8,  # paired Wilcoxon + Holm over the family: 8 seeds can reach p < 0.05 for up to 6 comparisons
    quick={"seeds": 2, "base": {"epochs": 3, "vae_epochs": 3, "schedule": "linear:500"},
           "grid": {"memory": {
               **{f"buffer-{n}": {"strategy": "buffer", "buffer": n} for n in (200, 1000, 5000)},
               "generative": {"strategy": "generative"},
           }}},
)
