"""Learning rate and per-task learning-rate decay (the seed's second proposed improvement).

Searches the classifier learning rate, its decay factor per task (lr_t = lr * decay**t), its
schedule within a task (constant, cosine, cosine restarting every epoch) and the optimizer, for
generative and buffer replay alike; the defaults of both are re-evaluated beside the best
configurations found, with each default given only the best's strategy, or only its optimisation
settings, so the two changes get their own verdicts.

`optimizer` is the classifier's: the generator keeps Adam (`vae_optimizer=adam` in the base), so
a trial changes the classifier's optimisation only, and the VAE is trained alike in every trial.
"""

from gr_bench.orchestration import StudySpec


def space(trial, n_tasks: int) -> dict:
    return {
        "strategy": trial.suggest_categorical("strategy", ("generative", "buffer")),
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "lr_decay": trial.suggest_float("lr_decay", 0.3, 1.0),
        "optimizer": trial.suggest_categorical("optimizer", ("adam", "sgd")),
        "lr_schedule": trial.suggest_categorical("lr_schedule", ("constant", "cosine", "restarts")),
    }


STUDY = StudySpec(
    name="lr",
    summary="classifier lr, per-task lr decay and optimizer, for generative and buffer replay",
    base={"val_fraction": 0.1, "buffer": 1000, "vae_optimizer": "adam"},
    space=space,
    seeds=2,
    trials=24,
    top=3,
    # Holm over up to 10 comparisons (top 3 and up to 2 ablations, against each of 2 defaults),
    # paired t on 9 seeds: report.md states the minimum detectable effect at that family size
    eval_seeds=9,
    reference={"generative-default": {"strategy": "generative"}, "buffer-default": {"strategy": "buffer"}},
    attribution={"strategy": ("strategy",), "optimisation": ("lr", "lr_decay", "optimizer", "lr_schedule")},
    quick={"trials": 6, "seeds": 2, "eval_seeds": 2, "top": 2,
           "base": {"epochs": 3, "vae_epochs": 3, "schedule": "linear:500"}},
)
