"""The main job: how should generative replay's replay set grow, and with which learning rate?

Searches the schedule family and its size (the seed report's S = S0 + T*St and its hand-made
less-than-linear alternative), the classifier learning rate and its per-task decay (the seed's
"learning rate scheduling" improvement). Objective: mean validation accuracy over seeds. Then the
best configurations and the seed's linear schedule are re-run on the test split with new seeds,
trained on the whole training split, beside two ablations that split the best's gain in two:
the best's schedule at the reference's lr and decay (best-schedule@seed-linear:1000-lr), and the
reference's schedule at the best's lr and decay (best-lr@seed-linear:1000-schedule); each differs
from the reference in one group only, so the report gives the schedule and the lr/decay effect
their own verdicts.
"""

from gr_bench.study import StudySpec

FAMILIES = ("constant", "linear", "sqrt", "proportional", "manual")


def space(trial, n_tasks: int) -> dict:
    family = trial.suggest_categorical("family", FAMILIES)
    if family == "proportional":
        schedule = f"proportional:{trial.suggest_float('ratio', 0.25, 2.5, log=True):.3f}"
    elif family == "manual":  # one free size per task after the first, as the seed chose by hand
        sizes = [trial.suggest_int(f"size_{t}", 100, 2000, log=True) for t in range(1, n_tasks)]
        schedule = "manual:" + ",".join(map(str, sizes))
    else:
        schedule = f"{family}:{trial.suggest_int('size', 100, 2000, log=True)}"
    return {
        "schedule": schedule,
        "lr": trial.suggest_float("lr", 3e-4, 3e-3, log=True),
        "lr_decay": trial.suggest_float("lr_decay", 0.5, 1.0),
    }


STUDY = StudySpec(
    name="replay_schedule",
    summary="generative replay: search schedule family and size, classifier lr and per-task lr decay",
    base={"strategy": "generative", "val_fraction": 0.1},
    space=space,
    seeds=2,
    trials=24,
    top=3,
    # Holm over 5 comparisons (top 3 and 2 ablations against the reference): Wilcoxon's smallest p
    # with 8 paired seeds is 2/256, times 5 = 0.039 < 0.05
    eval_seeds=8,
    reference={"seed-linear:1000": {"schedule": "linear:1000"}},
    attribution={"schedule": ("schedule",), "lr": ("lr", "lr_decay")},
    multi_objective=True,
    quick={"trials": 6, "seeds": 2, "eval_seeds": 2, "top": 2, "base": {"epochs": 3, "vae_epochs": 3}},
)
