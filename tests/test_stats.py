"""gr_bench.stats against hand-computed values (no second call to scipy for the expected side)."""
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gr_bench import stats as S
from gr_bench.report.analysis import verdict_sentence
from gr_bench.thresholds import Thresholds

T_975_4 = 2.7764451051977987  # t quantile 0.975 with 4 degrees of freedom (tables)
T_95_4 = 2.1318467863266495   # t quantile 0.95 with 4 degrees of freedom (tables)


def _sentence(row: dict, a: str = "a", b: str = "b", metric: str = "final_avg_acc", **kw) -> str:
    """A stats row read as the report, the terminal and `gr-bench compare` read it (one sentence builder)."""
    return verdict_sentence(dict(row, a=a, b=b, metric=metric), **kw)


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


def _holm_by_hand(p):
    """The step-down formula written out: adj_(i) = max_{j<=i} min(1, (m - j) p_(j))."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    m, out, running = len(p), np.empty(len(p)), 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def test_holm_is_statsmodels_multipletests_and_the_step_down_formula():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for size in (1, 2, 3, 5, 12):
        p = rng.uniform(0, 0.1, size)
        np.testing.assert_allclose(S.holm(p), _holm_by_hand(p), rtol=1e-12)
        np.testing.assert_allclose(S.holm(p), multipletests(p, method="holm")[1], rtol=1e-12)


# ---- min attainable p ---------------------------------------------------------------------
def test_min_attainable_p():
    assert S.min_attainable_p(5, 5, paired=True, test="wilcoxon") == 0.0625
    assert S.min_attainable_p(6, 6, paired=True, test="wilcoxon") == 0.03125
    assert S.min_attainable_p(5, 5, paired=False, test="mann-whitney") == pytest.approx(2 / 252)
    # t-tests reach any p from 2 values (pairs) on each side on; below that there is no test
    assert S.min_attainable_p(5, 5, paired=True, test="paired-t") == 0.0
    assert S.min_attainable_p(2, 2, paired=True, test="paired-t") == 0.0
    assert S.min_attainable_p(1, 1, paired=True, test="paired-t") == 1.0
    assert S.min_attainable_p(2, 3, paired=False, test="welch-t") == 0.0
    assert S.min_attainable_p(1, 5, paired=False, test="welch-t") == 1.0
    with pytest.raises(ValueError):
        S.min_attainable_p(5, 6, paired=True, test="wilcoxon")
    with pytest.raises(ValueError):
        S.min_attainable_p(5, 5, paired=True, test="sign")


# ---- compare: paired ----------------------------------------------------------------------
def test_paired_t_known_values_sleep():
    """R's ``sleep`` data, ``t.test(extra ~ group, paired = TRUE)``: t = -4.0621, df = 9,
    p-value = 0.002833, 95% CI [-2.4598858, -0.7001142], mean difference -1.58."""
    g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    row = S.compare_pair(g1, g2, paired=True)
    assert row["test"] == "paired-t" and row["test_secondary"] == "wilcoxon"
    assert row["statistic"] == pytest.approx(-4.0621, abs=1e-4)
    assert row["p_value"] == pytest.approx(0.002833, abs=1e-6)
    assert row["diff"] == pytest.approx(-1.58)
    assert row["ci_low"] == pytest.approx(-2.4598858, abs=1e-6)
    assert row["ci_high"] == pytest.approx(-0.7001142, abs=1e-6)
    assert row["min_p"] == 0.0 and row["verdict"] == "worse"
    # the exact Wilcoxon beside it: one zero difference dropped, 9 all negative -> 2 / 2**9
    assert row["p_secondary"] == pytest.approx(2 / 2 ** 9)


def test_five_paired_seeds_reach_alpha_with_the_t_test():
    """5 paired seeds: the exact Wilcoxon cannot go below 2/2**5 = 0.0625, the paired t-test can."""
    b = np.array([0.70, 0.72, 0.69, 0.71, 0.73])
    row = S.compare_pair(b + [0.03, 0.01, 0.04, 0.02, 0.05], b, paired=True)
    # d = 0.03 + 0.01 [0, -2, 1, -1, 2]: t = 0.03 / (0.01 sqrt(2.5) / sqrt(5)) = 3 sqrt(2)
    assert row["statistic"] == pytest.approx(3 * math.sqrt(2))
    assert row["p_value"] < 0.05 and row["min_p"] == 0.0
    assert row["p_secondary"] == 0.0625          # Wilcoxon: all five signs equal
    assert row["verdict"] == "better"
    text = _sentence(row, "generative", "buffer")
    assert text.startswith("does generative beat buffer on final_avg_acc? yes: diff ") and "paired-t, n=5" in text


def test_five_paired_seeds_large_difference_decided_under_holm():
    """A 5-seed study of 4 comparisons with differences of about 5 points (sd about 1 point):
    with the exact Wilcoxon as the primary test every row was "underpowered" (min p_holm
    4 · 0.0625 = 0.25); with the paired t-test they are "better" / "worse"."""
    ref = np.array([0.80, 0.82, 0.79, 0.81, 0.83])
    noise = 0.01 * np.array([[0.3, -1.2, 0.9, 1.1, -0.6], [-0.8, 1.4, 0.2, -1.0, 0.5],
                             [1.0, 0.1, -1.3, 0.4, -0.2], [-0.5, -0.4, 1.2, 0.9, -1.1]])
    groups = {"ref": ref, "up1": ref + 0.05 + noise[0], "up2": ref + 0.06 + noise[1],
              "down1": ref - 0.05 + noise[2], "down2": ref - 0.045 + noise[3]}
    pairs = [(k, "ref") for k in ("up1", "up2", "down1", "down2")]
    rows = S.compare_family(groups, pairs, metric="acc", study="s", paired=True)
    assert all(r["family_size"] == 4 and r["test"] == "paired-t" for r in rows)
    assert all(r["min_p"] == 0.0 and r["min_p_holm"] == 0.0 for r in rows)
    assert all(r["p_holm"] < 0.05 for r in rows)
    assert [r["verdict"] for r in rows] == ["better", "better", "worse", "worse"]
    # the old primary test: all signs equal gives Wilcoxon p 0.0625, Holm over 4 -> 0.25
    assert all(r["p_secondary"] == 0.0625 for r in rows)
    assert all(p == 0.25 for p in S.holm([r["p_secondary"] for r in rows]))


def test_ten_paired_seeds_better_then_negligible():
    b = np.linspace(0.6, 0.7, 10)
    a = b + 0.05 + 0.001 * np.arange(10)     # distinct differences: exact null distribution
    row = S.compare_pair(a, b, paired=True)
    assert row["p_secondary"] == pytest.approx(2 / 1024, rel=1e-12)
    assert row["p_value"] < 1e-10
    assert row["test"] == "paired-t" and not row["underpowered"]
    assert row["diff"] == pytest.approx(0.0545)
    assert row["ci_low"] <= row["diff"] <= row["ci_high"]
    assert S.verdict(row) == "better"
    # real but below a 10-point minimum, and TOST cannot show it within ±1 point: size unclear
    assert S.verdict(row, min_effect=0.1) == "inconclusive"
    assert S.verdict(dict(row, diff=-row["diff"])) == "worse"
    # paired design: the paired analogue of Cliff's delta; the unpaired one stays empty
    assert row["prob_improvement"] == 1.0 and row["paired_delta"] == 1.0
    assert math.isnan(row["cliffs_delta"])


def test_paired_t_and_dz_by_hand():
    # d = c + [-2, -1, 0, 1, 2] with c chosen so that t = t_{0.975,4}: two-sided p is 0.05
    sd = math.sqrt(10 / 4)
    c = T_975_4 * sd / math.sqrt(5)
    b = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    a = b + c + np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    assert t == pytest.approx(T_975_4, rel=1e-12)
    row = S.compare_pair(a, b, paired=True)
    assert row["test"] == "paired-t" and row["test_secondary"] == "wilcoxon"
    assert row["statistic"] == pytest.approx(T_975_4, rel=1e-9)
    assert row["p_value"] == pytest.approx(0.05, abs=1e-9)
    assert row["effect_kind"] == "d_z"
    assert row["effect_size"] == pytest.approx(c / sd)          # d_z = mean(d)/sd(d) = t/sqrt(n)
    assert S.cohens_d(a, b, paired=True) == (pytest.approx(t / math.sqrt(5)), "d_z")


def test_paired_identical_results_and_zero_differences():
    x = [0.5, 0.6, 0.7, 0.8]
    row = S.compare_pair(x, x, paired=True)
    assert row["p_value"] == 1.0 and row["statistic"] == 0.0 and row["p_secondary"] == 1.0
    assert row["ci_low"] == row["ci_high"] == 0.0 and math.isnan(row["effect_size"])
    # no difference at all: equivalent by TOST (zero spread, zero difference)
    assert row["tost_p"] == 0.0 and row["verdict"] == "equivalent"
    # float noise (0.812 - 0.802 vs 0.513 - 0.503) is not a difference
    row = S.compare_pair([0.812, 0.513, 0.7], [0.812, 0.513, 0.7 + 1e-17], paired=True)
    assert row["p_value"] == 1.0 and row["verdict"] == "equivalent"
    # one zero difference among 6 seeds: the t-test keeps it, the Wilcoxon drops it and ranks
    # 5 differences (its min p 0.0625)
    b = np.arange(6) / 10
    row = S.compare_pair(b + [0, 0.01, 0.02, 0.03, 0.04, 0.05], b, paired=True)
    assert row["p_secondary"] == pytest.approx(0.0625) and row["min_p"] == 0.0
    # d = 0.01 [0..5]: mean 0.025, sd 0.01 sqrt(3.5), t = 2.5 sqrt(6) / sqrt(3.5)
    assert row["statistic"] == pytest.approx(2.5 * math.sqrt(6 / 3.5))
    assert row["p_value"] < 0.05 and row["verdict"] == "better"


def test_paired_constant_nonzero_difference_has_p_zero():
    # sd(d) is 0 (beyond float rounding): t is infinite, p 0; the size of the difference decides
    b = np.array([0.5, 0.6, 0.7, 0.8])
    row = S.compare_pair(b + 0.02, b, paired=True)
    assert row["p_value"] == 0.0 and row["statistic"] == math.inf and not row["exact"]
    assert row["verdict"] == "better"
    assert S.compare_pair(b + 0.002, b, paired=True)["verdict"] == "negligible"   # within ±1 point
    assert S.compare_pair(b - 0.02, b, paired=True)["statistic"] == -math.inf


# ---- intervals, equivalence, power --------------------------------------------------------
def test_paired_t_interval_covers_at_n8():
    """2,000 normal samples of 8 pairs: the 95% CI on the mean difference covers the true
    difference 93-97% of the time (a BCa bootstrap covered about 87.5% here)."""
    rng = np.random.default_rng(20240601)
    true_diff, hits, reps = 0.015, 0, 2000
    for _ in range(reps):
        b = 0.80 + 0.02 * rng.standard_normal(8)
        a = b + true_diff + 0.01 * rng.standard_normal(8)
        lo, hi = S.diff_interval(a, b, paired=True)
        hits += lo <= true_diff <= hi
    assert 0.93 <= hits / reps <= 0.97


def test_ci_by_hand_and_welch():
    # paired: d = c + [-2, -1, 0, 1, 2], sd = sqrt(2.5), half width = t_{0.975,4} sd / sqrt(5)
    b = np.array([0.5, 0.6, 0.7, 0.8, 0.9])
    a = b + 0.03 + 0.001 * np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    half = T_975_4 * 0.001 * math.sqrt(2.5) / math.sqrt(5)
    row = S.compare_pair(a, b, paired=True)
    assert row["ci_low"] == pytest.approx(0.03 - half) and row["ci_high"] == pytest.approx(0.03 + half)
    # Welch: equal n and variances give df = 2(n-1) = 8 and se = sqrt(2 s^2 / n); t_{0.975,8}
    x, y = np.array([1.0, 2, 3, 4, 5]), np.array([3.0, 4, 5, 6, 7])
    se = math.sqrt(2 * 2.5 / 5)
    lo, hi = S.diff_interval(x, y, paired=False)
    assert lo == pytest.approx(-2 - 2.306004135204166 * se) and hi == pytest.approx(-2 + 2.306004135204166 * se)
    assert all(math.isnan(v) for v in S.diff_interval([1, 2], [2, 3], paired=True))


def test_tost_by_hand():
    # d = c + s·[-2, -1, 0, 1, 2]: se = s·sqrt(2.5)/sqrt(5). With c = margin - t_{0.95,4}·se the
    # upper one-sided t is exactly -t_{0.95,4}: TOST p = 0.05; the lower one is far smaller.
    s_, margin = 0.001, 0.01
    se = s_ * math.sqrt(2.5) / math.sqrt(5)
    c = margin - T_95_4 * se
    b = np.array([0.70, 0.72, 0.69, 0.71, 0.73])
    a = b + c + s_ * np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert S.tost(a, b, paired=True, margin=margin) == pytest.approx(0.05, abs=1e-9)
    from statsmodels.stats.weightstats import ttost_paired
    assert S.tost(a, b, paired=True, margin=0.015) == pytest.approx(ttost_paired(a, b, -0.015, 0.015)[0])
    # within ±1 point with p < 0.05 only when the margin is a little wider
    row = S.compare_pair(a, b, paired=True, thresholds=Thresholds(margin=0.0101))
    assert row["tost_p"] < 0.05 and row["equivalent"]
    # the difference (0.85 points) is real but below the 1-point minimum: within the margin
    # it is "negligible", outside it "inconclusive" (size unclear)
    assert row["p_value"] < 0.05 and row["verdict"] == "negligible"
    row = S.compare_pair(a, b, paired=True, thresholds=Thresholds(margin=0.0099))
    assert not row["equivalent"] and row["verdict"] == "inconclusive"
    # no significant difference: TOST alone decides "equivalent"
    row = S.compare_pair(a - c, b, paired=True, thresholds=Thresholds(margin=0.0101))
    assert not row["p_value"] < 0.05 and row["verdict"] == "equivalent"


def test_tost_power_matches_a_simulation_of_the_test_and_gives_the_seeds_needed():
    """The central-t approximation against the TOST itself, run on simulated paired differences."""
    rng = np.random.default_rng(11)
    sd, margin = 0.012, 0.01
    for n, diff in ((8, 0.0), (12, 0.0), (12, 0.004)):
        d = diff + sd * rng.standard_normal((4000, n))
        hits = np.mean([S.tost(x, np.zeros(n), paired=True, margin=margin) < 0.05 for x in d])
        assert S.tost_power(sd, n, margin=margin, diff=diff) == pytest.approx(hits, abs=0.03)
    need = S.tost_seeds_needed(sd, margin)
    assert S.tost_power(sd, need, margin=margin) >= 0.8 > S.tost_power(sd, need - 1, margin=margin)
    assert S.tost_seeds_needed(sd, margin, family=3) > need  # Holm's strictest step: alpha / 3
    assert S.tost_seeds_needed(0.0, margin) == 3 and S.tost_seeds_needed(math.nan, margin) is None
    assert math.isnan(S.tost_power(sd, 2, margin=margin))


def test_non_significant_is_never_equal():
    # noisy differences around zero: neither different nor shown equivalent
    rng = np.random.default_rng(3)
    b = 0.8 + 0.01 * rng.standard_normal(8)
    a = b + 0.03 * rng.standard_normal(8)
    row = S.compare_pair(a, b, paired=True)
    assert not row["p_value"] < 0.05 and not row["equivalent"]
    assert row["verdict"] in ("underpowered", "no evidence")
    assert "equal" not in _sentence(row).split(": diff")[0]


def test_power_mde_and_seeds_needed_known_values():
    # G*Power, t test for a mean difference (matched pairs), two-sided alpha 0.05, power 0.8:
    # d_z = 0.5 needs N = 34 (actual power 0.808); n = 8 detects d_z = 1.156
    assert S.seeds_needed(0.04, effect=0.02, alpha=0.05, family=1) == 34
    assert S.min_detectable_effect(1.0, 8, alpha=0.05) == pytest.approx(1.156, abs=1e-3)
    # the noncentral t says the same: power(n) = P(|T'| > t_crit), T' ~ nct(n-1, d_z sqrt(n))
    from scipy import stats as st
    def power(n, dz, alpha):
        crit = st.t.ppf(1 - alpha / 2, n - 1)
        nc = dz * math.sqrt(n)
        return st.nct.sf(crit, n - 1, nc) + st.nct.cdf(-crit, n - 1, nc)
    assert power(34, 0.5, 0.05) >= 0.8 > power(33, 0.5, 0.05)
    # a family of 3 under Holm: the first step tests at 0.05/3
    n3 = S.seeds_needed(0.04, effect=0.02, alpha=0.05, family=3)
    assert power(n3, 0.5, 0.05 / 3) >= 0.8 > power(n3 - 1, 0.5, 0.05 / 3)
    assert S.seeds_needed(math.nan) is None and S.seeds_needed(0.0) == 3


def test_underpowered_by_power_not_only_by_reachable_p():
    # a t-test can reach any p, but sd(d) = 3 points leaves 10 pairs little power for 2 points
    z = np.array([-1.5, 1.2, -0.4, 0.9, -1.1, 0.3, 1.6, -0.8, 0.1, -0.3])
    z = (z - z.mean()) / z.std(ddof=1)
    b = np.linspace(0.75, 0.85, 10)
    a = b + 0.005 + 0.03 * z                   # mean diff 0.5 points, sd(d) exactly 3 points
    row = S.compare_pair(a, b, paired=True)
    assert row["sd_diff"] == pytest.approx(0.03)
    # d_z = 2/3 at n = 10, two-sided 0.05: power 0.469 (noncentral t), MDE 0.996 · 3 points
    assert row["power_at_min_effect"] == pytest.approx(0.4692, abs=1e-3)
    assert row["min_p"] < 0.05 and row["underpowered"]
    assert row["mde"] == pytest.approx(0.03 * 0.9960, rel=1e-3)
    assert row["seeds_needed"] == S.seeds_needed(0.03, 0.02) and row["seeds_needed"] > 10
    assert not row["p_value"] < 0.05 and not row["equivalent"]
    assert row["verdict"] == "underpowered"
    assert f"; about {row['seeds_needed']} seeds needed for 80% power" in _sentence(row)


def test_relative_minimum_effect_for_times():
    b = np.array([100.0, 101, 99, 100, 102, 98, 100, 101, 99, 100])
    small = b * 1.02 + 0.01 * np.arange(10)   # 2% slower on every seed: real, below 5%
    row = S.compare_pair(small, b, paired=True, relative=True)
    assert row["p_value"] < 0.05 and row["min_effect"] == pytest.approx(0.05 * b.mean())
    assert row["verdict"] == "negligible"      # TOST shows it within ±5%
    big = b * 1.10 + 0.01 * np.arange(10)
    assert S.compare_pair(big, b, paired=True, relative=True)["verdict"] == "better"
    assert "? no, the difference is real but within ±5%: " in _sentence(row, metric="cpu_s")


# ---- compare: unpaired --------------------------------------------------------------------
def test_welch_t_and_exact_mann_whitney_with_ties():
    row = S.compare_pair([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], paired=False)
    assert row["test"] == "welch-t" and row["test_secondary"] == "mann-whitney"
    # se = sqrt(2 · 2.5 / 5) = 1, t = 5, df = 8: two-sided p = 2 · P(T_8 > 5) = 0.001053
    assert row["statistic"] == pytest.approx(5.0) and row["p_value"] == pytest.approx(0.0010528, abs=1e-6)
    assert row["min_p"] == 0.0 and row["effect_kind"] == "d" and row["verdict"] == "better"
    assert row["p_secondary"] == pytest.approx(2 / 252)       # complete separation
    assert row["ci_low"] <= row["diff"] == 5.0 <= row["ci_high"]
    # Welch with unequal variances and sizes: t = -2 / sqrt(1/3 + 10/4), df by Welch-Satterthwaite
    x, y = np.array([1.0, 2, 3]), np.array([1.0, 3, 5, 7])
    se2 = 1 / 3 + (20 / 3) / 4
    df = se2 ** 2 / ((1 / 3) ** 2 / 2 + ((20 / 3) / 4) ** 2 / 3)
    row = S.compare_pair(x, y, paired=False)
    assert row["statistic"] == pytest.approx(-2 / math.sqrt(se2))
    from scipy import stats as st
    assert row["p_value"] == pytest.approx(2 * st.t.cdf(-2 / math.sqrt(se2), df))
    # ties: scipy's normal approximation gives 0.047 here, below the exact minimum 2/C(6,3);
    # the t-test sees no spread on either side: t infinite, p 0
    row = S.compare_pair([2, 2, 2], [1, 1, 1], paired=False)
    assert row["p_secondary"] == pytest.approx(0.1)
    assert row["p_value"] == 0.0 and row["statistic"] == math.inf
    row = S.compare_pair([2, 2, 2], [2, 2], paired=False)
    assert row["p_value"] == 1.0 and row["statistic"] == 0.0
    # one value on a side: no t-test
    row = S.compare_pair([2.0], [1, 2, 3], paired=False)
    assert math.isnan(row["p_value"]) and row["min_p"] == 1.0 and row["verdict"] == "underpowered"


# ---- effect sizes -------------------------------------------------------------------------
def test_effect_sizes_by_hand():
    a, b = [3, 4, 5], [1, 4]
    assert S.paired_delta([1, 2, 3, 4], [0, 2, 5, 1]) == pytest.approx((2 - 1) / 4)
    assert S.cliffs_delta(a, b) == pytest.approx((4 - 1) / 6)
    assert S.prob_improvement(a, b, paired=False) == pytest.approx(4.5 / 6)
    assert S.prob_improvement([1, 2, 3, 4], [0, 2, 5, 1], paired=True) == pytest.approx(0.625)
    assert S.cohens_d([1, 2, 3], [3, 4, 5], paired=False) == (pytest.approx(-2.0), "d")
    assert math.isnan(S.cohens_d([1, 1], [2, 2], paired=False)[0])
    assert S.cliffs_delta([1, 2], [1, 2]) == 0.0


# ---- describe -----------------------------------------------------------------------------
def test_describe_t_ci():
    x = [0.1, 0.2, 0.3, 0.4, 0.6]
    mean, sd = 0.32, float(np.std(x, ddof=1))
    d = S.describe(x)
    assert d["n"] == 5 and d["mean"] == pytest.approx(mean) and d["sd"] == pytest.approx(sd)
    half = T_975_4 * sd / math.sqrt(5)
    assert d["ci_low"] == pytest.approx(mean - half) and d["ci_high"] == pytest.approx(mean + half)


def test_describe_degenerate():
    c = S.describe([0.7, 0.7, 0.7])
    assert c["sd"] == 0.0 and c["ci_low"] == c["ci_high"] == pytest.approx(0.7)
    one = S.describe([0.5, np.nan])
    assert one["n"] == 1 and one["mean"] == 0.5 and math.isnan(one["sd"])
    assert math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    two = S.describe([0.5, 0.6])                    # n < 3: no interval
    assert two["sd"] == pytest.approx(math.sqrt(0.005)) and math.isnan(two["ci_low"])


# ---- degenerate compare -------------------------------------------------------------------
def test_compare_degenerate_inputs():
    row = S.compare_pair([0.5], [0.4], paired=True)
    assert math.isnan(row["p_value"]) and row["underpowered"] and row["verdict"] == "underpowered"
    assert row["min_p"] == 1.0
    assert _sentence(row).startswith("does a beat b on final_avg_acc? can't tell (underpowered): diff ")
    assert _sentence(row).endswith("; n=1 paired seeds cannot give p below 1 with paired-t: run more seeds")
    # two pairs: a p-value exists, but no CI and no effect size (rendered as "—")
    row = S.compare_pair([0.5, 0.7], [0.4, 0.5], paired=True)
    assert math.isnan(row["ci_low"]) and math.isnan(row["effect_size"])
    assert math.isnan(row["paired_delta"]) and math.isnan(row["prob_improvement"])
    assert math.isnan(row["mde"]) and math.isnan(row["power_at_min_effect"])
    assert "CI [—, —]" in _sentence(row)
    row = S.compare_pair([0.5, np.nan, 0.6], [0.4, 0.3, np.nan], paired=True)
    assert row["n_a"] == row["n_b"] == 1 and math.isnan(row["p_value"])  # NaN drops the pair
    row = S.compare_pair([0.5, np.nan], [0.4, 0.3, 0.2], paired=False)
    assert row["n_a"] == 1 and row["n_b"] == 3 and row["underpowered"]
    with pytest.raises(ValueError, match="equal lengths"):
        S.compare_pair([1, 2, 3], [1, 2], paired=True)


# ---- the verdict sentence (report.analysis.verdict_sentence over stats.details) -------------
def test_sentence_format():
    row = dict(n_a=10, n_b=10, diff=-0.012, ci_low=-0.020, ci_high=-0.003, test="paired-t",
               p_value=0.01, p_holm=0.031, effect_size=-1.4, effect_kind="d_z", min_p=0.0,
               underpowered=False, verdict="worse", family_size=3)
    assert _sentence(row, "generative", "buffer") == (
        "does generative beat buffer on final_avg_acc? no, it is worse: diff -1.2 points, 95% CI [-2.0, -0.3], "
        "p_holm 0.031 (Holm over 3), d_z -1.40, paired-t, n=10")
    # unpaired rows name both sizes
    assert "welch-t, n=10+9" in S.details(dict(row, test="welch-t", n_b=9))
    # a single comparison is not adjusted: it says p, with the unadjusted value
    single = _sentence(dict(row, family_size=1), "generative", "buffer")
    assert "p 0.01," in single and "p_holm" not in single
    assert _sentence(row, "g", "b", lead="Is replay worth it? ").startswith("Is replay worth it? does g beat b")
    # the verdict appears once, and an equivalence states its margin
    eq = dict(row, verdict="equivalent", margin=0.01, tost_p=0.01, tost_p_holm=0.02)
    text = _sentence(eq, "g", "b")
    assert text.startswith("does g beat b on final_avg_acc? no, equivalent within ±1 point: ")
    assert text.count("equivalent") == 1 and "TOST ±1 point p_holm 0.02" in text


# ---- compare_family / friedman ------------------------------------------------------------
def _frame():
    rng = np.random.default_rng(0)
    rows = [dict(label=lab, seed=s, acc=base + 0.01 * rng.standard_normal())
            for lab, base in [("gen", 0.80), ("buf", 0.85), ("none", 0.60)] for s in range(8)]
    return pd.DataFrame([r for r in rows if not (r["label"] == "buf" and r["seed"] == 7)])


def test_compare_family_dataframe():
    rows = S.compare_family(_frame(), [("gen", "buf"), ("gen", "none")], metric="acc",
                            study="replay", paired=True)
    assert [list(r) for r in rows] == [list(S.FAMILY_KEYS)] * 2
    assert list(S.FAMILY_KEYS[:19]) == [
        "study", "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low",
        "ci_high", "test", "statistic", "p_value", "p_holm", "effect_size", "effect_kind",
        "prob_improvement", "verdict"]
    assert len(set(S.FAMILY_KEYS)) == len(S.FAMILY_KEYS)      # no key twice
    extra = {"paired_delta", "min_p", "underpowered", "test_secondary", "p_secondary", "tost_p",
             "mde", "power_at_min_effect", "seeds_needed", "family_size", "equivalent"}
    assert extra <= set(rows[0])
    assert all(r["family_size"] == 2 for r in rows)
    assert rows[0]["n_a"] == 7 and rows[1]["n_a"] == 8        # inner join on seeds
    assert all(r["p_holm"] >= r["p_value"] for r in rows)
    assert rows[0]["verdict"] == "worse" and rows[1]["verdict"] == "better"
    assert rows[0]["study"] == "replay" and rows[0]["metric"] == "acc"


def test_holm_family_of_small_n():
    # 6 seeds: the exact Wilcoxon alone reaches 0.03125, but Holm over 3 comparisons could not go
    # below 3 * 0.03125; the paired t-test has no such floor
    g = {k: np.arange(6) / 10 + off for k, off in [("x", 0.3), ("y", 0.2), ("z", 0.0)]}
    g["x"] = g["x"] + 0.001 * np.arange(6)
    rows = S.compare_family(g, [("x", "y"), ("x", "z"), ("y", "z")], metric="acc", study="s",
                            paired=True)
    assert all(r["min_p"] == 0.0 and r["min_p_holm"] == 0.0 for r in rows)
    assert all(r["p_secondary"] == pytest.approx(0.03125) for r in rows)
    assert all(r["p_holm"] < 0.05 and r["verdict"] == "better" for r in rows)
    # a pair with a single seed cannot be tested: min p 1, underpowered, the rest unaffected
    g["w"] = np.array([0.9, np.nan, np.nan, np.nan, np.nan, np.nan])
    rows = S.compare_family(g, [("x", "y"), ("w", "z")], metric="acc", study="s", paired=True)
    assert [r["min_p_holm"] for r in rows] == [0.0, 1.0]
    assert [r["verdict"] for r in rows] == ["better", "underpowered"]
    assert "; n=1 paired seeds cannot give p_holm below 1 with paired-t: run more seeds" in _sentence(rows[1])
    # rows of the former rank-test primary still word their Holm floor
    old = dict(rows[0], test="wilcoxon", min_p=0.03125, min_p_holm=0.09375, verdict="underpowered")
    assert "; n=6 paired seeds cannot give p_holm below 0.0938 with wilcoxon after Holm" in _sentence(old)


def test_friedman_clear_ordering():
    seeds = np.arange(6)
    df = pd.DataFrame([dict(label=lab, seed=s, acc=base + 0.01 * s)
                       for lab, base in [("a", 0.9), ("b", 0.8), ("c", 0.7)] for s in seeds])
    res = S.friedman(df, metric="acc")
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


def test_the_same_difference_on_every_seed_is_decided_by_its_size():
    """FLOPs are identical across seeds: t is infinite, the exact Wilcoxon cannot reach alpha at 5
    seeds, and no test is needed: the size of the difference decides."""
    from gr_bench import stats

    a, b = [2e9] * 5, [1e9] * 5
    row = stats.compare_pair(a, b, paired=True, relative=True)
    assert row["exact"] and row["verdict"] == "better" and not row["underpowered"]
    # stated, not tested: no statistic, p-value or interval (a t-test would say p 0, CI [x, x])
    assert row["test"] == "exact" and all(math.isnan(row[k]) for k in ("p_value", "statistic", "ci_low", "ci_high"))
    assert stats.details(row, scale=1e-9, unit="GFLOP") == "+1.0 GFLOP (+100%), the same on every seed (n=5)"
    big = stats.compare_pair([6_505.6e9] * 5, [1_064.7e9] * 5, paired=True, relative=True)
    assert stats.details(big, scale=1e-9, unit="GFLOP").startswith("+5,440.9 GFLOP (+511%), the same on every seed")
    fam = stats.compare_family({"x": a, "y": b, "z": [1e9 + 1] * 5}, [("x", "y"), ("z", "y")], paired=True,
                               metric="flops_train", study="s",
                               relative=True)
    assert [r["verdict"] for r in fam] == ["better", "negligible"]
    noisy = stats.compare_pair([1.0, 2.0, 3.0, 4.0, 6.0], [0.5, 1.0, 2.5, 3.0, 5.0], paired=True)
    assert not noisy["exact"]


def test_orient_reads_a_lower_is_better_row_in_its_sense():
    """Time: a is faster on every seed, so 'better', improved on every seed, dominant."""
    from gr_bench.stats import compare_pair, orient

    a, b = [10.0, 11.0, 12.0, 10.5, 11.5], [20.0, 21.0, 23.0, 20.5, 22.0]
    row = orient(compare_pair(a, b, paired=True, thresholds=Thresholds(min_effect=0.5)), "lower")
    assert row["diff"] < 0 and row["verdict"] == "better"
    assert row["prob_improvement"] == 1.0 and row["paired_delta"] == 1.0
    same = orient(compare_pair(b, a, paired=True, thresholds=Thresholds(min_effect=0.5)), "higher")
    assert same["verdict"] == "better" and same["prob_improvement"] == 1.0


# ---- intervals at the verdict's level (its Holm step's, alpha/K up to alpha) -------------------
SIGNIFICANT = ("better", "worse", "negligible", "inconclusive")  # verdicts after p < alpha
NOT_SIGNIFICANT = ("equivalent", "no evidence", "underpowered")  # a non-significant difference test


def test_family_interval_is_at_one_minus_alpha_over_k():
    """3 pairs at alpha 0.05: ci_low/ci_high are the paired t interval at 1 - 0.05/3 (t quantile
    1 - 0.05/6 with n - 1 df); ci95_* keep the unadjusted 95% bounds."""
    from scipy.stats import t

    b = np.array([0.50, 0.60, 0.70, 0.80, 0.90])
    g = {"x": b + 0.03 + 0.001 * np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), "y": b + 0.01,
         "z": b - 0.004 * np.arange(5), "b": b}
    rows = S.compare_family(g, [("x", "b"), ("y", "b"), ("z", "b")], metric="acc", study="s", paired=True)
    x = rows[0]
    half = t.ppf(1 - 0.05 / 6, 4) * 0.001 * math.sqrt(2.5) / math.sqrt(5)
    assert x["ci_level"] == x["confidence"] == pytest.approx(1 - 0.05 / 3)
    assert (x["ci_low"], x["ci_high"]) == pytest.approx((0.03 - half, 0.03 + half))
    half95 = T_975_4 * 0.001 * math.sqrt(2.5) / math.sqrt(5)
    assert (x["ci95_low"], x["ci95_high"]) == pytest.approx((0.03 - half95, 0.03 + half95))
    assert S.details(x).split(", ")[1].startswith("98.33% CI [")
    # a single comparison: 1 - alpha, as before at alpha 0.05
    one = S.compare_pair(g["x"], b, paired=True)
    assert one["ci_level"] == pytest.approx(0.95) and one["ci_low"] == pytest.approx(x["ci95_low"])
    assert S.compare_pair(g["x"], b, paired=True, thresholds=Thresholds(alpha=0.01))["ci_level"] == pytest.approx(0.99)


@pytest.mark.parametrize("paired", [True, False])
def test_an_interval_excludes_zero_exactly_beside_a_significant_verdict(paired):
    """Each row's interval is at the level its p was held to at its Holm step (alpha/K at the first,
    up to alpha at the last), so it excludes zero exactly when Holm rejects: random families of
    K = 1..6, 3 to 10 seeds, various effects. (With 95% intervals, 17 paired and 8 unpaired rows of
    these draws excluded zero beside a non-significant verdict; with Bonferroni's 1 - alpha/K, some
    held zero beside a significant one.)"""
    rng = np.random.default_rng(7)
    checked = excluded = 0
    for _ in range(40):
        k, n = int(rng.integers(1, 7)), int(rng.integers(3, 11))
        base = 0.8 + 0.02 * rng.standard_normal(n)
        groups = {"ref": base}
        for i in range(k):
            effect, noise = rng.choice([0.0, 0.005, 0.01, 0.02, 0.05]), rng.choice([0.002, 0.01, 0.03])
            groups[f"c{i}"] = base + effect * rng.choice([-1, 1]) + noise * rng.standard_normal(n)
        rows = S.compare_family(groups, [(f"c{i}", "ref") for i in range(k)], metric="acc", study="s",
                                paired=paired, thresholds=Thresholds(min_effect=float(rng.choice([0.0, 0.01, 0.03]))))
        for r in rows:
            assert 0.95 - 1e-12 <= r["ci_level"] <= 1 - 0.05 / k + 1e-12
            assert r["verdict"] in SIGNIFICANT + NOT_SIGNIFICANT
            checked += 1
            outside = r["ci_low"] > 0 or r["ci_high"] < 0
            excluded += outside
            assert outside == (r["p_holm"] < 0.05) == (r["verdict"] in SIGNIFICANT), r
    assert checked > 100 and 10 <= excluded <= checked - 10  # both kinds of row were drawn


def test_a_familys_rows_carry_the_exact_flag_to_stats_csv():
    """FLOPs, the same difference on every seed: compare_family keeps `exact`, and stats.csv has it."""
    from gr_bench.report.analysis import STATS_COLUMNS, stats_rows

    g = {"x": [2e9] * 5, "y": [1e9] * 5, "z": [1.5e9, 1.4e9, 1.6e9, 1.5e9, 1.45e9]}
    rows = S.compare_family(g, [("x", "y"), ("z", "y")], paired=True, metric="flops_train", study="s",
                            relative=True)
    assert [r["exact"] for r in rows] == [True, False]
    assert {"exact", "ci_level", "ci95_low", "ci95_high"} <= set(STATS_COLUMNS)
    assert [r["exact"] for r in stats_rows(rows)] == [True, False]
    assert S.details(rows[0], scale=1e-9, unit="GFLOP").startswith("+1.0 GFLOP (+100%), the same on every seed")
    # the exact row is no member of the tested family: the other is tested alone, at alpha
    assert rows[0]["test"] == "exact" and math.isnan(rows[0]["p_holm"]) and rows[1]["family_size"] == 1


# ---- the test registry --------------------------------------------------------------------
def sign_min_p(n_a: int, n_b: int) -> float:
    """The two-sided sign test's smallest p on n_a pairs: every pair on one side."""
    return min(1.0, 2.0 / 2.0 ** n_a)


