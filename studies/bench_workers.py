"""Internal to `gr-bench bench`: equal generative trials, to time --workers 1 against --workers 2."""

from gr_bench.orchestration import StudySpec

STUDY = StudySpec(
    name="bench_workers",
    summary="equal generative runs (one per seed) for the workers speed-up figure",
    # Trials of about 15 s each: long enough that a worker's start-up (spawn, import torch, load
    # the data: about 5 s) does not dominate, as it does not in real studies.
    base={"strategy": "generative", "epochs": 8, "vae_epochs": 8, "schedule": "linear:500"},
    grid={"method": {"generative": {}}},
    seeds=4,
)
LISTED = False  # timed by `gr-bench bench`, not a question for users
