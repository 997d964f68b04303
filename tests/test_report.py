"""Reports are rebuilt from the storage alone: statistics, plots, report.md; never training."""

import csv
import os
import subprocess

import pytest

from conftest import GR

REQUIRED = ["study", "metric", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "test",
            "statistic", "p_value", "p_holm", "effect_size", "effect_kind", "prob_improvement", "verdict"]


def gr(*args):
    return subprocess.run([GR, *args], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.slow  # a whole study or report: tens of seconds
def test_report_writes_stats_plots_and_markdown(study_copy):
    p = gr("report", str(study_copy))
    assert p.returncode == 0, p.stderr
    assert "Verdicts" in p.stdout
    with open(study_copy / "stats.csv") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[: len(REQUIRED)] == REQUIRED
        rows = list(reader)
    acc = {(r["a"], r["b"]): r for r in rows if r["metric"] == "final_avg_acc"}
    # baselines declares generative replay its anchor: every other method is compared with it
    assert set(acc) == {("buffer-equal-bytes", "generative"), ("none", "generative"), ("joint", "generative")}
    for r in rows:
        assert r["test"] == "paired-t" and r["test_secondary"] == "wilcoxon" and r["n_a"] == "7"
        assert float(r["p_holm"]) >= float(r["p_value"])
    # the buffer of the generator's bytes holds all of digits' tiny training set: generative loses clearly
    assert acc[("buffer-equal-bytes", "generative")]["verdict"] == "better"
    # queued seed by seed, the configurations ran interleaved: wall-clock rows are judged
    wall = [r for r in rows if r["metric"].startswith("time_")]
    assert wall and all(r["interleaved"] == "yes" and r["verdict"] != "not interleaved" for r in wall)
    assert {r["interleaved"] for r in rows if not r["metric"].startswith("time_")} == {""}
    with open(study_copy / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert all(r["started_at"].endswith("Z") and r["finished_at"] >= r["started_at"] and r["worker"]
               and r["reused"] == "False" for r in runs)
    first = sorted(runs, key=lambda r: r["started_at"])[:4]
    assert {r["seed"] for r in first} == {"0"} and len({r["label"] for r in first}) == 4  # every method of seed 0 first
    report = (study_copy / "report.md").read_text()
    assert "## Verdicts" in report and "![" in report
    # each comparison names what differs between its arms; the power statement follows stats
    assert "| none | generative | `strategy` none vs generative |" in report
    assert "| buffer-equal-bytes | generative | `strategy` buffer vs generative; `buffer_bytes` match-generator vs " in report
    assert "## Power" in report and "3 comparisons under Holm, 7 paired seeds" in report
    assert "would detect 2 points" in report
    # the four methods differ clearly: the Friedman test is significant and its post-hoc pairs follow it
    assert "Post-hoc, every pair of the 4 configurations on `final_avg_acc`" in report
    assert "| a | b | n | diff | 99.17% CI | p_holm | verdict |" in report
    for name in ("accuracy-vs-tasks", "phase-times", "curves-generative", "heatmap-generative", "accuracy-vs-memory"):
        assert (study_copy / "plots" / f"{name}.png").stat().st_size > 0
        assert (study_copy / "plots" / f"{name}.svg").exists()
        assert f"plots/{name}.png" in report


@pytest.mark.slow
def test_report_is_reproducible(study_copy):
    assert gr("report", str(study_copy)).returncode == 0
    names = ["stats.csv", "report.md", "runs.csv", "plots/accuracy-vs-tasks.png", "plots/curves-generative.svg"]
    first = {n: (study_copy / n).read_bytes() for n in names}
    assert gr("report", str(study_copy)).returncode == 0
    assert {n: (study_copy / n).read_bytes() for n in names} == first


def test_compare_two_configurations(study_copy):
    p = gr("compare", "generative", "none", "--study", str(study_copy))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("generative vs none:") and "paired-t" in p.stdout and "n=7" in p.stdout
    p = gr("compare", "generative", "nothere", "--study", str(study_copy))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "nothere" in p.stderr


def test_report_bad_input(tmp_path):
    for args in (["report", "nosuch", "--results", str(tmp_path)], ["report", str(tmp_path / "missing")]):
        p = gr(*args)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr


def test_grid_comparisons_use_the_declared_anchor():
    import pandas as pd

    from gr_bench.report.analysis import comparison_pairs
    from gr_bench.study import get_spec

    runs = pd.DataFrame({"stage": "search", "status": "ok", "seed": [0, 0, 0],
                         "label": ["vae-seed", "gmm", "buffer-1000"], "final_avg_acc": [0.7, 0.9, 0.95]})
    # declared (the generator study's): every other configuration is tested against the seed's VAE
    assert get_spec("generator").compared_with() == ["vae-seed"]
    assert comparison_pairs("grid", runs, ["vae-seed"]) == ("search", [("gmm", "vae-seed"), ("buffer-1000", "vae-seed")])
    # none declared and no generative label: the best configuration against the rest
    assert comparison_pairs("grid", runs, []) == ("search", [("buffer-1000", "vae-seed"), ("buffer-1000", "gmm")])


@pytest.mark.slow  # a whole study or report: tens of seconds
def test_report_warns_when_the_study_definition_changed(study_copy):
    import optuna

    storage = f"sqlite:///{study_copy / 'study.db'}"
    stage = optuna.load_study(study_name="baselines-quick", storage=storage)
    setup = dict(stage.user_attrs["setup"])
    assert gr("report", str(study_copy)).stderr == ""  # the same definition: nothing to say
    setup["definition"] = "000000000000"
    stage.set_user_attr("setup", setup)
    p = gr("report", str(study_copy))
    assert p.returncode == 0 and "was run from another definition of study 'baselines'" in p.stderr
    assert p.stderr.count("\n") == 1


@pytest.mark.slow  # a whole study or report: tens of seconds
def test_export_writes_what_report_writes_but_prints_one_line(study_copy):
    p = gr("export", str(study_copy))
    assert p.returncode == 0 and p.stdout.startswith("exported baselines-quick:") and p.stdout.count("\n") == 1
    assert (study_copy / "report.md").is_file() and (study_copy / "stats.csv").is_file()


def _friedman_markdown(values: dict[str, list[float]], metric: str = "final_avg_acc", interleaved: bool = True) -> str:
    import pandas as pd

    from gr_bench.report.analysis import analyse
    from gr_bench.report.build import friedman_text

    k, n = len(values), len(next(iter(values.values())))

    def minute(i: int, seed: int) -> int:  # seed by seed (interleaved), else one configuration after another
        return seed * k + i if interleaved else i * n + seed

    runs = pd.DataFrame([{"stage": "search", "status": "ok", "seed": seed, "label": label, metric: v,
                          "started_at": f"2025-01-01T{minute(i, seed) // 60:02d}:{minute(i, seed) % 60:02d}:00Z"}
                         for i, (label, vs) in enumerate(values.items()) for seed, v in enumerate(vs)])
    result = analyse("s", "grid", runs, [next(iter(values))], primary=metric)
    return "\n".join(friedman_text(result["friedman"], 0.05))


def test_a_significant_friedman_test_shows_its_post_hoc_pairs():
    text = _friedman_markdown({"a": [0.90, 0.91, 0.92, 0.90, 0.93, 0.91, 0.92, 0.90],
                               "b": [0.80, 0.82, 0.81, 0.80, 0.83, 0.81, 0.80, 0.82],
                               "c": [0.60, 0.63, 0.61, 0.62, 0.60, 0.61, 0.63, 0.62]})
    assert "Friedman test across 3 configurations on 8 seeds" in text
    assert "Holm across the 3 pairs; differences a - b in points" in text
    assert "| a | b | n | diff | 98.33% CI | p_holm | verdict |" in text  # the level of Holm over 3 pairs
    assert "| a | b | 8 | +10.00 | [8.68, 11.32] |" in text and "| a | c | 8 | +29.62 | [" in text
    assert text.count("| better |") == 3  # every pair: the first named is the more accurate


def test_post_hocs_read_in_the_metrics_sense_and_stay_hidden_when_not_significant():
    # training time, lower is better: "fast" beats the others; differences in seconds
    text = _friedman_markdown({"fast": [10, 11, 10, 12, 11, 10], "mid": [20, 21, 22, 20, 21, 23],
                               "slow": [40, 42, 41, 40, 43, 41]}, metric="time_total_s")
    assert "differences a - b in s" in text and "| fast | slow | 6 | -30.50 | [" in text
    assert text.count("| better |") == 3
    # the same runs one configuration after another: wall-clock post-hocs keep their numbers, no verdict
    late = _friedman_markdown({"fast": [10, 11, 10, 12, 11, 10], "mid": [20, 21, 22, 20, 21, 23],
                               "slow": [40, 42, 41, 40, 43, 41]}, metric="time_total_s", interleaved=False)
    assert "| fast | slow | 6 | -30.50 | [" in late and late.count("| not interleaved |") == 3
    noise = _friedman_markdown({"a": [0.5, 0.7, 0.6, 0.4], "b": [0.6, 0.5, 0.7, 0.5], "c": [0.7, 0.6, 0.4, 0.6]})
    assert "Not significant at alpha 0.05: no pairwise post-hoc test is shown." in noise and "| a | b |" not in noise
