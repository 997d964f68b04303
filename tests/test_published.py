"""gr-bench's figures beside a published table: the interval, the three Welch tests, Holm over the
published rows and the four verdicts, on literal data; the expected p-values from scipy's own Welch
test on summary statistics, the Holm adjustment from statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from gr_bench.report.published import out_of_reach, published_table, readable, rule_text
from gr_bench.stats import closest_margin, mean_interval, welch_against_published
from gr_bench.thresholds import REPRODUCTION

MARGIN = REPRODUCTION.margin  # 1.5 points

PUB = {"none": {"mean": 19.90, "sem": 0.02, "n": 20, "source": "paper"},
       "dgr": {"mean": 90.79, "sem": 0.41, "n": 20, "source": "paper"}}
OURS = [92.0, 91.0, 93.0, 92.5, 91.5]  # 5 seeds of dgr, mean 92.0
CLOSE = list(90.79 + np.linspace(-0.5, 0.5, 12))  # 12 seeds around the published mean
NEAR = list(90.79 + 0.6 + np.linspace(-1.0, 1.0, 12))  # 12 seeds 0.6 above it: TOST p 0.028 alone
PUB4 = {"none": PUB["none"], "joint": {"mean": 97.93, "sem": 0.04, "n": 20, "source": "paper"},
        "dgr": PUB["dgr"], "dgr-distill": {"mean": 91.79, "sem": 0.32, "n": 20, "source": "paper"}}
FOUR = {"none": [19.8, 19.9, 20.0, 19.9, 19.9],                   # on the published mean: reproduced
        "joint": [94.0, 94.5, 95.0, 94.2, 94.8],                  # 3.4 points below: differs
        "dgr": [92.0, 91.0, 93.0, 92.5, 91.5, 92.2, 91.8, 92.4],  # 1.3 above: higher, within reach
        "dgr-distill": [86.0, 95.0, 90.0, 93.0]}                  # noisy: can't tell


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"label": k, "status": "ok", "final_avg_acc": v / 100} for k, vs in values.items() for v in vs])


def _scipy_welch(x, mean, sem, n, margin=MARGIN) -> tuple[float, float]:
    """(p_tost, p_diff) from scipy.stats.ttest_ind_from_stats: the paper's sd is sem·sqrt(n)."""
    x = np.asarray(x, dtype=float)
    ours, theirs = (x.mean(), x.std(ddof=1), len(x)), (sem * math.sqrt(n), n)

    def test(shift: float, alternative: str) -> float:
        return stats.ttest_ind_from_stats(*ours, mean + shift, *theirs, equal_var=False,
                                          alternative=alternative).pvalue

    return max(test(-margin, "greater"), test(margin, "less")), test(0.0, "two-sided")


def _scipy_beyond(x, mean, sem, n, margin=MARGIN) -> float:
    """The one-sided p of |d| > margin on the side d falls, from scipy's Welch test."""
    x = np.asarray(x, dtype=float)
    above = x.mean() > mean
    return stats.ttest_ind_from_stats(x.mean(), x.std(ddof=1), len(x), mean + (margin if above else -margin),
                                      sem * math.sqrt(n), n, equal_var=False,
                                      alternative="greater" if above else "less").pvalue


def test_mean_interval_equals_scipys():
    x = [88.1, 90.3, 91.0, 89.4, 92.2]
    mean, low, high = mean_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(90.2) and (low, high) == pytest.approx(ref)
    assert math.isnan(mean_interval([1.0, 2.0])[1])  # no interval below 3 values


def test_welch_tost_beyond_and_difference_p_equal_scipys():
    """92.0 over 5 seeds against 90.79 ± 0.41 (20 seeds): se = sqrt(s²/5 + 0.41²), Welch df."""
    w = welch_against_published(OURS, 90.79, 0.41, 20)
    p_tost, p_diff = _scipy_welch(OURS, 90.79, 0.41, 20)
    assert w["p_tost"] == pytest.approx(p_tost, rel=1e-9) and w["p_diff"] == pytest.approx(p_diff, rel=1e-9)
    assert w["p_beyond"] == pytest.approx(_scipy_beyond(OURS, 90.79, 0.41, 20), rel=1e-9)
    s2 = np.var(OURS, ddof=1) / 5
    se = math.sqrt(s2 + 0.41 ** 2)
    df = se ** 4 / (s2 ** 2 / 4 + 0.41 ** 4 / 19)
    assert w["se_welch"] == pytest.approx(se) and w["df_welch"] == pytest.approx(df)
    half = stats.t.ppf(0.95, df) * se  # the unadjusted 90% interval TOST uses at alpha 0.05
    assert (w["ci90_low"], w["ci90_high"]) == pytest.approx((1.21 - half, 1.21 + half))
    # a real difference of +1.2 points, neither shown within ±1.5 nor beyond it
    assert p_diff < 0.05 < p_tost and w["p_beyond"] > 0.05 and w["ci90_high"] > MARGIN
    # without the paper's n the SEM is taken as exact: gr-bench's seeds alone give the df
    assert welch_against_published(OURS, 90.79, 0.41, None)["df_welch"] == pytest.approx(se ** 4 / (s2 ** 2 / 4))


