"""Is generative replay worth it? Against a buffer of the same bytes, no replay and joint training.

The seed report argues that its VAE + classifier (1,113,680 float32 parameters = 4,454,720 bytes,
"4.25 MB") weigh about as much as a buffer of 5,000 images. The buffer here gets exactly those
bytes: 4,454,720 // 786 bytes per stored example (784 pixels + label + task id) = 5,667 examples.
Same seeds for every strategy, so the comparisons are paired.
"""

from gr_bench.study import StudySpec

EQUAL_BYTES_BUFFER = 4_454_720 // 786  # = 5,667; checked against the models in tests

STUDY = StudySpec(
    name="baselines",
    summary="generative vs buffer with the generator's bytes vs none vs joint, paired seeds",
    base={},
    grid={"method": {
        "generative": {"strategy": "generative"},
        "buffer-equal-bytes": {"strategy": "buffer", "buffer": EQUAL_BYTES_BUFFER},
        "none": {"strategy": "none"},
        "joint": {"strategy": "joint"},
    }},
    seeds=8,  # paired Wilcoxon + Holm over the family: 8 seeds can reach p < 0.05 for up to 6 comparisons
    quick={"seeds": 3, "base": {"epochs": 3, "vae_epochs": 3, "schedule": "linear:500"}},
)
