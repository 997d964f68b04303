"""gr_bench.stats against hand-computed values (no second call to scipy for the expected side)."""
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gr_bench import stats as S

T_975_4 = 2.7764451051977987  # t quantile 0.975 with 4 degrees of freedom (tables)
FAST = dict(n_resamples=999)


# ---- holm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("p, expected", [
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    ([0.02, 0.01, 0.5], [0.04, 0.03, 0.5]),        # 3·0.01, 2·0.02, 1·0.5
    ([0.01, 0.011], [0.02, 0.02]),                  # step-down max: 0.011 < 0.02 is raised
    ([0.4, 0.5], [0.8, 0.8]),
    ([0.7, 0.9, 0.8], [1.0, 1.0, 1.0]),             # capped at 1
    ([0.2], [0.2]),                                 # a single p is unchanged
])
def test_holm_known_vectors(p, expected):
    np.testing.assert_allclose(S.holm(p), expected, rtol=1e-12)


def test_holm_nan_ignored_and_monotone():
    np.testing.assert_allclose(S.holm([0.01, np.nan, 0.04]), [0.02, np.nan, 0.04])
    p = np.random.default_rng(1).uniform(0, 0.2, 20)
    adj = S.holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0) and np.all(adj >= p) and np.all(adj <= 1)
    assert S.holm([]).shape == (0,)


# ---- min attainable p ---------------------------------------------------------------------
def test_min_attainable_p():
    assert S.min_attainable_p(5, 5, paired=True, test="wilcoxon") == 0.0625
    assert S.min_attainable_p(6, 6, paired=True, test="wilcoxon") == 0.03125
    assert S.min_attainable_p(5, 5, paired=False, test="mann-whitney") == pytest.approx(2 / 252)
    assert S.min_attainable_p(5, 5, paired=True, test="paired-t") == 0.0
    with pytest.raises(ValueError):
        S.min_attainable_p(5, 6, paired=True, test="wilcoxon")


# ---- compare: paired ----------------------------------------------------------------------
def test_five_paired_seeds_cannot_reach_alpha():
    b = np.array([0.70, 0.72, 0.69, 0.71, 0.73])
    row = S.compare(b + [0.03, 0.01, 0.04, 0.02, 0.05], b, paired=True, **FAST)
    assert row["p_value"] == 0.0625 and row["min_p"] == 0.0625
    assert row["underpowered"] is True and row["verdict"] == "underpowered"
    assert S.verdict(row, alpha=0.05) == "underpowered"
    text = S.sentence(row, "generative", "buffer")
    assert "underpowered: n=5 paired seeds cannot give p below 0.0625 with wilcoxon" in text


def test_ten_paired_seeds_better_then_negligible():
    b = np.linspace(0.6, 0.7, 10)
    a = b + 0.05 + 0.001 * np.arange(10)     # distinct differences: exact null distribution
    row = S.compare(a, b, paired=True, **FAST)
    assert row["p_value"] == pytest.approx(2 / 1024, rel=1e-12)
    assert row["test"] == "wilcoxon" and not row["underpowered"]
    assert row["diff"] == pytest.approx(0.0545)
    assert row["ci_low"] <= row["diff"] <= row["ci_high"]
    assert S.verdict(row) == "better"
    assert S.verdict(row, min_effect=0.1) == "negligible"
    assert S.verdict(dict(row, diff=-row["diff"])) == "worse"
    assert row["prob_improvement"] == 1.0 and row["cliffs_delta"] > 0


def test_paired_t_and_dz_by_hand():
    # d = c + [-2, -1, 0, 1, 2] with c chosen so that t = t_{0.975,4}: two-sided p is 0.05
    sd = math.sqrt(10 / 4)
    c = T_975_4 * sd / math.sqrt(5)
    b = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    a = b + c + np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    assert t == pytest.approx(T_975_4, rel=1e-12)
    row = S.compare(a, b, paired=True, **FAST)
    assert row["test_secondary"] == "paired-t"
    assert row["p_secondary"] == pytest.approx(0.05, abs=1e-9)
    assert row["effect_kind"] == "d_z"
    assert row["effect_size"] == pytest.approx(c / sd)          # d_z = mean(d)/sd(d) = t/sqrt(n)
    assert S.cohens_d(a, b, paired=True) == (pytest.approx(t / math.sqrt(5)), "d_z")


def test_paired_identical_results_and_zero_differences():
    x = [0.5, 0.6, 0.7, 0.8]
    row = S.compare(x, x, paired=True, **FAST)
    assert row["p_value"] == 1.0 and row["ci_low"] == row["ci_high"] == 0.0
    assert math.isnan(row["p_secondary"]) and math.isnan(row["effect_size"])
    assert row["verdict"] == "underpowered"  # 4 seeds could never reach 0.05 anyway
    # one zero difference among 6 seeds leaves 5 ranked differences: min p 0.0625
    b = np.arange(6) / 10
    row = S.compare(b + [0, 0.01, 0.02, 0.03, 0.04, 0.05], b, paired=True, **FAST)
    assert row["p_value"] == pytest.approx(0.0625) and row["min_p"] == 0.0625
    assert row["underpowered"]


