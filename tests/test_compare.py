"""`gr-bench compare`: direction from each metric's declared sense, a unit on every difference, a plain p
for a single comparison, the report's verdict sentence, no silent mixing of stages or splits, and helpful
unknown labels."""

import csv
import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from gr_bench.cli import main
from gr_bench.metrics import METRIC_SENSE
from gr_bench.orchestration import StudyError
from gr_bench.paired_comparisons import wall_clock_rule
from gr_bench.report.two_configs import compare_runs

from conftest import GR

SEEDS = range(8)  # 8 paired seeds all one way: the exact Wilcoxon (secondary) p = 2/256


def _stored(metric: str, shown: float) -> float:
    return shown / METRIC_SENSE[metric].scale


def _runs(metric: str) -> pd.DataFrame:
    """'good' beats 'bad' on `metric` by 5 shown units on every seed, in the metric's own sense;
    run seed by seed (interleaved: wall-clock metrics get a verdict)."""
    step = 5.0 if METRIC_SENSE[metric].better == "higher" else -5.0
    rows = []
    for seed in SEEDS:
        base = 40.0 + seed
        for label, shown in (("good", base + step + 0.1 * seed), ("bad", base)):
            rows.append({"stage": "search", "split": "test", "label": label, "seed": seed, "status": "ok",
                         metric: _stored(metric, shown), "started_at": f"2025-01-01T00:{len(rows):02d}:00Z"})
    return pd.DataFrame(rows)


def _diff(line: str) -> tuple[float, str]:
    """The difference and its unit ('diff +5.4 points, 95% CI [...]'; a cost adds its relative size;
    an exact cost is stated: '+0.1 MiB (+5%), the same on every seed')."""
    exact = re.search(r"([+-][\d,]+\.\d+) (\w+)( \([+-]\d+%\))?, the same on every seed", line)
    if exact:
        return float(exact.group(1).replace(",", "")), exact.group(2)
    m = re.search(r"diff ([+-]\d+\.\d+) (\w+)( \([+-]\d+\.\d+%\))?, 95% CI \[(-?\d+\.\d+), (-?\d+\.\d+)\]", line)
    assert m, line
    return float(m.group(1)), m.group(2)


def _as_the_report(metric: str, verdict: str, runs: pd.DataFrame) -> str:
    """The verdict a report row of these arms would have (a time_* metric: comparisons.wall_clock_rule's)."""
    return wall_clock_rule({"metric": metric, "a": "good", "b": "bad", "verdict": verdict}, runs)["verdict"]


@pytest.mark.parametrize("metric", list(METRIC_SENSE))
def test_every_metric_direction_and_unit(metric):
    sense = METRIC_SENSE[metric]
    assert sense.better in ("higher", "lower") and sense.unit in ("points", "s", "MiB", "GFLOP")
    runs = _runs(metric)
    good = compare_runs(runs, "good", "bad", metric, min_effect=0.0)
    assert good["row"]["verdict"] == _as_the_report(metric, "better", runs), good["line"]
    diff, unit = _diff(good["line"])
    assert unit == sense.unit
    assert diff == pytest.approx(5.35 if sense.better == "higher" else -4.65, abs=0.06)  # shown a - b (1 decimal)
    assert good["line"].startswith(f"does good beat bad on {metric} (search stage, test split, {sense.better} is "
                                   "better)? " + ("yes: diff " if good["row"]["verdict"] == "better" else ""))
    bad = compare_runs(runs, "bad", "good", metric, min_effect=0.0)
    assert bad["row"]["verdict"] == _as_the_report(metric, "worse", runs)
    assert _diff(bad["line"]) == (pytest.approx(-diff), unit)
    assert bad["row"]["verdict"] != "worse" or "? no, it is worse: diff " in bad["line"]
    # a single comparison: its own p, the paired t-test's (t = 61.8 or -53.7 with 7 df); Wilcoxon beside it
    p = good["row"]["p_value"]
    assert good["row"]["test"] == "paired-t" and 0 < p < 1e-9 and good["row"]["p_secondary"] == pytest.approx(2 / 256)
    assert f" p {p:.3g}," in good["line"] and "p_holm" not in good["line"]
    assert ", paired-t, n=8" in good["line"]


def test_expected_units():
    assert {m: METRIC_SENSE[m].unit for m in ("final_avg_acc", "avg_forgetting", "bwt", "fwt")} == dict.fromkeys(
        ("final_avg_acc", "avg_forgetting", "bwt", "fwt"), "points")
    assert all(METRIC_SENSE[m].unit == "s" and METRIC_SENSE[m].better == "lower" for m in METRIC_SENSE
               if m.startswith("time_"))
    assert METRIC_SENSE["memory_bytes"].unit == "MiB" and METRIC_SENSE["avg_forgetting"].better == "lower"


def test_negligible_names_its_minimum_in_the_singular():
    runs = _runs("final_avg_acc")
    out = compare_runs(runs, "good", "bad", "final_avg_acc", min_effect=0.1)  # 10 points
    assert out["row"]["verdict"] in ("negligible", "inconclusive"), out["line"]
    if out["row"]["verdict"] == "negligible":
        assert "no, the difference is real but within ±10 points:" in out["line"]
    out = compare_runs(_runs("final_avg_acc").assign(final_avg_acc=lambda d: d.final_avg_acc / 10),
                       "good", "bad", "final_avg_acc", min_effect=0.01)
    assert out["row"]["verdict"] == "negligible" and "within ±1 point:" in out["line"], out["line"]


