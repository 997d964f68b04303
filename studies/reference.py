"""The field's published table, reproduced: van de Ven & Tolias (2019), Split MNIST, in each of the
three scenarios (class-incremental by default; `--scenario task` and `--scenario domain` for the
paper's other two columns, in the folders reference-task/ and reference-domain/).

Every configuration runs their protocol (config.VAN_DE_VEN_2019: classifier 784-400-400, a
separate VAE 784-400-400-z100, Adam 1e-3, batch 128, 2,000 iterations per task, a fresh replay
batch every step weighted 1 - 1/t, classes permuted per seed) on full MNIST. The report sets
gr-bench's mean and 95% t-interval beside the published mean ± SEM of the scenario it ran in (20
seeds in the paper: each entry's n) and judges the difference with Welch t-tests, each
Holm-adjusted over the published rows at alpha 0.05: "reproduced (within ±1.5)" where two
one-sided tests show it within 1.5 points, "differs (beyond ±1.5)" where a one-sided test shows it
beyond, "higher"/"lower than published (within reach of ±1.5)" where only the test of no
difference rejects, "can't tell" otherwise
(gr_bench/report/published.py).

What differs between the scenarios, as in the paper and its code (GMvandeVen/continual-learning as
of 2019: data.py get_multitask_experiment, train.py train_cl, encoder.py Classifier.train_a_batch,
evaluate.py validate):
- class (the default): one 10-unit head; the training loss covers the classes seen so far
  (active_outputs=seen), evaluation all ten; a replayed sample's label is the old classifier's
  argmax over the classes seen so far, its distillation target the softmax over them (T = 2).
- task: the same 10 units read as one 2-unit head per task (models.head_log_softmax); a sample is
  trained and evaluated only among its own task's two units, so a task's accuracy never drops below
  chance through another task's units. A replayed sample belongs to no task: the old classifier
  labels it once per earlier task, within that task's head (argmax, or softmax at T = 2 for
  distillation), and the sample is trained under every one of those heads, the replay loss the mean
  over them (strategies/generative.py). Before this, gr-bench labelled it once, under the head of
  its argmax over all earlier classes: one head per sample instead of all of them.
- domain: one 2-unit head shared by every task; a digit's label is its class's position within its
  task (0 or 1); every output is active in training, in replay labelling and distillation, and in
  evaluation.
One difference remains, in task-IL joint only: gr-bench trains on all tasks so far mixed into one
set, so each task weighs by its share of the images; their code draws an equal part of every batch
from each task and averages the per-task losses, weighing each 1/t. MNIST's tasks differ in size by
at most about 15%, which moves a task's weight at most about 7% from 1/t. In class- and domain-IL
their joint mixes the tasks as gr-bench does.

Published figures: "Three scenarios for continual learning" (arXiv 1904.07734v1), Table 4, the
split MNIST table with one column per scenario: none, DGR, DGR+distill in all three; joint
("offline", trained on all tasks so far at every task) in task- and domain-IL. Class-IL joint comes
from the same authors' replay-through-feedback submission (ICLR 2019 submission, Table 3), which ran
the same protocol. Their table has no plain experience replay; er-2000 stores 2,000 real images (the
exemplar budget their iCaRL used, 94.57 ± 0.11 in class-IL, a different method) and is shown
without a published figure.
"""

from gr_bench.config import VAN_DE_VEN_2019
from gr_bench.orchestration import StudySpec

METHODS = {
    "none": {"strategy": "none"},
    "joint": {"strategy": "joint"},
    "er-2000": {"strategy": "buffer", "buffer": 2000},
    "dgr": {"strategy": "generative", "labels": "hard"},
    "dgr-distill": {"strategy": "generative", "labels": "soft"},
}

THREE_SCENARIOS = "van de Ven & Tolias 2019, arXiv 1904.07734, Table 4 (20 seeds)"


def _column(scenario: str, figures: dict[str, tuple[float, float]]) -> dict[str, dict[str, object]]:
    """One scenario's column of Table 4: label -> mean ± SEM over the paper's 20 seeds."""
    source = THREE_SCENARIOS.replace("Table 4", f"Table 4, {scenario}")
    return {label: {"mean": mean, "sem": sem, "n": 20, "source": source} for label, (mean, sem) in figures.items()}


# "offline" is their joint: trained on every task so far at each task
TASK_IL = _column("Task-IL", {"none": (87.19, 0.94), "joint": (99.66, 0.02), "dgr": (99.50, 0.03),
                              "dgr-distill": (99.61, 0.02)})
DOMAIN_IL = _column("Domain-IL", {"none": (59.21, 2.04), "joint": (98.42, 0.06), "dgr": (95.72, 0.25),
                                  "dgr-distill": (96.83, 0.20)})
RTF_ICLR = "van de Ven & Tolias, ICLR 2019 submission (replay through feedback), Table 3 (20 seeds)"

STUDY = StudySpec(
    name="reference",
    summary="the published Split MNIST class-IL table (none, joint, ER, DGR, DGR+distill) on full MNIST",
    base={"dataset": "mnist", **VAN_DE_VEN_2019},
    grid={"method": METHODS},
    anchor="dgr",
    seeds=5,
    published={
        "none": {"mean": 19.90, "sem": 0.02, "n": 20, "source": THREE_SCENARIOS},
        "joint": {"mean": 97.93, "sem": 0.04, "n": 20, "source": RTF_ICLR},
        "dgr": {"mean": 90.79, "sem": 0.41, "n": 20, "source": THREE_SCENARIOS},
        "dgr-distill": {"mean": 91.79, "sem": 0.32, "n": 20, "source": THREE_SCENARIOS},
    },
    quick={"seeds": 2, "base": {"iters": 100, "vae_iters": 100}},
    scenarios={
        "task": {"summary": "the published Split MNIST task-IL table (none, joint, ER, DGR, DGR+distill) on full "
                            "MNIST, one 2-unit head per task", "published": TASK_IL},
        "domain": {"summary": "the published Split MNIST domain-IL table (none, joint, ER, DGR, DGR+distill) on "
                              "full MNIST, one 2-unit head for every task", "published": DOMAIN_IL},
    },
)