# ---- compare: unpaired --------------------------------------------------------------------
def test_mann_whitney_exact_and_ties():
    row = S.compare([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], paired=False, **FAST)
    assert row["test"] == "mann-whitney" and row["test_secondary"] == "welch-t"
    assert row["p_value"] == pytest.approx(2 / 252) and row["min_p"] == pytest.approx(2 / 252)
    assert row["statistic"] == 25.0 and row["effect_kind"] == "d"
    assert row["ci_low"] <= row["diff"] == 5.0 <= row["ci_high"]
    # ties: scipy's normal approximation gives 0.047 here, below the exact minimum 2/C(6,3)
    row = S.compare([2, 2, 2], [1, 1, 1], paired=False, **FAST)
    assert row["p_value"] == pytest.approx(0.1) and row["verdict"] == "underpowered"


# ---- effect sizes -------------------------------------------------------------------------
def test_effect_sizes_by_hand():
    a, b = [3, 4, 5], [1, 4]
    assert S.cliffs_delta(a, b) == pytest.approx((4 - 1) / 6)
    assert S.prob_improvement(a, b, paired=False) == pytest.approx(4.5 / 6)
    assert S.prob_improvement([1, 2, 3, 4], [0, 2, 5, 1], paired=True) == pytest.approx(0.625)
    assert S.cohens_d([1, 2, 3], [3, 4, 5], paired=False) == (pytest.approx(-2.0), "d")
    assert math.isnan(S.cohens_d([1, 1], [2, 2], paired=False)[0])
    assert S.cliffs_delta([1, 2], [1, 2]) == 0.0


# ---- describe -----------------------------------------------------------------------------
def test_describe_t_ci_and_seeded_bootstrap():
    x = [0.1, 0.2, 0.3, 0.4, 0.6]
    mean, sd = 0.32, float(np.std(x, ddof=1))
    d = S.describe(x, **FAST)
    assert d["n"] == 5 and d["mean"] == pytest.approx(mean) and d["sd"] == pytest.approx(sd)
    half = T_975_4 * sd / math.sqrt(5)
    assert d["ci_low"] == pytest.approx(mean - half) and d["ci_high"] == pytest.approx(mean + half)
    assert d == S.describe(x, **FAST)                          # same seed, same bootstrap
    assert d["boot_low"] < mean < d["boot_high"]


def test_describe_degenerate():
    c = S.describe([0.7, 0.7, 0.7], **FAST)
    assert c["sd"] == 0.0 and c["ci_low"] == c["ci_high"] == c["boot_low"] == c["boot_high"]
    assert c["ci_low"] == pytest.approx(0.7)
    one = S.describe([0.5, np.nan], **FAST)
    assert one["n"] == 1 and one["mean"] == 0.5 and math.isnan(one["sd"])
    assert math.isnan(one["boot_low"]) and math.isnan(one["ci_high"])


# ---- degenerate compare -------------------------------------------------------------------
def test_compare_degenerate_inputs():
    row = S.compare([0.5], [0.4], paired=True, **FAST)
    assert math.isnan(row["p_value"]) and row["underpowered"] and row["verdict"] == "underpowered"
    assert "underpowered" in S.sentence(row, "a", "b")
    row = S.compare([0.5, np.nan, 0.6], [0.4, 0.3, np.nan], paired=True, **FAST)
    assert row["n_a"] == row["n_b"] == 1 and math.isnan(row["p_value"])  # NaN drops the pair
    row = S.compare([0.5, np.nan], [0.4, 0.3, 0.2], paired=False, **FAST)
    assert row["n_a"] == 1 and row["n_b"] == 3 and row["underpowered"]
    with pytest.raises(ValueError, match="equal lengths"):
        S.compare([1, 2, 3], [1, 2], paired=True)


# ---- sentence -----------------------------------------------------------------------------
def test_sentence_format():
    row = dict(n_a=10, n_b=10, diff=-0.012, ci_low=-0.020, ci_high=-0.003, test="wilcoxon",
               p_value=0.01, p_holm=0.031, effect_size=-1.4, effect_kind="d_z", min_p=2 / 1024,
               underpowered=False, verdict="worse")
    assert S.sentence(row, "generative", "buffer") == (
        "generative vs buffer: worse (diff -1.2 points, 95% CI [-2.0, -0.3], p_holm 0.031, "
        "d_z -1.40, wilcoxon, n=10)")
    assert S.sentence(row, "g", "b", "Is replay worth it?").startswith("Is replay worth it? g vs b")