def test_four_outcomes_each_from_its_own_test():
    """One family of four published rows, one outcome each; the interval beside each verdict shows it."""
    t = published_table(_runs(FOUR), PUB4).set_index("configuration")
    assert t.loc["none", "verdict"] == "reproduced (within ±1.5)"
    assert t.loc["joint", "verdict"] == "differs (beyond ±1.5)"
    assert t.loc["dgr", "verdict"] == "higher than published (within reach of ±1.5)"
    assert t.loc["dgr-distill", "verdict"] == "can't tell"
    assert (t["family_size"] == 4).all()
    lo, hi = t["diff_low"], t["diff_high"]
    assert -MARGIN < lo["none"] and hi["none"] < MARGIN          # inside the margin
    assert hi["joint"] < -MARGIN                                  # entirely beyond it
    assert 0 < lo["dgr"] < MARGIN < hi["dgr"]                     # off zero, reaching the margin
    assert lo["dgr-distill"] < -MARGIN and MARGIN < hi["dgr-distill"]  # neither
    # each interval at the level its verdict's test was held to under Holm: alpha · p / p_holm
    for row, test, sides in (("none", "p_tost", 1), ("joint", "p_beyond", 1), ("dgr", "p_diff", 2)):
        level = 0.05 * t.loc[row, test] / t.loc[row, f"{test}_holm"] / sides
        assert t.loc[row, "ci_level"] == pytest.approx(1 - 2 * level)
        half = stats.t.isf(level, t.loc[row, "df_welch"]) * t.loc[row, "se_welch"]
        assert hi[row] - t.loc[row, "difference"] == pytest.approx(half)
    # "lower" for a difference below zero within reach of the margin: the old rule's "differs"
    close = published_table(_runs({"dgr": [89.0, 89.1, 89.0]}), PUB).set_index("configuration")
    assert close.loc["dgr", "verdict"] == "lower than published (within reach of ±1.5)"
    p_tost, p_diff = _scipy_welch([89.0, 89.1, 89.0], 90.79, 0.41, 20)
    assert close.loc["dgr", "p_diff"] == pytest.approx(p_diff) and close.loc["dgr", "p_tost"] == pytest.approx(p_tost)


def test_holm_over_the_published_rows_equals_statsmodels():
    """Each of the three p-values is Holm-adjusted over the rows with a figure and enough runs."""
    runs = _runs({**FOUR, "er": [93.0, 94.0, 95.0], "dgr-few": [90.0, 91.0]})
    pub = {**PUB4, "dgr-few": PUB["dgr"]}  # too few seeds: outside the family
    t = published_table(runs, pub).set_index("configuration")
    family = list(PUB4)
    for test in ("p_tost", "p_beyond", "p_diff"):
        expected = multipletests(t.loc[family, test].to_numpy(), method="holm")[1]
        assert t.loc[family, f"{test}_holm"].to_numpy() == pytest.approx(expected, rel=1e-12)
        assert t.loc[["er", "dgr-few"], f"{test}_holm"].isna().all()
    assert t.loc["dgr-few", "verdict"] == "too few seeds" and t.loc["er", "verdict"] == ""


def test_holm_can_withhold_a_reproduction_one_row_alone_would_get():
    """p_tost 0.028 reproduces on its own; beside two other tested rows Holm holds it to 0.05 / 2."""
    alone = published_table(_runs({"dgr": NEAR}), {"dgr": PUB["dgr"]}).set_index("configuration")
    assert alone.loc["dgr", "p_tost"] == pytest.approx(0.0284, abs=1e-4)
    assert alone.loc["dgr", "verdict"] == "reproduced (within ±1.5)"
    family = published_table(_runs({"none": FOUR["none"], "dgr": NEAR, "dgr-distill": FOUR["dgr-distill"]}),
                             {"none": PUB4["none"], "dgr": PUB["dgr"], "dgr-distill": PUB4["dgr-distill"]})
    t = family.set_index("configuration")
    assert t.loc["dgr", "p_tost_holm"] == pytest.approx(2 * t.loc["dgr", "p_tost"])
    assert t.loc["dgr", "verdict"] == "can't tell"
    # its interval, at the widest of the three levels, reaches past +1.5 and below zero
    assert t.loc["dgr", "diff_high"] > MARGIN and t.loc["dgr", "diff_low"] < 0


def test_too_few_not_run_no_figure_and_a_wider_margin():
    t = published_table(_runs({"none": FOUR["none"], "dgr": CLOSE, "er": [93.0, 94.0]}), PUB)
    t = t.set_index("configuration")
    assert t.loc["none", "verdict"] == t.loc["dgr", "verdict"] == "reproduced (within ±1.5)"
    assert t.loc["dgr", "p_tost"] == pytest.approx(_scipy_welch(CLOSE, 90.79, 0.41, 20)[0])
    assert t.loc["er", "verdict"] == "" and math.isnan(t.loc["er", "published_mean"])  # nothing to compare with
    assert t.loc["dgr", "published_n"] == 20 and t.loc["dgr", "margin"] == MARGIN
    few = published_table(_runs({"dgr": [90.0, 91.0]}), PUB).set_index("configuration")
    assert few.loc["dgr", "verdict"] == "too few seeds" and few.loc["none", "verdict"] == "not run"
    assert math.isnan(few.loc["dgr", "p_tost"]) and math.isnan(few.loc["dgr", "ci_level"])
    # a wider margin is a keyword: 92.0 against 90.79 is reproduced within ±3 points
    wide = published_table(_runs({"dgr": OURS}), PUB, margin=3.0).set_index("configuration")
    assert wide.loc["dgr", "verdict"] == "reproduced (within ±3)"


