"""Is generative replay worth it? Against a buffer of the same bytes, no replay and joint training.

The source report argues that its VAE + classifier (1,113,680 float32 parameters = 4,454,720 bytes,
"4.25 MB") weigh about as much as a buffer of 5,000 images. The buffer here is sized at run time to
exactly the bytes the generative arm keeps (buffer_bytes=match-generator: 5,667 examples of 786
bytes for the report's preset on MNIST), so the comparison stays at equal bytes under any --set,
preset or dataset. Same seeds for every strategy, so the comparisons are paired.
"""

from gr_bench.orchestration import StudySpec

STUDY = StudySpec(
    name="baselines",
    summary="generative vs buffer with the generator's bytes vs none vs joint, paired seeds",
    base={},
    grid={"method": {
        "generative": {"strategy": "generative"},
        "buffer-equal-bytes": {"strategy": "buffer", "buffer_bytes": "match-generator"},
        "none": {"strategy": "none"},
        "joint": {"strategy": "joint"},
    }},
    anchor="generative",
    seeds=8,  # paired t + Holm over the family; report.md states each comparison's detectable effect at 8 seeds
    quick={"seeds": 3, "base": {"epochs": 3, "vae_epochs": 3, "schedule": "linear:500"}},
)
