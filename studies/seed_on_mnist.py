"""The source report's generative replay on full Split MNIST, and what it takes to reach the field's figure.

The report's settings (MLP 784-50-50-50-10, VAE 784-512-256-z2, per-task replay of 1,000*t images
beside a task's ~12,000 new ones, 10 epochs of batch 64) forget most of the old tasks on full MNIST.
Each arm changes one thing from those settings, so the comparison with the anchor ("seed") names
exactly what differs; "vandeven2019" changes them all at once (their DGR protocol, config.VAN_DE_VEN_2019).
none, joint and a 1,000-image buffer at the report's settings bound the range.
"""

from gr_bench.config import VAN_DE_VEN_2019
from gr_bench.orchestration import StudySpec

ARMS = {
    "seed": {},
    "per-batch": {"replay_mode": "per-batch"},
    "soft-labels": {"labels": "soft"},
    "latent-100": {"latent": 100},
    "seen-outputs": {"active_outputs": "seen"},
    "vandeven2019": dict(VAN_DE_VEN_2019),
    "none": {"strategy": "none"},
    "joint": {"strategy": "joint"},
    "buffer-1000": {"strategy": "buffer", "buffer": 1000},
}
QUICK_STEPS = {"iters": 50, "vae_iters": 50}

STUDY = StudySpec(
    name="seed_on_mnist",
    summary="the source report's generative replay on full MNIST, one change at a time towards the published protocol",
    base={"strategy": "generative", "dataset": "mnist"},
    grid={"arm": ARMS},
    anchor="seed",
    seeds=3,
    # --quick: every arm at 50 steps per task, vandeven2019 included (its own 2,000 iterations come
    # after the base and would make its 2 quick runs most of the look: tests/test_quick.py)
    quick={"seeds": 2, "grid": {"arm": {**ARMS, "vandeven2019": {**VAN_DE_VEN_2019, **QUICK_STEPS}}},
           "base": {"strategy": "generative", "dataset": "mnist", "epochs": 1, "vae_epochs": 1, **QUICK_STEPS}},
)