# ---- compare_family / friedman ------------------------------------------------------------
def _frame():
    rng = np.random.default_rng(0)
    rows = [dict(label=lab, seed=s, acc=base + 0.01 * rng.standard_normal())
            for lab, base in [("gen", 0.80), ("buf", 0.85), ("none", 0.60)] for s in range(8)]
    return pd.DataFrame([r for r in rows if not (r["label"] == "buf" and r["seed"] == 7)])


def test_compare_family_dataframe():
    rows = S.compare_family(_frame(), [("gen", "buf"), ("gen", "none")], metric="acc",
                            study="replay", paired=True, n_resamples=999)
    assert [list(r) for r in rows] == [list(S.FAMILY_KEYS)] * 2
    assert list(S.FAMILY_KEYS[:19]) == [
        "study", "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low",
        "ci_high", "test", "statistic", "p_value", "p_holm", "effect_size", "effect_kind",
        "prob_improvement", "verdict"]
    extra = {"cliffs_delta", "min_p", "underpowered", "test_secondary", "p_secondary"}
    assert extra <= set(rows[0])
    assert rows[0]["n_a"] == 7 and rows[1]["n_a"] == 8        # inner join on seeds
    assert all(r["p_holm"] >= r["p_value"] for r in rows)
    assert rows[0]["verdict"] == "worse" and rows[1]["verdict"] == "better"
    assert rows[0]["study"] == "replay" and rows[0]["metric"] == "acc"


def test_holm_family_can_make_small_n_underpowered():
    # 6 seeds alone reach 0.03125, but Holm over 3 comparisons cannot go below 3 * 0.03125
    g = {k: np.arange(6) / 10 + off for k, off in [("x", 0.3), ("y", 0.2), ("z", 0.0)]}
    g["x"] = g["x"] + 0.001 * np.arange(6)
    rows = S.compare_family(g, [("x", "y"), ("x", "z"), ("y", "z")], metric="acc", study="s",
                            paired=True, n_resamples=999)
    assert all(r["min_p"] == 0.03125 and r["min_p_holm"] == 0.09375 for r in rows)
    assert all(r["verdict"] == "underpowered" for r in rows)
    text = S.sentence(rows[0], "x", "y")
    assert "cannot give p_holm below 0.0938 with wilcoxon after Holm" in text


def test_friedman_clear_ordering():
    seeds = np.arange(6)
    df = pd.DataFrame([dict(label=lab, seed=s, acc=base + 0.01 * s)
                       for lab, base in [("a", 0.9), ("b", 0.8), ("c", 0.7)] for s in seeds])
    res = S.friedman(df, metric="acc", n_resamples=999)
    # ranks 3, 2, 1 on all 6 seeds: chi2 = 12/(n k (k+1)) * sum R_j^2 - 3 n (k+1) = 84 - 72
    assert res["statistic"] == pytest.approx(12.0) and res["p_value"] == pytest.approx(math.exp(-6))
    assert res["n_seeds"] == 6 and res["labels"] == ["a", "b", "c"] and res["reason"] == ""
    assert len(res["posthoc"]) == 3 and all("p_holm" in r for r in res["posthoc"])
    res2 = S.friedman(df, metric="acc", labels=["a", "b"])
    assert math.isnan(res2["p_value"]) and "3 configurations" in res2["reason"]


# ---- power law ----------------------------------------------------------------------------
def test_power_law_fit():
    x = np.arange(1, 11, dtype=float)
    exact = S.power_law_fit(x, 3 * x**2)
    assert exact["exponent"] == pytest.approx(2.0, abs=1e-9) and exact["c"] == pytest.approx(3.0)
    assert exact["r2"] == pytest.approx(1.0) and exact["consistent_with_expected"]
    rng = np.random.default_rng(0)
    xs = np.repeat(x, 3)
    noisy = S.power_law_fit(xs, 3 * xs**2 * np.exp(0.05 * rng.standard_normal(xs.size)))
    assert noisy["ci_low"] < 2.0 < noisy["ci_high"] and noisy["consistent_with_expected"]
    linear = S.power_law_fit(xs, 2 * xs * np.exp(0.05 * rng.standard_normal(xs.size)))
    assert linear["exponent"] == pytest.approx(1.0, abs=0.05)
    assert not linear["consistent_with_expected"]
    few = S.power_law_fit([1, 2, 2], [1, 4, 4])
    assert math.isnan(few["exponent"]) and few["reason"]
    with pytest.raises(ValueError):
        S.power_law_fit([0, 1, 2], [1, 2, 3])


def test_stats_does_not_import_torch():
    code = "import sys, gr_bench.stats; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
