"""Every interval at its verdict's level and every comparison within one code: the budgets family
in stats.csv, a sequential study's looks, and seeds whose runs ran different code."""

import math

import numpy as np
import pandas as pd
import pytest

from gr_bench import group_sequential as gs
from gr_bench import stats
from gr_bench.report import analysis
from gr_bench.report.analysis import Comparisons
from gr_bench.report.header import codes_text
from gr_bench.report.markdown import seed_ranges

MIB = 2**20


def _memory_runs(seeds=range(5), code=lambda seed: "aaaaaaaaaaaa") -> pd.DataFrame:
    """Two buffers (1/2x and 1x of a 4 MiB generator) and two generators, the small one within
    both budgets, the large one within 1x only."""
    arms = {  # label: (strategy, kept bytes, buffer_bytes, mean accuracy)
        "buffer-1/2x": ("buffer", 2 * MIB, "match-generator:0.5", 0.80),
        "buffer-1x": ("buffer", 4 * MIB, "match-generator:1", 0.90),
        "small/per-task": ("generative", 1 * MIB, "", 0.70),
        "large/per-task": ("generative", 4 * MIB, "", 0.85),
    }
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"stage": "search", "label": lab, "status": "ok", "seed": s, "strategy": st,
                          "memory_bytes": kept, "generator_bytes": 4 * MIB, "buffer_bytes": bb,
                          "final_avg_acc": acc + 0.02 * rng.standard_normal(), "code_version": code(s)}
                         for lab, (st, kept, bb, acc) in arms.items() for s in seeds])


def test_the_budgets_family_is_in_stats_csv_at_its_own_level():
    result = analysis.analyse("memory", _memory_runs(), Comparisons("grid", ("buffer-1x",), families=("budgets",)))
    rows = [r for r in analysis.stats_rows(result.rows) if r["family"] == "budgets"]
    assert {(r["a"], r["b"]) for r in rows} == {("small/per-task", "buffer-1/2x"), ("large/per-task", "buffer-1x")}
    assert all(r["role"] == "budgets" and r["family_size"] == 2 for r in rows)
    # one look: each row at its own Holm step's level, computed with the verdict: alpha/2 for the
    # smaller p, alpha for the larger (p 0.029: rejected at the last step, where a Bonferroni
    # interval at 1 - alpha/2 would still hold zero beside "worse")
    for r in rows:
        step = sum(o["p_value"] >= r["p_value"] for o in rows)  # 2 for the smallest p, 1 for the largest
        assert r["alpha_nominal"] == pytest.approx(0.05 / step) and r["ci_level"] == pytest.approx(1 - 0.05 / step)
    assert sorted(r["ci_level"] for r in rows) == pytest.approx([0.95, 0.975])
    primary = [r for r in result.rows if r["role"] == "primary"]
    assert len(primary) == 3
    assert sorted(r["ci_level"] for r in primary) == pytest.approx([0.95, 1 - 0.05 / 3, 1 - 0.05 / 3])
    for r in rows + primary:  # the interval excludes zero exactly when the verdict says a difference
        assert (r["ci_low"] > 0 or r["ci_high"] < 0) == (r["verdict"] in ("better", "worse"))


