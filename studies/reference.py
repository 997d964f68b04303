"""The field's published table, reproduced: van de Ven & Tolias (2019), Split MNIST, class-incremental.

Every configuration runs their protocol (config.VAN_DE_VEN_2019: classifier 784-400-400-10, a
separate VAE 784-400-400-z100, Adam 1e-3, batch 128, 2,000 iterations per task, a fresh replay
batch every step weighted 1 - 1/t, loss over the classes seen so far, classes permuted per seed) on
full MNIST. The report sets gr-bench's mean and 95% t-interval beside the published mean ± SEM
(20 seeds in the paper: each entry's n) and judges the difference with Welch t-tests, each
Holm-adjusted over the published rows at alpha 0.05: "reproduced (within ±1.5)" where two
one-sided tests show it within 1.5 points, "differs (beyond ±1.5)" where a one-sided test shows it
beyond, "higher"/"lower than published (within reach of ±1.5)" where only the test of no
difference rejects, "can't tell" otherwise
(gr_bench/report/published.py).

Published figures: "Three scenarios for continual learning" (arXiv 1904.07734), Table 4: none,
DGR, DGR+distill; joint ("offline", trained on all tasks so far at every task) from the same
authors' replay-through-feedback submission (ICLR 2019 submission, Table 3), which ran the same
protocol. Their table has no plain experience replay; er-2000 stores 2,000 real images (the
exemplar budget their iCaRL used, 94.57 ± 0.11, a different method) and is shown without a
published figure.
"""

from gr_bench.config import VAN_DE_VEN_2019
from gr_bench.study import StudySpec

METHODS = {
    "none": {"strategy": "none"},
    "joint": {"strategy": "joint"},
    "er-2000": {"strategy": "buffer", "buffer": 2000},
    "dgr": {"strategy": "generative", "labels": "hard"},
    "dgr-distill": {"strategy": "generative", "labels": "soft"},
}

THREE_SCENARIOS = "van de Ven & Tolias 2019, arXiv 1904.07734, Table 4 (20 seeds)"
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
)
