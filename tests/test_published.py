"""gr-bench's figures beside a published table: the interval and the verdict, on literal data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gr_bench.report.published import published_table, readable, t_interval

PUB = {"none": {"mean": 19.90, "sem": 0.02, "source": "paper"}, "dgr": {"mean": 90.79, "sem": 0.41, "source": "paper"}}


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"label": k, "status": "ok", "final_avg_acc": v / 100} for k, vs in values.items() for v in vs])


def test_t_interval_equals_scipys():
    x = [88.1, 90.3, 91.0, 89.4, 92.2]
    mean, low, high = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(90.2) and (low, high) == pytest.approx(ref)
    assert math.isnan(t_interval([1.0, 2.0])[1])  # no interval below 3 values


def test_verdicts():
    runs = _runs({"none": [19.8, 19.9, 20.0, 19.9, 19.9], "dgr": [84.0, 85.0, 86.0, 85.5, 84.5], "er": [93.0, 94.0]})
    t = published_table(runs, PUB).set_index("configuration")
    assert t.loc["none", "verdict"] == "agrees"  # 19.90 inside the interval
    assert t.loc["dgr", "verdict"] == "differs" and t.loc["dgr", "difference"] == pytest.approx(85.0 - 90.79)
    assert t.loc["er", "verdict"] == "" and math.isnan(t.loc["er", "published_mean"])  # nothing to compare with
    close = published_table(_runs({"dgr": [89.0, 89.1, 89.0]}), PUB).set_index("configuration")
    assert close.loc["dgr", "verdict"] == "agrees"  # outside a narrow interval but within 2 points
    few = published_table(_runs({"dgr": [90.0, 91.0]}), PUB).set_index("configuration")
    assert few.loc["dgr", "verdict"] == "too few seeds" and few.loc["none", "verdict"] == "not run"


def test_failed_runs_are_left_out_and_readable_form():
    runs = _runs({"dgr": [90.0, 91.0, 92.0]})
    runs = pd.concat([runs, pd.DataFrame([{"label": "dgr", "status": "failed", "final_avg_acc": float("nan")}])])
    t = published_table(runs, PUB)
    assert int(t.set_index("configuration").loc["dgr", "n"]) == 3
    r = readable(t).set_index("configuration")
    assert r.loc["dgr", "published % ± SEM"] == "90.79 ± 0.41" and r.loc["dgr", "gr-bench % [95% CI]"].startswith("91.0 [")