def _mixed() -> pd.DataFrame:
    search = _runs("final_avg_acc").assign(split="val")
    final = _runs("final_avg_acc").assign(stage="final", seed=lambda d: d.seed + 1000)
    return pd.concat([search.assign(label=search.label.map({"good": "lr=0.01", "bad": "lr=0.001"})),
                      final.assign(label=final.label.map({"good": "trial-3", "bad": "reference"}))])


def test_mixed_stages_or_splits_are_refused_unless_allowed():
    runs = _mixed()
    with pytest.raises(StudyError, match=r"final stage \(test split\).*search stage \(validation split\).*"
                                         r"--allow-mixed") as e:
        compare_runs(runs, "trial-3", "lr=0.01")
    assert "\n" not in str(e.value)
    out = compare_runs(runs, "trial-3", "lr=0.01", allow_mixed=True)
    assert out["warning"] and "different stages and different splits" in out["warning"]
    assert out["row"]["paired"] is False and "welch-t, n=8+8" in out["line"]
    assert "(final/search stage, test/val split, higher is better)?" in out["line"]
    # same stage and split: no warning, paired
    out = compare_runs(runs, "trial-3", "reference")
    assert out["warning"] is None and out["row"]["paired"] and "final stage, test split" in out["line"]
    # the same stage on another split
    other = runs.assign(split=np.where(runs.label == "reference", "val", runs.split))
    with pytest.raises(StudyError, match="different splits"):
        compare_runs(other, "trial-3", "reference")


def test_unknown_label_lists_three_closest():
    runs = _mixed()
    with pytest.raises(StudyError) as e:
        compare_runs(runs, "trial-4", "reference")
    msg = str(e.value)
    assert "'trial-4'" in msg and "'trial-3'" in msg and msg.count("'") == 2 * 4  # the label + 3 matches
    failed = pd.concat([runs, runs.iloc[:1].assign(label="broken", status="failed")])
    with pytest.raises(StudyError, match="'broken' has no successful runs"):
        compare_runs(failed, "broken", "reference")


# --- the command on a real stored study ------------------------------------------------------------

def _compare(capsys, *args):
    code = main(["compare", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_command_on_a_study(study_copy, capsys):
    code, out, err = _compare(capsys, "generative", "none", "--study", str(study_copy), "--metric", "time_total_s")
    assert code == 0 and out.count("\n") == 1 and err == "", err
    assert out.startswith("does generative beat none on time_total_s (") and ", lower is better)? " in out
    assert _diff(out)[1] == "s" and "p_holm" not in out and " p " in out
    code, out, _ = _compare(capsys, "generative", "none", "--study", str(study_copy), "--metric", "memory_bytes")
    assert code == 0 and _diff(out)[1] == "MiB"
    code, out, err = _compare(capsys, "generativ", "none", "--study", str(study_copy))
    assert code == 2 and out == "" and err.count("\n") == 1 and "'generative'" in err and "Traceback" not in err
    assert err.count("'") == 2 * 4  # the unknown label and its 3 closest matches, not every label
    code, _, err = _compare(capsys, "generative", "none", "--study", str(study_copy), "--metric", "threads")
    assert code == 2 and err.count("\n") == 1 and "final_avg_acc" in err


def test_compare_agrees_with_the_study_report(study_copy, capsys):
    """Where the report calls a pair better or worse (Holm-adjusted p), the single comparison agrees."""
    rows = [r for r in csv.DictReader(open(study_copy / "stats.csv")) if r["metric"] in METRIC_SENSE]
    assert rows
    for r in rows:
        code, out, _ = _compare(capsys, r["a"], r["b"], "--study", str(study_copy), "--metric", r["metric"])
        assert code == 0
        answer = {"better": "yes", "worse": "no, it is worse"}.get(r["verdict"])
        if answer:  # the report's sentence, with the same answer
            assert f" is better)? {answer}: " in out, (r, out)


@pytest.fixture(scope="module")
def search_study(tmp_path_factory):
    """A tiny search study with a final stage: search labels (validation split) and final labels (test)."""
    root = tmp_path_factory.mktemp("search")
    p = subprocess.run([GR, "study", "generator_size", "--quick", "--dataset", "digits", "--trials", "2",
                        "--seeds", "2", "--workers", "1", "--results", str(root), "--set", "epochs=1",
                        "--set", "vae_epochs=1", "--set", "vae_hidden=32,16"],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    return root / "generator_size-digits-quick", p.stdout


@pytest.mark.slow
def test_compare_refuses_mixed_stages_on_a_real_study(search_study, capsys):
    folder, stdout = search_study
    runs = list(csv.DictReader(open(folder / "runs.csv")))
    search = next(r["label"] for r in runs if r["stage"] == "search")
    code, out, err = _compare(capsys, "seed-vae", search, "--study", str(folder))
    assert code == 2 and out == "" and err.count("\n") == 1 and "--allow-mixed" in err, err
    code, out, err = _compare(capsys, "seed-vae", search, "--study", str(folder), "--allow-mixed")
    assert code == 0 and err.count("\n") == 1 and "warning" in err and out.count("\n") == 1
    # the search stage's plain progress lines, then the final stage's
    assert re.search(r"^search: 2/2 done( \([^)]*\))?, elapsed \S+, ETA [^,]+, best .+ \d+\.\d% \(mean of \d runs?\)$",
                     stdout, re.M), stdout
    assert re.search(r"^final: \d+/\d+ done", stdout, re.M), stdout
