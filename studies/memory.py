"""The memory frontier: accuracy against the bytes kept between tasks, and against training cost.

Generators, each with per-task replay (the source report's 1,000*t images before a task) and
per-batch replay (a fresh batch every step, weighted 1 - 1/t):
- vae-report: the report's VAE (784-512-256, 2-d latent) with its classifier copy, 4,454,720 bytes;
- vae-small: 128-64 with an 8-d latent, 4.9x fewer parameters;
- vae-vandeven: van de Ven & Tolias' 400-400 with a 100-d latent, as large as the report's;
- cvae: class-conditional, its own labels (no classifier copy);
- gmm: per-class Gaussian mixtures in a per-class PCA space, fitted in closed form;
- gmm-heldout: the same, each class's PCA size and mixture size (at most gmm's 32 and 3) chosen
  by the log-likelihood of a held-out 20% of its images (gmm_select=heldout);
- rtf: replay-through-feedback, the classifier is the VAE's encoder (one model).
Buffers of real images at byte budgets of 1/16 to 2x the report's VAE (buffer_bytes=
match-generator:R, with the report VAE as the generator they are matched to). The anchor is the
buffer of exactly the report's VAE's bytes: "at equal bytes, which wins?"

Run it on each dataset: `gr-bench study memory` (full MNIST) and `--dataset fashion-mnist`.
Plots: accuracy against kept bytes (log x) and against training FLOPs, Pareto front marked.
A generator of your own: `gr-bench study generator_vs_buffer --set generator=module:Class` puts it
among these arms, built by the same functions (generator_arms, buffer_arms).
report.md answers at equal bytes after its Answer (studies/_memory_answer.py): each arm's kept bytes,
accuracy, training cost and place on the two fronts, and at each buffer budget the best generator
within it against that buffer.
"""

from gr_bench.orchestration import StudySpec

GENERATORS = {
    "vae-report": {},
    "vae-small": {"vae_hidden": (128, 64), "latent": 8},
    "vae-vandeven": {"vae_hidden": (400, 400), "latent": 100},
    "cvae": {"generator": "cvae"},
    "gmm": {"generator": "gmm"},
    "gmm-heldout": {"generator": "gmm", "gmm_select": "heldout"},
    "rtf": {"generator": "rtf"},
}
RATIOS = {"1/16": 0.0625, "1/8": 0.125, "1/4": 0.25, "1/2": 0.5, "1": 1.0, "2": 2.0}
MODES = ("per-task", "per-batch")


def generator_arms(generators: dict[str, dict], modes: tuple[str, ...] = MODES) -> dict[str, dict]:
    """'<name>/<mode>': generative replay with each generator's overrides, in each replay mode."""
    return {f"{name}/{mode}": {"strategy": "generative", "replay_mode": mode, **over}
            for name, over in generators.items() for mode in modes}


def buffer_arms(ratios: dict[str, float] = RATIOS, **over: object) -> dict[str, dict]:
    """'buffer-<R>x': a buffer of R times the bytes generative replay keeps with the arm's generator
    (buffer_bytes=match-generator:R; `over` may name that generator)."""
    return {f"buffer-{label}x": {"strategy": "buffer", "buffer_bytes": f"match-generator:{r}", **over}
            for label, r in ratios.items()}


ANCHOR = "buffer-1x"  # a buffer of exactly the report's VAE + classifier bytes
ARMS = {**generator_arms(GENERATORS), **buffer_arms()}
QUICK_ARMS = {k: ARMS[k] for k in
              ("vae-report/per-task", "vae-small/per-task", "gmm/per-task", "buffer-1/4x", "buffer-1x")}


def answer(analysis, runs):
    """report.md's answer at equal bytes against ANCHOR, after its Answer (studies/_memory_answer.py,
    imported only when a report is written): given the analysis and runs.csv's rows."""
    from gr_bench.studies._memory_answer import equal_bytes_section

    return equal_bytes_section(runs, analysis.stats_frame(), ANCHOR)


STUDY = StudySpec(
    name="memory",
    summary="memory frontier: seven generators (per-task and per-batch) against buffers of 1/16..2x the VAE's bytes",
    base={},
    grid={"arm": ARMS},
    anchor=ANCHOR,
    answer=answer,
    families=("budgets",),  # at every buffer budget: the best generator within its bytes against it
    seeds=5,
    quick={"seeds": 2, "grid": {"arm": QUICK_ARMS}, "base": {"epochs": 2, "vae_epochs": 2, "schedule": "linear:500"}},
)
