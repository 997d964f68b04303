"""gr-bench's figures beside a published table: the interval, the Welch equivalence test and the
verdict, on literal data; the expected p-values from scipy's own Welch test on summary statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gr_bench.report.build import published_text
from gr_bench.report.published import MARGIN, published_table, readable, t_interval, welch_against_published

PUB = {"none": {"mean": 19.90, "sem": 0.02, "n": 20, "source": "paper"},
       "dgr": {"mean": 90.79, "sem": 0.41, "n": 20, "source": "paper"}}
OURS = [92.0, 91.0, 93.0, 92.5, 91.5]  # 5 seeds of dgr, mean 92.0
CLOSE = list(90.79 + np.linspace(-0.5, 0.5, 12))  # 12 seeds around the published mean


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


def test_t_interval_equals_scipys():
    x = [88.1, 90.3, 91.0, 89.4, 92.2]
    mean, low, high = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(90.2) and (low, high) == pytest.approx(ref)
    assert math.isnan(t_interval([1.0, 2.0])[1])  # no interval below 3 values


def test_welch_tost_and_difference_p_equal_scipys():
    """92.0 over 5 seeds against 90.79 ± 0.41 (20 seeds): se = sqrt(s²/5 + 0.41²), Welch df."""
    w = welch_against_published(OURS, 90.79, 0.41, 20)
    p_tost, p_diff = _scipy_welch(OURS, 90.79, 0.41, 20)
    assert w["p_tost"] == pytest.approx(p_tost, rel=1e-9) and w["p_diff"] == pytest.approx(p_diff, rel=1e-9)
    s2 = np.var(OURS, ddof=1) / 5
    se = math.sqrt(s2 + 0.41 ** 2)
    df = se ** 4 / (s2 ** 2 / 4 + 0.41 ** 4 / 19)
    assert w["se_welch"] == pytest.approx(se) and w["df_welch"] == pytest.approx(df)
    half = stats.t.ppf(0.95, df) * se  # the 90% interval TOST uses
    assert (w["ci90_low"], w["ci90_high"]) == pytest.approx((1.21 - half, 1.21 + half))
    # a real difference of +1.2 points, not shown within ±1.5: its 90% interval reaches past +1.5
    assert p_diff < 0.05 < p_tost and w["ci90_high"] > MARGIN
    # without the paper's n the SEM is taken as exact: gr-bench's seeds alone give the df
    assert welch_against_published(OURS, 90.79, 0.41, None)["df_welch"] == pytest.approx(se ** 4 / (s2 ** 2 / 4))


def test_verdicts_reproduced_differs_cant_tell():
    runs = _runs({
        "none": [19.8, 19.9, 20.0, 19.9, 19.9],                          # on the published mean: reproduced
        "dgr": CLOSE,                                                    # 12 seeds close to it: reproduced
        "er": [93.0, 94.0],                                              # no published figure
    })
    t = published_table(runs, PUB).set_index("configuration")
    assert t.loc["none", "verdict"] == t.loc["dgr", "verdict"] == "reproduced (within ±1.5)"
    assert t.loc["dgr", "p_tost"] == pytest.approx(_scipy_welch(CLOSE, 90.79, 0.41, 20)[0])
    assert t.loc["er", "verdict"] == "" and math.isnan(t.loc["er", "published_mean"])  # nothing to compare with
    assert t.loc["dgr", "published_n"] == 20 and t.loc["dgr", "margin"] == MARGIN

    far = published_table(_runs({"dgr": [84.0, 85.0, 86.0, 85.5, 84.5]}), PUB).set_index("configuration")
    assert far.loc["dgr", "verdict"] == "differs" and far.loc["dgr", "difference"] == pytest.approx(85.0 - 90.79)
    assert far.loc["dgr", "p_diff"] < 0.05 and far.loc["dgr", "ci90_high"] < -MARGIN
    # within 2 points of the published mean, which the old rule called "agrees": a clear difference
    close = published_table(_runs({"dgr": [89.0, 89.1, 89.0]}), PUB).set_index("configuration")
    assert close.loc["dgr", "verdict"] == "differs"
    p_tost, p_diff = _scipy_welch([89.0, 89.1, 89.0], 90.79, 0.41, 20)
    assert close.loc["dgr", "p_diff"] == pytest.approx(p_diff) and close.loc["dgr", "p_tost"] == pytest.approx(p_tost)
    # few noisy seeds: neither test reaches alpha, though the published mean lies inside our interval
    noisy = published_table(_runs({"dgr": [86.0, 95.0, 90.0, 93.0]}), PUB).set_index("configuration")
    assert noisy.loc["dgr", "verdict"] == "can't tell"
    assert noisy.loc["dgr", "p_tost"] > 0.05 and noisy.loc["dgr", "p_diff"] > 0.05

    few = published_table(_runs({"dgr": [90.0, 91.0]}), PUB).set_index("configuration")
    assert few.loc["dgr", "verdict"] == "too few seeds" and few.loc["none", "verdict"] == "not run"
    assert math.isnan(few.loc["dgr", "p_tost"])
    # a wider margin is a keyword: 92.0 against 90.79 is reproduced within ±3 points
    wide = published_table(_runs({"dgr": OURS}), PUB, margin=3.0).set_index("configuration")
    assert wide.loc["dgr", "verdict"] == "reproduced (within ±3)"


def test_a_published_mean_needs_its_sem():
    with pytest.raises(ValueError, match="'dgr' has a mean but no sem"):
        published_table(_runs({"dgr": OURS}), {"dgr": {"mean": 90.79, "n": 20}})
    # a spec from before n was recorded still gives a verdict (the SEM taken as exact)
    old = published_table(_runs({"dgr": OURS}), {"dgr": {"mean": 90.79, "sem": 0.41}})
    assert old["verdict"][0] == "differs" and math.isnan(old["published_n"][0])


def test_failed_runs_are_left_out_and_readable_form():
    runs = _runs({"dgr": [90.0, 91.0, 92.0]})
    runs = pd.concat([runs, pd.DataFrame([{"label": "dgr", "status": "failed", "final_avg_acc": float("nan")}])])
    t = published_table(runs, PUB)
    assert int(t.set_index("configuration").loc["dgr", "n"]) == 3
    r = readable(t).set_index("configuration")
    assert r.loc["dgr", "published % ± SEM"] == "90.79 ± 0.41 (n 20)" and r.loc["dgr", "gr-bench % [95% CI]"].startswith("91.0 [")
    lo, hi = t.set_index("configuration").loc["dgr", ["ci90_low", "ci90_high"]]
    assert r.loc["dgr", "difference (points) [90% CI]"] == f"+0.2 [{lo:+.1f}, {hi:+.1f}]"
    assert r.loc["dgr", "TOST p"] != "—" and r.loc["none", "TOST p"] == "—" and r.loc["none", "verdict"] == "not run"
    text = published_text(t)
    assert "\"reproduced (within ±1.5)\": two one-sided Welch t-tests" in text and "agrees" not in text