def test_a_published_mean_needs_its_sem():
    with pytest.raises(ValueError, match="'dgr' has a mean but no sem"):
        published_table(_runs({"dgr": OURS}), {"dgr": {"mean": 90.79, "n": 20}})
    # a spec from before n was recorded still gives a verdict (the SEM taken as exact)
    old = published_table(_runs({"dgr": OURS}), {"dgr": {"mean": 90.79, "sem": 0.41}})
    assert old["verdict"][0] == "higher than published (within reach of ±1.5)" and math.isnan(old["published_n"][0])


def test_failed_runs_are_left_out_and_readable_form():
    runs = _runs({"dgr": [90.0, 91.0, 92.0]})
    runs = pd.concat([runs, pd.DataFrame([{"label": "dgr", "status": "failed", "final_avg_acc": float("nan")}])])
    t = published_table(runs, PUB)
    assert int(t.set_index("configuration").loc["dgr", "n"]) == 3
    r = readable(t).set_index("configuration")
    assert r.loc["dgr", "published % ± SEM"] == "90.79 ± 0.41 (n 20)" and r.loc["dgr", "gr-bench % [95% CI]"].startswith("91.0 [")
    row = t.set_index("configuration").loc["dgr"]
    assert r.loc["dgr", "difference (points) [CI at the verdict's level]"] == \
        f"+0.2 [{row['diff_low']:+.1f}, {row['diff_high']:+.1f}]"
    assert r.loc["dgr", "CI level"] == "95%" and row["family_size"] == 1  # can't tell: the zero test's 1 - alpha
    assert r.loc["dgr", "p_holm: within / beyond / ≠ 0"].count(" / ") == 2
    assert r.loc["none", "p_holm: within / beyond / ≠ 0"] == "—" and r.loc["none", "verdict"] == "not run"
    text = rule_text(t)
    assert "Holm-adjusted over the 1 configuration with a published figure" in text and "agrees" not in text
    assert "\"differs (beyond ±1.5)\"" in text and "within reach of ±1.5" in text


def test_closest_margin_is_where_scipys_tost_stops_passing_with_unlimited_seeds():
    # d = 0 and a huge, nearly spread-free sample of ours: se is the SEM, Welch's df the paper's n - 1
    assert closest_margin(2.04, 20) == pytest.approx(stats.t.isf(0.05, 19) * 2.04) == pytest.approx(3.5274, abs=1e-4)
    assert closest_margin(0.94, 20) == pytest.approx(1.6254, abs=1e-4)  # task-IL "none": also above ±1.5
    assert closest_margin(1.0, None) == pytest.approx(1.6449, abs=1e-4)  # SEM taken as exact: the normal quantile
    ours = 59.21 + np.tile([-1e-3, 1e-3], 50_000)
    for factor, passes in ((0.99, False), (1.01, True)):
        margin = factor * closest_margin(2.04, 20)
        assert bool(_scipy_welch(ours, 59.21, 2.04, 20, margin=margin)[0] < 0.05) is passes
    # a spread of ours (a larger Welch df, but a larger se too) never gets below it
    for sd in (0.2, 0.5, 1.0, 3.0, 9.0):
        for n in (3, 20, 1000):
            tilted = 59.21 + sd * np.tile([-1.0, 1.0], n)
            assert _scipy_welch(tilted, 59.21, 2.04, 20, margin=closest_margin(2.04, 20))[0] >= 0.05


def test_a_cant_tell_row_says_when_no_number_of_seeds_could_reproduce_it():
    pub = {"none": {"mean": 59.21, "sem": 2.04, "n": 20, "source": "paper"}, "dgr": PUB["dgr"]}
    noisy = {"none": [50.0, 70.0, 62.0, 55.0, 66.0], "dgr": [86.0, 95.0, 90.0, 93.0]}  # both can't tell
    t = published_table(_runs(noisy), pub)
    assert list(t["verdict"]) == ["can't tell", "can't tell"]
    lines = out_of_reach(t)  # dgr's SEM (0.41) leaves ±1.5 reachable with more seeds: no line
    assert lines == ["- none: ±1.5 is out of reach at any number of gr-bench seeds: the published SEM alone "
                     "(2.04, n 20) keeps TOST at alpha 0.05 from showing a margin below 3.53 points, so more "
                     "seeds could show \"differs\" or \"higher\"/\"lower\", never \"reproduced\"."]
    assert out_of_reach(published_table(_runs(noisy), pub, margin=4.0)) == []  # ±4 is reachable
