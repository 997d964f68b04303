"""Internal to `gr-bench bench`: equal generative trials, to time --workers 1 against --workers 2."""

from gr_bench.study import StudySpec

STUDY = StudySpec(
    name="bench_workers",
    summary="equal generative runs (one per seed) for the workers speed-up figure",
    base={"strategy": "generative", "epochs": 3, "vae_epochs": 3, "schedule": "linear:500"},
    grid={"method": {"generative": {}}},
    seeds=4,
)