def sign(a, b):
    """A sign test (wins of a over b, exact binomial p): a toy to register (tests/test_contributing.py too)."""
    from scipy import stats as st

    d = a - b
    wins, n = int((d > 0).sum()), int((d != 0).sum())
    return float(wins), float(st.binomtest(wins, n).pvalue) if n else 1.0


def test_a_registered_test_is_one_function_and_compare_dispatches_to_it():
    """A sign test registered by one decorated function: compare_pair(test="sign") fills its row with it
    (statistic, p and the smallest reachable p), keeps the Wilcoxon beside it, and judges the row."""
    from gr_bench.stats import TESTS, register_test

    register_test("sign", paired=True, min_p=sign_min_p)(sign)
    try:
        a = np.array([0.80, 0.82, 0.79, 0.85, 0.81, 0.83, 0.84, 0.80])
        b = a - np.array([0.02, 0.03, 0.01, 0.04, 0.02, 0.03, 0.05, 0.02])
        row = S.compare_pair(a, b, paired=True, test="sign")
        assert row["test"] == "sign" and row["test_secondary"] == "wilcoxon"
        assert row["statistic"] == 8 and row["p_value"] == pytest.approx(2 / 2 ** 8)
        assert row["min_p"] == pytest.approx(2 / 2 ** 8)
        assert row["p_secondary"] == S.compare_pair(a, b, paired=True)["p_secondary"]
        assert row["verdict"] == "better" and "sign, n=8" in S.details(row)  # read as a paired row
        with pytest.raises(ValueError, match="paired test"):
            S.compare_pair(a, b, paired=False, test="sign")
    finally:
        del TESTS["sign"]
    with pytest.raises(ValueError, match="unknown test 'sign'"):
        S.compare_pair(a, b, paired=True, test="sign")


def test_the_default_tests_are_registered_and_named_in_the_row():
    assert {"paired-t", "wilcoxon", "welch-t", "mann-whitney"} <= set(S.TESTS)
    assert S.TESTS["paired-t"].paired and not S.TESTS["welch-t"].paired
    row = S.compare_pair([1.0, 2.0, 3.5], [0.5, 1.0, 2.0], paired=False)
    assert (row["test"], row["test_secondary"]) == S.DEFAULT_TESTS[False] == ("welch-t", "mann-whitney")
