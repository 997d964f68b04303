"""Per-task or per-batch replay, hard or soft labels (generative replay with the seed's VAE).

per-task: the seed's scheme, one replay set of `linear:1000` samples generated before each task
and mixed into its data; per-batch: fresh samples every step, as many as the batch holds, with the
t-th task's own data weighed 1/t (Shin et al. 2017; van de Ven et al. 2020). Per-batch replay
trains every task on the same number of steps, where per-task replay's steps grow with the replay
set. Labels: the old classifier's argmax, or its softmax at temperature 2 for distillation.
"""

from gr_bench.orchestration import StudySpec

STUDY = StudySpec(
    name="replay_mode",
    summary="generative replay per task vs per batch, with hard vs soft (distilled) labels",
    base={"strategy": "generative"},
    grid={
        "mode": {"per-task": {"replay_mode": "per-task"}, "per-batch": {"replay_mode": "per-batch"}},
        "labels": {"hard": {"labels": "hard"}, "soft": {"labels": "soft"}},
    },
    anchor="per-task hard",  # the seed's scheme: each variant against it
    seeds=8,
    quick={"seeds": 2, "base": {"epochs": 3, "vae_epochs": 3, "schedule": "linear:500"}},
)