def test_an_interval_excludes_zero_exactly_when_holm_rejects():
    """Random families of 2 to 6 paired comparisons at 5 seeds, one look: each row's interval is at
    its Holm step's level, and excludes zero exactly when statsmodels' Holm rejects it."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for _ in range(40):
        m = int(rng.integers(2, 7))
        groups = {"ref": rng.normal(0, 1, 5), **{f"a{i}": rng.normal(rng.uniform(0, 2.5), 1, 5) for i in range(m)}}
        rows = stats.compare_family(groups, [(f"a{i}", "ref") for i in range(m)], metric="x", study="s", paired=True)
        rejected = multipletests([r["p_value"] for r in rows], alpha=0.05, method="holm")[0]
        for r, rej in zip(rows, rejected):
            assert (r["ci_low"] > 0 or r["ci_high"] < 0) == bool(rej)
            assert 0.05 / m - 1e-12 <= r["alpha_nominal"] <= 0.05 + 1e-12


def test_a_sequential_studys_intervals_are_at_each_looks_level():
    """Under a design, a row's interval is at 1 minus its look's nominal level at its Holm round's
    share, the level its p-value is held to (here every row is rejected in the first round, at
    alpha/k; the even split alpha/K/k would be stricter)."""
    runs = _memory_runs(range(10))
    design = gs.Design(seeds=(frozenset(range(5)), frozenset(range(10))), cap=10, spending="pocock")
    result = analysis.analyse("memory", runs, Comparisons("grid", ("buffer-1x",), families=("budgets",), design=design))
    for r in result.rows:
        k = r["family_size"]
        n = [5, 10][: r["looks"]]
        level = gs.t_levels(tuple(n), 10, 0.05 / k, "pocock")[r["look"] - 1]
        assert r["alpha_nominal"] == pytest.approx(level) and r["ci_level"] == pytest.approx(1 - level)
        x = runs.loc[(runs["label"] == r["a"]) & (runs["seed"] < 5 * r["look"]), "final_avg_acc"].to_numpy()
        y = runs.loc[(runs["label"] == r["b"]) & (runs["seed"] < 5 * r["look"]), "final_avg_acc"].to_numpy()
        interval = stats.diff_interval(x, y, paired=True, confidence=1 - level)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(interval)
    decided_early = [r for r in result.rows if r["look"] == 1 and r["looks"] == 2]
    assert decided_early and all(r["verdict"] in ("better", "worse") for r in decided_early)


def test_a_seed_whose_runs_ran_different_code_is_left_out():
    """Seed 3's two arms ran at different commits, which ran different code: that pair is not
    compared; the other four are. Commits that ran the same run code pair as one."""
    runs = _memory_runs(code=lambda s: "aaaaaaaaaaaa")
    runs.loc[(runs["seed"] == 3) & (runs["label"] == "buffer-1x"), "code_version"] = "bbbbbbbbbbbb"
    rows = {(r["a"], r["b"]): r for r in analysis.analyse("memory", runs, Comparisons("grid", ("buffer-1x",))).rows
            if r["metric"] == "final_avg_acc"}
    assert rows[("buffer-1/2x", "buffer-1x")]["n_a"] == 4
    # two commits that ran the same modules (the same run code) pair as one code
    same = runs.assign(run_code="cccccccccccc")
    rows = {(r["a"], r["b"]): r for r in analysis.analyse("memory", same, Comparisons("grid", ("buffer-1x",))).rows
            if r["metric"] == "final_avg_acc"}
    assert rows[("buffer-1/2x", "buffer-1x")]["n_a"] == 5
    text = codes_text(same)
    assert "from 2 commits (aaaaaaaaaaaa: seeds 0-4; bbbbbbbbbbbb: seeds 3)" in text
    assert "the same run code cccccccccccc" in text and "only when they ran the same run code" in text
    assert codes_text(_memory_runs().assign(run_code="cc")).startswith("Every run ran at one code: commit aaaaaaaaaaaa")


def test_seed_ranges():
    assert seed_ranges([0, 1, 2, 3, 4, 7, 9, 10]) == "0-4, 7, 9-10" and seed_ranges([]) == ""


def test_exact_costs_are_stated_not_tested():
    """Training FLOPs, the same on every seed: stats.csv says test=exact with the exact difference,
    no p-value and no interval; the sentence states it."""
    g = pd.DataFrame([{"label": lab, "seed": s, "flops_train": f} for lab, f in (("best", 9.4e12), ("ref", 4.0e12))
                      for s in range(5)])
    row = stats.compare_family(g, [("best", "ref")], metric="flops_train", study="s", paired=True,
                               relative=True)[0]
    assert row["test"] == "exact" and row["diff"] == pytest.approx(5.4e12)
    assert all(math.isnan(row[k]) for k in ("p_value", "p_holm", "ci_low", "ci_high", "tost_p"))
    assert stats.details(row, scale=1e-9, unit="GFLOP") == "+5,400.0 GFLOP (+135%), the same on every seed (n=5)"


def test_a_look_with_one_seed_tests_nothing_and_breaks_nothing():
    """A design whose first look has a single seed: that look has no p and no level of its own; the
    later looks are tested."""
    runs = _memory_runs(range(4))
    design = gs.Design(seeds=(frozenset({0}), frozenset(range(4))), cap=4, spending="pocock")
    rows = analysis.analyse("memory", runs, Comparisons("grid", ("buffer-1x",), design=design)).rows
    acc = [r for r in rows if r["metric"] == "final_avg_acc"]
    assert acc and all(r["looks"] == 2 and r["look"] == 2 and r["n_a"] == 4 for r in acc)
