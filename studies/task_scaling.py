"""Training time and accuracy against the number of tasks, per replay schedule.

The seed report: with a replay set growing as S = S0 + T*St the data per task grows linearly and
the total training cost quadratically in T. Tasks of 2, 5 and 10 (the digit classes split 5, 2
and 1 per task) for constant, linear and sqrt schedules of the same unit size.

Accuracy is compared like with like: each schedule against the linear one at the same number of
tasks (accuracy over 2 tasks is not accuracy over 10). The cost's growth is a fitted exponent with
its 95% CI per schedule family (time ~ T^k; the report says whether k = 2 lies inside it). With 3
seeds the accuracy comparisons have little power (a paired t on 3 pairs, Holm over the family):
this study measures cost; the report states how many seeds an accuracy verdict would need.
"""

from gr_bench.orchestration import StudySpec


def _grid(unit: int, schedules: tuple[str, ...]) -> dict:
    return {
        "n_tasks": {str(t): {"n_tasks": t} for t in (2, 5, 10)},
        "schedule": {s: {"schedule": f"{s}:{unit}"} for s in schedules},
    }


STUDY = StudySpec(
    name="task_scaling",
    summary="number of tasks (2, 5, 10) x schedule (constant, linear, sqrt): time and accuracy vs T",
    base={"strategy": "generative"},
    grid=_grid(1000, ("constant", "linear", "sqrt")),
    anchor="linear",  # the seed's schedule, within each number of tasks
    compare_within="n_tasks",
    seeds=3,
    quick={"seeds": 1, "grid": _grid(300, ("constant", "linear")), "base": {"epochs": 2, "vae_epochs": 2}},
)
