"""The memory study's answer table: kept bytes against the report VAE's, the two Pareto fronts, and
the study's own verdicts against the equal-bytes buffer (studies/_memory_answer.py, the memory and
generator_vs_buffer studies' StudySpec.answer)."""

import dataclasses

import pandas as pd
import pytest
from gr_bench.studies import _memory_answer as memory_answer
from gr_bench.studies.memory import ANCHOR

from gr_bench.orchestration import Section, get_spec, spec_fingerprint
from gr_bench.report import analysis
from gr_bench.report.analysis import Comparisons

SEED_VAE = 4_454_720


def _runs() -> pd.DataFrame:
    arms = {  # label: (kept bytes, accuracy, training FLOPs)
        "buffer-1x": (SEED_VAE, 0.93, 1e12), "buffer-1/4x": (SEED_VAE // 4, 0.88, 1e12),
        "vae-report/per-task": (SEED_VAE, 0.49, 5e12), "gmm/per-batch": (SEED_VAE // 2, 0.90, 1.5e12)}
    return pd.DataFrame([{"label": a, "status": "ok", "seed": s, "memory_bytes": b, "generator_bytes": SEED_VAE,
                          "final_avg_acc": acc + 0.01 * s, "flops_train": f, "cpu_s": 10.0 * (s + 1)}
                         for a, (b, acc, f) in arms.items() for s in range(3)])


def _stats() -> pd.DataFrame:
    primary = [{"metric": "final_avg_acc", "a": a, "b": "buffer-1x", "diff_points": d, "ci_low_points": d - 1,
                "ci_high_points": d + 1, "ci_level": 1 - 0.05 / 3, "verdict": v, "role": "primary"}
               for a, d, v in (("buffer-1/4x", -5.0, "worse"), ("vae-report/per-task", -44.0, "worse"),
                               ("gmm/per-batch", -3.0, "worse"))]
    # the budgets family tests the same pair again, at its own level: not a second row of the arm
    budgets = dict(primary[1], ci_low_points=-46.0, ci_level=0.95, role="budgets")
    return pd.DataFrame(primary + [budgets])


def test_fronts_ratios_and_verdicts():
    t = memory_answer.arm_table(_runs(), _stats(), ANCHOR).set_index("label")
    assert list(t.index) == ["buffer-1x", "gmm/per-batch", "buffer-1/4x", "vae-report/per-task"]  # by accuracy
    assert t.loc["buffer-1/4x", "bytes_ratio"] == 0.25 and t.loc["vae-report/per-task", "bytes_ratio"] == 1
    assert t["front_bytes"].to_dict() == {"buffer-1x": True, "gmm/per-batch": True, "buffer-1/4x": True,
                                          "vae-report/per-task": False}
    assert not t.loc["gmm/per-batch", "front_flops"] and t.loc["buffer-1x", "front_flops"]
    text = memory_answer.markdown(memory_answer.arm_table(_runs(), _stats(), ANCHOR), ANCHOR)
    row = "| vae-report/per-task | 4.25 | 1 | 50.0 (1.0, 3) | 5.00 | 20 |  |  | -44.0 [-45.0, -43.0] at 98.33%: worse |"
    assert row in text and text.count("| vae-report/per-task |") == 1
    assert "| buffer-1x | 4.25 | 1 |" in text and "anchor |" in text


def test_the_answer_comes_through_the_spec_and_reads_only_what_it_is_given():
    """The memory study's hook (StudySpec.answer) is given the analysis and the runs: a section after
    the Answer when its anchor is a bytes-matched buffer, nothing for runs whose anchor is not one."""
    runs = _runs().assign(stage="search", strategy=lambda d: d["label"].map(
        lambda lab: "buffer" if lab.startswith("buffer") else "generative"), generator="vae",
        buffer_bytes=lambda d: d["label"].map(lambda lab: "match-generator:1" if lab.startswith("buffer") else ""))
    result = analysis.analyse("memory", runs, Comparisons("grid", (ANCHOR,), families=("budgets",)))
    answer = get_spec("memory").answer
    sections = answer(result, runs)
    assert len(sections) == 1 and isinstance(sections[0], Section)
    assert sections[0].markdown.startswith("## At equal bytes, on the fronts, and at what cost\n")
    assert "#### At every buffer budget" in sections[0].markdown
    assert sections[0].lines[0].startswith("vae-report/per-task: ") and "Holm over" in sections[0].lines[-1]
    assert answer(result, runs.assign(buffer_bytes="")) == []  # a buffer of a fixed size: no answer at equal bytes
    # how a report words its answer is no part of the study's definition: stored studies still resume
    spec = get_spec("memory")
    assert spec_fingerprint(spec) == spec_fingerprint(dataclasses.replace(spec, answer=None))


def test_each_buffer_budget_meets_the_best_generator_within_its_bytes():
    runs = _runs().assign(strategy=lambda d: d["label"].map(lambda lab: "buffer" if lab.startswith("buffer") else
                                                            "generative"))
    runs.loc[runs["label"] == "gmm/per-batch", "final_avg_acc"] += [0.0, 0.02, -0.01]  # noisy pairs
    result = analysis.analyse("memory", runs.assign(stage="search"),
                              Comparisons("grid", (ANCHOR,), families=("budgets",)))
    stats = result.stats_frame()  # as stats.csv holds them
    t = memory_answer.budget_table(runs, stats).set_index("buffer")
    # buffer-1/4x (1.06 MiB) holds no generator (gmm keeps 2.12 MiB); buffer-1x holds gmm and the VAE
    assert t.loc["buffer-1/4x", "generator"] == "" and t.loc["buffer-1/4x", "verdict"] == "no generator this small"
    assert t.loc["buffer-1x", "generator"] == "gmm/per-batch"  # the more accurate of the two that fit
    assert round(100 * t.loc["buffer-1x", "diff"], 6) == round(100 * (0.90 + 0.01 / 3 - 0.93), 6)
    assert t.loc["buffer-1x", "ci_level"] == 0.95  # one budget with a generator: a family of one
    text = memory_answer.budget_sentence(memory_answer.budget_table(runs, stats))
    assert "Holm over 1 budget;" in text and "buffer-1/4x (1.06 MiB): no generator fits" in text
    # stats.csv holds the MDE in points: the table's is the analysis's own, a fraction
    budget_row = next(r for r in result.rows if r["role"] == "budgets")
    assert "mde" not in stats and t.loc["buffer-1x", "mde"] == pytest.approx(budget_row["mde"])
