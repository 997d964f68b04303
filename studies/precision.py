"""Is bf16 mixed precision safe? fp32 against bf16 autocast, paired by seed, within each setting.

`precision=bf16` runs the classifier's and the generator's forward and backward passes under
autocast, with fp32 master weights, optimizer state and loss reductions (trainer.py). It is trusted
only where this study shows it equivalent: a paired TOST within ±1 point of final average accuracy
(the report's default margin), Holm over the three settings:
- report: the source report's generative replay (MLP + VAE 784-512-256-z2, per-task replay);
- dgr-distill: van de Ven & Tolias' published protocol with distillation (config.VAN_DE_VEN_2019);
- gmm: per-class Gaussian mixtures (fitted in closed form in fp32; bf16 reaches the classifier only).
Each pair differs in `precision` only. Start with 5 seeds and let `--sequential 20` add blocks until
every TOST is decided; the report's power line says how many seeds a ±1 point TOST needs. What the
verdicts mean for `precision=bf16` (each setting's verdict, the seeds a TOST needs, CPU per CPU
model, the whole-run ratios) is studies/_precision_answer.py's, in docs/performance.md.

    gr-bench study precision --sequential 20
"""

from gr_bench.config import VAN_DE_VEN_2019
from gr_bench.orchestration import StudySpec

SETTINGS = {
    "report": {},
    "dgr-distill": {**VAN_DE_VEN_2019, "labels": "soft"},
    "gmm": {"generator": "gmm"},
}
PRECISIONS = {"fp32": {"precision": "fp32"}, "bf16": {"precision": "bf16"}}
QUICK_STEPS = {"iters": 50, "vae_iters": 50}
# An arm's overrides come after the base, so dgr-distill's own 2,000 iterations per task
# (VAN_DE_VEN_2019) are cut in its quick arm too: kept, its 4 quick runs alone took about 12 minutes
# of a 2-core quick look on full MNIST (442 s and 311 s of CPU each, fp32 and bf16, in results/precision)
QUICK_SETTINGS = {k: {**v, **QUICK_STEPS} if "iters" in v else v for k, v in SETTINGS.items()}

STUDY = StudySpec(
    name="precision",
    summary="fp32 against bf16 autocast, paired by seed: equivalent within ±1 point (TOST) in each setting?",
    # Only final accuracy is compared: evaluating after each task's last pass gives the same R for less.
    base={"strategy": "generative", "dataset": "mnist", "eval_every": "task"},
    grid={"setting": SETTINGS, "precision": PRECISIONS},
    anchor="fp32",  # within each setting
    compare_within="setting",
    seeds=5,
    # --quick: every setting at 50 steps per task (tests/test_quick.py checks the plan's time)
    quick={"seeds": 2, "grid": {"setting": QUICK_SETTINGS, "precision": PRECISIONS},
           "base": {"strategy": "generative", "dataset": "mnist", "eval_every": "task",
                    "epochs": 1, "vae_epochs": 1, **QUICK_STEPS}},
)
