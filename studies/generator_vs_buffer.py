"""Does your generator beat a buffer of its own bytes? The one study a generator's author runs:

    gr-bench study generator_vs_buffer --set generator=my_module:MyGenerator [--dataset fashion-mnist] [--quick]

(docs/plugins.md: a generator is one file that subclasses gr_bench.models.Generator.) The
generator that --set names trains in the arms "yours/per-task" (the source report's replay set
before each task) and "yours/per-batch" (a fresh replay batch every step). The anchor is the
buffer of real images in exactly the bytes your generator keeps between tasks
("buffer-equal-bytes": buffer_bytes=match-generator, sized at run time from your generator's
planned_bytes and the classifier copy that labels its samples): every arm is compared with it,
paired by seed. Around them, as in studies/memory.py and built by the same functions: buffers of
1/16 to 2x the report VAE's bytes (the memory study's budgets) and, as reference points, the source report's
VAE and the per-class Gaussian mixtures (per-task). The reference arms and those buffers set
generator back to the built-ins in their own grid entries (a grid entry's settings win over --set).

report.md (and the terminal) answers: the verdict at equal bytes, each arm's place on the
accuracy-bytes and accuracy-FLOPs Pareto fronts, its training cost, and at each budget the best
generator within it against that buffer (studies/_memory_answer.py). Without --set generator, "yours"
is the source report's VAE.
"""

from gr_bench.studies.memory import RATIOS, buffer_arms, generator_arms

from gr_bench.orchestration import StudySpec

ANCHOR = "buffer-equal-bytes"
REFERENCES = {
    "vae-report": {"generator": "vae"},
    "gmm": {"generator": "gmm"},
    "gmm-heldout": {"generator": "gmm", "gmm_select": "heldout"},
}

ARMS = {
    **generator_arms({"yours": {}}),  # the generator --set names, per-task and per-batch
    ANCHOR: {"strategy": "buffer", "buffer_bytes": "match-generator"},  # your generator's own bytes
    **generator_arms(REFERENCES, modes=("per-task",)),
    **buffer_arms(RATIOS, generator="vae"),  # the memory study's budgets: R x the report VAE's bytes
}
QUICK_ARMS = {k: ARMS[k] for k in ("yours/per-task", "yours/per-batch", ANCHOR, "vae-report/per-task", "gmm/per-task",
                                   "buffer-1/4x", "buffer-1x")}


def answer(analysis, runs):
    """report.md's answer at equal bytes against ANCHOR, after its Answer (studies/_memory_answer.py,
    imported only when a report is written): given the analysis and runs.csv's rows."""
    from gr_bench.studies._memory_answer import equal_bytes_section

    return equal_bytes_section(runs, analysis.stats_frame(), ANCHOR)


STUDY = StudySpec(
    name="generator_vs_buffer",
    summary="your generator (--set generator=module:Class), per-task and per-batch, against a buffer of its own "
            "bytes; buffers of 1/16..2x the report VAE's bytes, the report VAE and the mixtures as reference points",
    base={},
    grid={"arm": ARMS},
    anchor=ANCHOR,
    answer=answer,
    families=("budgets",),  # at every buffer budget: the best generator within its bytes against it
    seeds=5,
    quick={"seeds": 2, "grid": {"arm": QUICK_ARMS}, "base": {"epochs": 2, "vae_epochs": 2, "schedule": "linear:500"}},
)
