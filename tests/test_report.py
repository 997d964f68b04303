"""Reports are rebuilt from the storage alone: statistics, plots, report.md; never training."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
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
        assert r["n_a"] == "7"
        if r["test"] == "exact":  # a count the same on every seed (training FLOPs): no test, no p
            assert r["metric"] == "flops_train" and r["p_value"] == r["p_holm"] == "nan"
            continue
        assert r["test"] == "paired-t" and r["test_secondary"] == "wilcoxon"
        assert float(r["p_holm"]) >= float(r["p_value"])
    # the buffer of the generator's bytes holds all of digits' tiny training set: generative loses clearly
    assert acc[("buffer-equal-bytes", "generative")]["verdict"] == "better"
    # queued seed by seed, the configurations ran interleaved (stats.csv says so), yet wall-clock rows
    # are never judged: machines are shared and load swings
    wall = [r for r in rows if r["metric"].startswith("time_")]
    assert wall and all(r["interleaved"] == "yes" and r["verdict"] == "not judged (wall clock)" for r in wall)
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
    assert "| a | b | n | diff | CI (its Holm level) | CI level | p_holm | verdict |" in report
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
    assert p.stdout.startswith("does generative beat none on final_avg_acc (") and "paired-t" in p.stdout
    assert "n=7" in p.stdout
    p = gr("compare", "generative", "nothere", "--study", str(study_copy))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "nothere" in p.stderr


def test_report_bad_input(tmp_path):
    for args in (["report", "nosuch", "--results", str(tmp_path)], ["report", str(tmp_path / "missing")]):
        p = gr(*args)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr


def test_grid_comparisons_use_the_declared_anchor():
    import pandas as pd

    from gr_bench.orchestration import get_spec
    from gr_bench.report.analysis import comparison_pairs

    runs = pd.DataFrame({"stage": "search", "status": "ok", "seed": [0, 0, 0],
                         "label": ["vae-report", "gmm", "buffer-1000"], "final_avg_acc": [0.7, 0.9, 0.95]})
    # declared (the generator study's): every other configuration is tested against the seed's VAE
    assert get_spec("generator").compared_with() == ["vae-report"]
    assert comparison_pairs("grid", runs, ["vae-report"]) == ("search", [("gmm", "vae-report"), ("buffer-1000", "vae-report")])
    # none declared and no generative label: the best configuration against the rest
    assert comparison_pairs("grid", runs, []) == ("search", [("buffer-1000", "vae-report"), ("buffer-1000", "gmm")])


@pytest.mark.slow  # a whole study or report: tens of seconds
def test_report_warns_when_the_study_definition_changed(study_copy):
    import optuna

    storage = f"sqlite:///{study_copy / 'study.db'}"
    stage = optuna.load_study(study_name="baselines-digits-quick", storage=storage)
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
    assert p.returncode == 0 and p.stdout.startswith("exported baselines-digits-quick:") and p.stdout.count("\n") == 1
    assert (study_copy / "report.md").is_file() and (study_copy / "stats.csv").is_file()


def _friedman_markdown(values: dict[str, list[float]], metric: str = "final_avg_acc", interleaved: bool = True) -> str:
    import pandas as pd

    from gr_bench.report.analysis import Comparisons, analyse
    from gr_bench.report.verdict_sections import friedman_text

    k, n = len(values), len(next(iter(values.values())))

    def minute(i: int, seed: int) -> int:  # seed by seed (interleaved), else one configuration after another
        return seed * k + i if interleaved else i * n + seed

    runs = pd.DataFrame([{"stage": "search", "status": "ok", "seed": seed, "label": label, metric: v,
                          "started_at": f"2025-01-01T{minute(i, seed) // 60:02d}:{minute(i, seed) % 60:02d}:00Z"}
                         for i, (label, vs) in enumerate(values.items()) for seed, v in enumerate(vs)])
    result = analyse("s", runs, Comparisons("grid", (next(iter(values)),), metric))
    return "\n".join(friedman_text(result.friedman, 0.05))


def test_a_significant_friedman_test_shows_its_post_hoc_pairs():
    text = _friedman_markdown({"a": [0.90, 0.91, 0.92, 0.90, 0.93, 0.91, 0.92, 0.90],
                               "b": [0.80, 0.82, 0.81, 0.80, 0.83, 0.81, 0.80, 0.82],
                               "c": [0.60, 0.63, 0.61, 0.62, 0.60, 0.61, 0.63, 0.62]})
    assert "Friedman test across 3 configurations on 8 seeds" in text
    assert "Holm across the 3 pairs; differences a - b in points" in text
    assert "| a | b | n | diff | CI (its Holm level) | CI level | p_holm | verdict |" in text
    assert "| 98.33% |" in text  # all three rejected at Holm's first step: alpha/3
    assert "| a | b | 8 | +10.00 | [8.68, 11.32] |" in text and "| a | c | 8 | +29.62 | [" in text
    assert text.count("| better |") == 3  # every pair: the first named is the more accurate


def test_post_hocs_read_in_the_metrics_sense_and_stay_hidden_when_not_significant():
    # CPU seconds, lower is better: "fast" beats the others; differences in seconds
    times = {"fast": [10, 11, 10, 12, 11, 10], "mid": [20, 21, 22, 20, 21, 23], "slow": [40, 42, 41, 40, 43, 41]}
    text = _friedman_markdown(times, metric="cpu_s")
    assert "differences a - b in s" in text and "| fast | slow | 6 | -30.50 | [" in text
    assert text.count("| better |") == 3
    # wall-clock post-hocs keep their numbers and get no verdict, interleaved or not
    for interleaved in (True, False):
        wall = _friedman_markdown(times, metric="time_total_s", interleaved=interleaved)
        assert "| fast | slow | 6 | -30.50 | [" in wall and wall.count("| not judged (wall clock) |") == 3
    noise = _friedman_markdown({"a": [0.5, 0.7, 0.6, 0.4], "b": [0.6, 0.5, 0.7, 0.5], "c": [0.7, 0.6, 0.4, 0.6]})
    assert "Not significant at alpha 0.05: no pairwise post-hoc test is shown." in noise and "| a | b |" not in noise


def rows_of(path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def shipped_search(tmp_path_factory):
    """The shipped replay_schedule study (a search with a final stage), its report rebuilt without figures."""
    import shutil
    from pathlib import Path

    from gr_bench.report import shipped
    from gr_bench.report.rebuild import rebuild

    folder = tmp_path_factory.mktemp("shipped") / "replay_schedule"
    folder.mkdir()
    for name in shipped.SHIPPED:
        shutil.copy(Path(__file__).resolve().parents[1] / "results" / "replay_schedule" / name, folder / name)
    rows, meta = shipped.load(folder)
    out = rebuild(folder, "replay_schedule", rows, meta, draw=False)
    return folder, out


def test_report_opens_with_a_headline_the_question_and_the_answer_with_its_numbers(shipped_search):
    folder, out = shipped_search
    text = (folder / "report.md").read_text()
    head = text.split("\n\n")
    assert head[:2] == ["# replay_schedule", "## Answer"]
    question, answer = head[2].split("  \n")
    assert question == f"Question: {out.spec.summary}."
    row = next(r for r in out.analysis.rows if r["metric"] == "final_avg_acc")
    assert (row["a"], row["b"]) == ("best-1", "report-linear:1000")  # the search's best against the reference
    assert answer.startswith("Answer: best-1 against report-linear:1000 on `final_avg_acc` (the search's best "
                             "against the reference; all 5 comparisons below): ")
    assert f"{100 * row['diff']:+.1f} points" in answer and f"[{100 * row['ci_low']:+.1f}, " in answer
    assert answer.endswith(f"5 paired seeds: **{row['verdict']}**.")
    assert text.count(answer) == 1 and out.warning == ""  # the rename changed no study definition


def test_report_keeps_search_and_final_times_apart(shipped_search):
    folder, _ = shipped_search
    text = (folder / "report.md").read_text()
    section = text.split("## Configurations (final stage, mean ± sd over seeds)\n", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| configuration |"))
    assert "| search time s | final time s |" in header and "| time s |" not in header
    runs = pd.DataFrame(rows_of(folder / "runs.csv"))
    best_id = json.loads((folder / "manifest.json").read_text())["final_configs"]["best-1"]["config_id"]
    search = runs[(runs["stage"] == "search") & (runs["config_id"] == best_id)]["time_total_s"].astype(float)
    final = runs[(runs["stage"] == "final") & (runs["label"] == "best-1")]["time_total_s"].astype(float)
    best = next(line for line in section.splitlines() if line.startswith("| best-1 |"))
    assert f"| {search.mean():.1f} | {final.mean():.1f} ± {final.std():.1f} |" in best
    ref = next(line for line in section.splitlines() if line.startswith("| report-linear:1000 |"))
    assert "| - | " in ref  # the reference was not searched: no search time beside its final one
    assert "`epochs=2 vae_epochs=2` per task" in section


def test_report_never_judges_wall_clock_and_says_what_is_judged(shipped_search):
    folder, _ = shipped_search
    text = (folder / "report.md").read_text()
    wall = [r for r in rows_of(folder / "stats.csv") if r["metric"] == "time_total_s"]
    assert wall and {r["verdict"] for r in wall} == {"not judged (wall clock)"}
    assert all(r["interleaved"] in ("yes", "no") and r["p_value"] for r in wall)  # the numbers stay
    assert "Wall-clock times (time_*) are never judged" in text and "judged only when" not in text
    assert "5 comparisons on `time_total_s`: wall clock, not judged;" in text
    assert "read `cpu_s` and `flops_train` for a verdict on cost." in text
    assert "seed-linear" not in text and "not interleaved" not in text


def test_write_report_is_a_list_of_sections():
    import inspect

    from gr_bench.report.build import write_report

    assert len(inspect.getsource(write_report).splitlines()) < 80


def test_a_grid_headline_counts_its_verdicts_and_names_the_decided_ones():
    from gr_bench.report.answer import headline_text

    def row(a: str, diff: float, verdict: str) -> dict:
        return {"metric": "final_avg_acc", "unit": "fraction", "a": a, "b": "anchor", "family_size": 3, "n_a": 5,
                "diff": diff, "mean_a": 0.5 + diff, "mean_b": 0.5, "ci_low": diff - 0.02, "ci_high": diff + 0.02,
                "p_holm": 0.01, "p_value": 0.003, "ci_level": 1 - 0.05 / 3, "verdict": verdict}

    rows = [row("x", -0.1, "worse"), row("y", 0.001, "underpowered"), row("z", 0.002, "underpowered")]
    assert headline_text(rows, "search") == ("3 comparisons on `final_avg_acc` against anchor (5 paired seeds, Holm "
                                             "over 3): worse: x; 2 underpowered. Each difference with its CI is in "
                                             "the table below.")
    one = dict(rows[0], family_size=1, ci_level=0.95)
    assert headline_text([one], "search") == ("x against anchor on `final_avg_acc`: -10.0 points (40.0 against "
                                              "50.0), 95% CI [-12.0, -8.0], p 0.003, 5 paired seeds: **worse**.")


def test_report_md_gives_verdicts_as_tables_not_long_sentences():
    """report.md's Verdicts, Attribution and compute-control sections are tables (comparison,
    difference [CI], p_holm, verdict); the power/TOST/MDE details live in the Statistics table. The
    shipped main job's report.md (regenerated by tests/test_docs.py) is the example."""
    text = (Path(__file__).parent.parent / "results" / "replay_schedule" / "report.md").read_text()
    verdicts = text.split("## Verdicts", 1)[1].split("## What each comparison changes", 1)[0]
    assert verdicts.count("| a | b | metric | difference [CI] | p_holm | verdict |") == 1
    assert "| a | b | only this differs | difference [CI] | p_holm | verdict |" in verdicts
    assert "| a | b | what it measures | difference [CI] | p_holm | verdict |" in verdicts
    assert not [line for line in verdicts.splitlines() if line.startswith("- does") or "? yes:" in line]
    assert "| best-1 | report-linear:1000 | `final_avg_acc` (primary) | +18.6 points [+11.8, +25.4] (99.64%) " \
           "| 0.00029 (k=5) | better |" in verdicts
