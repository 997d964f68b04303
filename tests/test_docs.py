"""The findings a reader sees are generated from the shipped rows in results/, and checked here."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from gr_bench.studies import _precision_answer as precision_answer

from gr_bench import stats
from gr_bench.report import shipped
from gr_bench.report.header import header_text
from gr_bench.report.markdown import duration_text
from tools import docs, findings

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATHS = ("/work/", "/root/", "/home/", "/tmp/", "sqlite:///", "/Users/")


def test_the_committed_docs_and_reports_match_the_shipped_rows():
    """README's findings, docs/results.md, docs/memory.md and every shipped report.md / stats.csv are
    what `python -m tools.docs` makes from results/ today."""
    assert docs.main(["--root", str(ROOT), "--check"]) == 0


def test_shipped_files_name_no_machine_path():
    for folder in docs.shipped_folders(ROOT / "results"):
        for path in folder.iterdir():
            if path.is_file():
                text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
                assert not [p for p in MACHINE_PATHS if p in text], path


def test_every_shipped_study_is_complete():
    for folder in docs.shipped_folders(ROOT / "results"):
        manifest = json.loads((folder / "manifest.json").read_text())
        for key in ("command", "code_versions", "wall_s", "runs_cpu_s", "cpu_models", "setup"):
            assert manifest.get(key), (folder, key)
        assert (folder / "stats.csv").is_file() and (folder / "report.md").is_file()


def test_sections_split_on_second_level_headings():
    s = docs.sections("# t\n\n## A\n\nx\n\n## B (more)\n\n- y\n")
    assert s == {"A": "x", "B (more)": "- y"}


def test_a_command_loses_its_machine_paths():
    cmd = "gr-bench study memory --seeds 0,1,2 --results /work/runs/mem --storage=sqlite:////x.db --workers 2"
    assert shipped.portable_command(cmd) == "gr-bench study memory --seeds 0,1,2 --workers 2"
    m = shipped.portable_manifest({"command": cmd, "storage": "sqlite:////work/x", "hosts": ["vm"], "wall_s": 3.0})
    assert m == {"command": "gr-bench study memory --seeds 0,1,2 --workers 2", "wall_s": 3.0}


def test_ship_refuses_an_unexported_folder_and_leaves_the_target_alone(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "runs.csv").write_text("kept")
    with pytest.raises(ValueError, match="export the study first"):
        shipped.ship(tmp_path / "src", tmp_path / "dest")
    assert (tmp_path / "dest" / "runs.csv").read_text() == "kept"


def test_one_wall_time_format_from_the_manifest():
    assert [duration_text(s) for s in (45, 1060.4, 6720)] == ["45 s", "17 min 40 s", "1 h 52 min"]
    head = header_text({"command": "gr-bench study x", "datasets": ["mnist"], "code_versions": ["src.1"],
                        "git_sha": "abc", "wall_s": 1060.4, "runs_cpu_s": 2010.2, "cpu_models": ["EPYC"]})
    assert "17 min 40 s wall" in head and "storage" not in head
    assert "2,010 s of CPU summed over its runs (CPU: EPYC)" in head
    resumed = header_text({"command": "gr-bench study x", "wall_s": 18000, "runs_cpu_s": 2010.2, "retried_trials": 2})
    assert "5 h 0 min wall, first trial start to last trial end, across a stop and resume (2 trials retried)" in resumed
    # runs taken from earlier sittings (--reuse) ran outside this wall time: say how many, read as CSV gives them
    runs = pd.DataFrame({"status": ["ok", "ok", "ok", "failed"], "reused": ["True", "", "True", "True"]})
    reused = header_text({"command": "gr-bench study x", "wall_s": 4563.6}, runs)
    assert reused.endswith("1 h 16 min wall, first trial start to last trial end, the last sitting's only: 2 of "
                           "its 3 runs were reused from earlier ones (--reuse or the run cache), whose wall time is "
                           "not in it\n")
    fresh = runs.assign(reused=[False, "", float("nan"), True])  # only a failed run was reused
    assert "reused" not in header_text({"command": "x", "wall_s": 60}, fresh)


def test_shipped_rows_keep_a_dataset_folder_by_its_name_only():
    text = "label,dataset_source,schedule\na,\"mnist (verified, sha256 ab): /root/.cache/gr-bench/mnist\",linear:1000\n"
    assert shipped.portable_csv(text) == \
        "label,dataset_source,schedule\na,\"mnist (verified, sha256 ab): mnist\",linear:1000\n"
    assert shipped.portable_text("https://example.org/a/b") == "https://example.org/a/b"


def test_the_fast_tier_table_reads_the_newest_commits_runs(tmp_path):
    """docs/performance.md's fast-tier sentence comes from fast-tier.csv's rows of its newest commit:
    the range, the median, how many were under the 5-minute target, failures, other processes' CPU."""
    import csv

    from scripts.time_test_tier import FIELDS

    path = tmp_path / "fast-tier.csv"
    assert docs.tier_text(path).startswith("No fast-tier timing is shipped")
    rows = [("old1", 1, 900.0, 0, 1), ("abc1234", 1, 200.0, 0, 0), ("abc1234", 2, 310.0, 5.5, 0),
            ("abc1234", 3, 250.0, 1.0, 0)]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for commit, run, wall, other, failed in rows:
            w.writerow({"commit": commit, "started_utc": "2026-12-03T16:00:00+00:00", "run": run,
                        "hypothesis_seed": 7, "wall_s": wall, "cpu_s": wall * 1.5, "other_cpu_s": other,
                        "passed": 660, "failed": failed, "skipped": 3, "exit_code": int(failed > 0), "cores": 2,
                        "cpu_model": "AMD EPYC"})
    text = docs.tier_text(path)
    assert "--runs 3` at commit abc1234, 2 cores (AMD EPYC), 2026-12-03" in text
    assert "Wall time 200 to 310 s (median 250 s); 2 of 3 under the 5-minute target; 0 failures" in text
    assert "Other processes used 0 to 6 CPU s" in text
    assert text.count("\n| ") == 4  # the header and the newest commit's three runs
    assert "\n| 2 | 7 | 310.0 | 465.0 | 5.5 | 660 | 0 | 0 |" in text  # integers as integers


def test_the_quick_table_judges_each_first_look_against_its_datasets_target(tmp_path):
    """docs/performance.md's --quick times: the newest commit's rows, a look under its dataset's target
    (3 minutes on digits, 10 on MNIST) only when it also exited 0."""
    import csv

    from scripts.time_quick import FIELDS

    path = tmp_path / "quick.csv"
    assert docs.quick_text(path).startswith("No --quick timing is shipped")
    rows = [("old1", "lr", "digits", 10.0, 0), ("abc1234", "lr", "digits", 170.0, 0),
            ("abc1234", "memory", "digits", 100.0, 1), ("abc1234", "lr", "mnist", 590.0, 0),
            ("abc1234", "precision", "mnist", 601.0, 0)]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for commit, study, dataset, wall, code in rows:
            w.writerow({"commit": commit, "started_utc": "2026-12-06T05:00:00+00:00", "study": study,
                        "dataset": dataset, "runs": 4, "wall_s": wall, "cpu_s": wall, "other_cpu_s": 2.0,
                        "exit_code": code, "workers": 2, "cores": 2, "cpu_model": "Intel Xeon"})
    text = docs.quick_text(path)
    assert "at commit abc1234, 2 cores (Intel Xeon), 2026-12-06" in text
    assert "2 of 4 finished under their target (3 min on digits, 10 min on mnist)" in text
    assert "the slowest took 601 s (precision)" in text
    assert text.count("\n| ") == 5  # the header and the newest commit's four looks


def test_the_reference_cost_table_splits_by_cpu_and_sets_van_de_vens_code_beside(tmp_path):
    """docs/performance.md's cost table: one column per shipped reference folder and CPU model, mean
    cpu_s of successful runs only, and van de Ven's own code (scripts/time_van_de_ven.py's rows, a
    failed run left out) in a column of its own with its commit and accuracy."""
    import pandas as pd

    from gr_bench.report.shipped import SHIPPED
    from scripts.time_van_de_ven import FIELDS

    folder = tmp_path / "reference-domain"
    folder.mkdir()
    for name in SHIPPED:  # what makes a folder shipped; only runs.csv is read
        (folder / name).write_text("{}")
    run = {"scenario": "domain", "threads": 1}
    pd.DataFrame([{**run, "label": "dgr", "status": "ok", "cpu_s": 300.0, "cpu_model": "AMD EPYC"},
                  {**run, "label": "dgr", "status": "ok", "cpu_s": 320.0, "cpu_model": "AMD EPYC"},
                  {**run, "label": "dgr", "status": "failed", "cpu_s": 9.0, "cpu_model": "AMD EPYC"},
                  {**run, "label": "dgr", "status": "ok", "cpu_s": 350.0, "cpu_model": "Intel(R) Xeon(R) Processor"}]
                 ).to_csv(folder / "runs.csv", index=False)
    theirs = tmp_path / "van-de-ven-cost"
    theirs.mkdir()
    row = dict.fromkeys(FIELDS, "") | {"repo_commit": "e6d795aa81b9", "label": "dgr", "cpu_s": 376.0,
                                       "wall_s": 100.0, "other_cpu_s": 50.0, "final_avg_acc": 0.889,
                                       "exit_code": 0, "cpu_model": "AMD EPYC"}
    pd.DataFrame([row, {**row, "cpu_s": 5.0, "exit_code": 1}]).to_csv(theirs / "runs.csv", index=False)
    text = docs.reference_cost_text(tmp_path)
    assert ("| configuration | domain-IL, AMD EPYC (results/reference-domain) | domain-IL, Intel Xeon "
            "(results/reference-domain) | their code, class-IL, AMD EPYC (results/van-de-ven-cost) |") in text
    assert "| dgr | 310 (n 2) | 350 (n 1) | 376 (n 1) |" in text
    assert "GMvandeVen/continual-learning at e6d795a" in text and "dgr 88.9%" in text
    assert "other processes used 0.5 cores on average" in text


def test_timing_van_de_vens_code_refuses_a_folder_that_is_not_their_checkout(tmp_path, capsys):
    from scripts.time_van_de_ven import main

    assert main(["--repo", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a git checkout of GMvandeVen/continual-learning" in err


def test_the_precision_table_gives_each_settings_newest_pair_and_its_ratio(tmp_path):
    import csv

    from benchmarks.precision_runs import FIELDS

    path = tmp_path / "runs.csv"
    assert precision_answer.whole_run_text(path).startswith("No whole-run precision timing is shipped")
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        pairs = [("old", "report", "fp32", 500), ("old", "report", "bf16", 100), ("abc", "report", "fp32", 200),
                 ("abc", "report", "bf16", 160), ("abc", "dgr-distill", "fp32", 400),
                 ("abc", "dgr-distill", "bf16", 200)]
        for commit, setting, precision, cpu in pairs:
            w.writerow({"commit": commit, "started_utc": "2026-12-03T17:00:00+00:00", "setting": setting, "seed": 0,
                        "precision": precision, "core": int(precision == "bf16"), "cpu_s": cpu, "time_total_s": cpu,
                        "time_generator_s": cpu / 2, "time_classifier_s": cpu / 4, "final_avg_acc": 0.9,
                        "cpu_model": "AMD EPYC"})
    text = precision_answer.whole_run_text(path)
    assert "| report | abc | 2026-12-03 | 200 | 160 | 1.25x | not met | 100 / 80 | 90.0 / 90.0 |" in text
    assert "| dgr-distill | abc | 2026-12-03 | 400 | 200 | 2.00x | met |" in text


def test_the_main_jobs_line_names_the_precision_of_each_stage():
    import pandas as pd

    same = pd.DataFrame({"stage": ["search", "search", "final"], "precision": ["fp32"] * 3})
    assert findings.precision_of_runs(same) == "searched and run at fp32"
    mixed = pd.DataFrame({"stage": ["search", "final", "final"], "precision": ["bf16", "fp32", "fp32"]})
    assert findings.precision_of_runs(mixed) == "search stage at bf16, final stage at fp32"
    assert findings.precision_of_runs(pd.DataFrame({"stage": ["final"]})) == "precision not recorded"


def test_the_precision_answer_reads_the_study_verdicts_and_keeps_bf16_opt_in_unless_all_are_equivalent(tmp_path):
    import pandas as pd

    runs = pd.DataFrame({"label": ["a fp32", "a bf16", "b fp32", "b bf16"] * 3, "status": "ok",
                         "seed": [s for s in range(3) for _ in range(4)], "cpu_s": [200.0, 100.0, 60.0, 50.0] * 3})
    common = {"metric": "final_avg_acc", "n_a": 3, "ci_level": 0.975, "margin_points": 1.0, "family_size": 2,
              "alpha": 0.05}
    rows = pd.DataFrame([
        {**common, "a": "a bf16", "b": "a fp32", "mean_a": 0.90, "mean_b": 0.901, "diff_points": -0.1,
         "ci_low_points": -0.3, "ci_high_points": 0.1, "tost_p_holm": 0.001,
         "verdict": "equivalent within ±1 point", "sd_diff_points": 0.1},  # as stats.csv words it
        {**common, "a": "b bf16", "b": "b fp32", "mean_a": 0.50, "mean_b": 0.52, "diff_points": -2.0,
         "ci_low_points": -9.0, "ci_high_points": 5.0, "tost_p_holm": 0.6, "verdict": "underpowered",
         "sd_diff_points": 3.0},
        {**common, "a": "b fp32", "b": "a fp32", "metric": "cpu_s"}])  # other metrics are not read
    table = precision_answer.setting_table(runs, rows)
    assert table["setting"].tolist() == ["a", "b"]
    assert table["verdict_text"].tolist() == ["equivalent within ±1 point", "underpowered"]
    assert table["cpu_fp32"].tolist() == [200.0, 60.0] and table["fp32"].tolist() == pytest.approx([90.1, 52.0])
    # the seeds a TOST needs come from the observed sd, at Holm's strictest step
    assert table["tost_seeds"].iloc[1] == stats.tost_seeds_needed(0.03, 0.01, family=2)
    text = precision_answer.decision(table, tmp_path / "none.csv")
    assert text.startswith("Shown equivalent: a. Not shown equivalent: b (underpowered; a TOST there needs about")
    assert "stays opt-in" in text
    table["verdict"] = "equivalent"
    assert "stays opt-in" not in precision_answer.decision(table, tmp_path / "none.csv")
    # seeds run on two CPU models: bf16's gain is stated per model, never as one mean over both
    assert precision_answer.cpu_text(runs, "a", ratio=True) == "2.00x"
    runs["cpu_model"] = ["EPYC"] * 4 + ["Xeon"] * 8
    runs.loc[runs["cpu_model"] == "Xeon", "cpu_s"] = [150.0, 100.0, 60.0, 50.0] * 2
    assert precision_answer.cpu_text(runs, "a", ratio=True) == "2.00x (EPYC, seeds 0); 1.50x (Xeon, seeds 1-2)"
    assert precision_answer.cpu_text(runs, "b", ratio=False) == "60 / 50 (EPYC, seeds 0); 60 / 50 (Xeon, seeds 1-2)"
    # the main job's wall against its target, with what the best measured ratio would leave of it
    import csv

    from benchmarks.precision_runs import FIELDS

    whole = tmp_path / "runs.csv"
    with whole.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for setting, precision, cpu in (("a", "fp32", 300.0), ("a", "bf16", 240.0), ("b", "fp32", 400.0),
                                        ("b", "bf16", 200.0)):
            w.writerow({"commit": "abc", "started_utc": "2026-12-03", "setting": setting, "seed": 0,
                        "precision": precision, "core": 0, "cpu_s": cpu, "time_total_s": cpu,
                        "time_generator_s": cpu, "time_classifier_s": 0, "final_avg_acc": 0.5, "cpu_model": "x"})
    main = tmp_path / "replay_schedule"
    main.mkdir()
    (main / "manifest.json").write_text('{"wall_s": 3600}')
    # the main job runs setting a's models and batches (its epochs and lr searched): a's ratio applies, not b's
    pd.DataFrame({"precision": "fp32", "status": "ok", "generator": "vae", "hidden": "50,50,50", "latent": [2, 2],
                  "batch_size": [64, 64], "iters": float("nan"), "epochs": [2, 10], "lr": [1e-3, 4e-4]}
                 ).to_csv(main / "runs.csv", index=False)
    study_runs = pd.DataFrame({"label": ["a fp32", "a bf16", "b fp32", "b bf16"], "status": "ok", "generator": "vae",
                               "hidden": ["50,50,50", "50,50,50", "400,400", "400,400"], "latent": [2.0, 2.0, 100, 100],
                               "batch_size": [64, 64, 128, 128], "iters": [float("nan")] * 2 + [2000.0] * 2,
                               "cpu_s": [200.0, 100.0, 60.0, 50.0]})
    assert precision_answer.main_job_setting(pd.read_csv(main / "runs.csv"), study_runs) == "a"
    text = precision_answer.decision(table, whole, main, study_runs)
    assert "Whole runs save 1.25x (a), 2.00x (b) of CPU at bf16, against the 1.8x target." in text
    assert ("The main job took 1 h 0 min wall at fp32 (results/replay_schedule), in the a setting (its models and "
            "batches); at that setting's whole-run ratio (1.25x; the precision study's runs of it: 2.00x) it would "
            "take about 48 min 0 s (a projection, not a run)") in text
    # a main job whose models match no setting gets no projection from another setting's ratio
    other = study_runs.assign(hidden="400,400")
    assert "no setting of the precision study has its models and batches, so no bf16 time is projected" in \
        precision_answer.decision(table, whole, main, other)


def test_a_grid_compared_within_groups_names_each_comparisons_own_anchor():
    from types import SimpleNamespace

    import pandas as pd

    runs = pd.DataFrame({"label": ["a fp32", "a bf16", "b fp32", "b bf16"], "status": "ok", "seed": 0,
                         "final_avg_acc": [0.5, 0.5, 0.9, 0.9]})
    row = {"metric": "final_avg_acc", "diff": 0.001, "ci_low": -0.002, "ci_high": 0.004, "ci_level": 0.975,
           "p_value": 0.5, "p_holm": 0.5, "family_size": 2, "verdict": "equivalent", "margin": 0.01}
    rows = [{**row, "a": "a bf16", "b": "a fp32", "mean_a": 0.501, "mean_b": 0.5},
            {**row, "a": "b bf16", "b": "b fp32", "mean_a": 0.901, "mean_b": 0.9}]
    out = SimpleNamespace(runs=runs, analysis=SimpleNamespace(rows=rows),
                          spec=SimpleNamespace(objective="final_avg_acc"))
    lines = findings.grid_findings(out, {"study_name": "precision", "command": "gr-bench study precision"})
    assert lines[0].endswith("1 seed):")  # no single anchor in the head
    assert lines[2] == ("  - b bf16 (90.1%) against b fp32 (90.0%): +0.1 points (97.5% CI [-0.2, +0.4]; "
                        "p_holm 0.5): equivalent within ±1 point.")


def test_the_bench_section_gives_every_phase_at_each_precision_from_the_shipped_json(tmp_path):
    from tools.bench_text import bench_text

    assert bench_text(tmp_path / "none.json").startswith("No `gr-bench bench --json` output is shipped")
    shipped = ROOT / "results" / "bench" / "bench.json"
    out, text = json.loads(shipped.read_text()), bench_text(shipped)
    for precision, fig in out["by_precision"].items():
        for phase, f in fig["phases"].items():
            assert f"| {precision} | {phase} | {f['seconds']:.1f} |" in text
    assert out["provenance"]["command"] in text and f"speed-up {out['workers_speedup']:.2f}x" in text


def test_the_reference_findings_show_each_interval_at_its_verdicts_level():
    from types import SimpleNamespace

    import pandas as pd

    from gr_bench.report.published import published_table

    pub = {"dgr": {"mean": 90.79, "sem": 0.41, "n": 20, "source": "paper"}}
    runs = pd.DataFrame([{"label": "dgr", "status": "ok", "seed": s, "final_avg_acc": v / 100}
                         for s, v in enumerate([89.0, 89.1, 89.0])])
    table = published_table(runs, pub)
    out = SimpleNamespace(runs=runs, published=table)
    lines = findings.published_findings(out, {"study_name": "reference", "command": "gr-bench study reference"})
    row = table.iloc[0]
    assert "| difference [CI] | CI level | verdict |" in lines[2]
    assert lines[4] == (f"  | dgr | 3 | 89.0 | 90.79 ± 0.41 | -1.8 [{row['diff_low']:+.1f}, {row['diff_high']:+.1f}] | "
                        "95% | lower than published (within reach of ±1.5) |")


def _old_name(text: str) -> str | None:
    """The first name labels.RENAMED retired that `text` still uses, whole or inside a derived label."""
    import re

    from gr_bench.labels import RENAMED

    return next((old for old in RENAMED if re.search(r"(?<![\w-])" + re.escape(old) + r"(?!\w)", text)), None)


def test_every_shipped_file_names_each_configuration_alike():
    """runs.csv, trials.csv, stats.csv and manifest.json of every shipped folder name a configuration
    one way: today's (no name labels.RENAMED retired), and every name stats.csv or the manifest uses
    is a label of runs.csv."""
    import pandas as pd

    from gr_bench.labels import PAIR

    for folder in docs.shipped_folders(ROOT / "results"):
        for name in ("runs.csv", "trials.csv", "stats.csv", "manifest.json", "report.md", "published.csv"):
            if (folder / name).is_file():
                assert _old_name((folder / name).read_text()) is None, (folder.name, name)
        runs = pd.read_csv(folder / "runs.csv", low_memory=False)
        labels = set(runs["label"].dropna().astype(str))
        trials = pd.read_csv(folder / "trials.csv", low_memory=False)
        assert labels <= set(trials["label"].dropna().astype(str)), folder.name
        stats_rows = pd.read_csv(folder / "stats.csv")
        assert set(stats_rows["a"]) | set(stats_rows["b"]) <= labels, folder.name
        manifest = json.loads((folder / "manifest.json").read_text())
        named = {e[k] for e in manifest.get("attribution") or [] for k in ("a", "b", "best", "reference", "control")
                 if e.get(k)} | set(manifest.get("final_configs") or {})
        for look in (manifest.get("sequential") or {}).get("history", []):
            # a declared family's comparison is keyed "<family>: a vs b"
            named |= {side for pair in [*look.get("verdicts", {}), *look.get("undecided", [])]
                      for side in pair.split(": ", 1)[-1].split(PAIR)}
            named |= set(look.get("open", []))
        assert named <= labels, (folder.name, named - labels)


def test_results_readme_states_each_renamed_configuration():
    from gr_bench.labels import RENAMED

    text = (ROOT / "results" / "README.md").read_text()
    for old, new in RENAMED.items():
        assert f"`{old}` → `{new}`" in text


def test_the_provenance_line_names_the_rows_code_and_a_clean_export_only():
    from gr_bench.provenance import code_text

    dirty = code_text(["0441709dfa15"] * 3, "b4a8defa9be660d7e5941d1ae35aa18fe67868e9+dirty")
    assert dirty == "Code of the runs: 0441709dfa15"  # a dirty tree's commit is no code to check out
    clean = code_text(["0441709dfa15"], "b4a8defa9be660d7e5941d1ae35aa18fe67868e9")
    assert clean == "Code of the runs: 0441709dfa15; exported at commit b4a8defa9be6"
    assert code_text(["0.1.0+src.abc", "0441709dfa15", ""], "") == \
        "Code of the runs: 0.1.0+src.abc, 0441709dfa15 (2 code versions)"
    assert code_text([], "") == "Code of the runs: unknown"
    # every shipped manifest's own line: the runs' code versions, never a '+dirty' commit
    for folder in docs.shipped_folders(ROOT / "results"):
        manifest = json.loads((folder / "manifest.json").read_text())
        line = code_text(manifest.get("code_versions") or [], manifest.get("git_sha", ""))
        assert "+dirty" not in line and all(v in line for v in manifest["code_versions"]), folder.name


def test_a_search_studys_seeds_are_counted_per_stage():
    """The search draws its own seed(s): a 5-seed final stage is '5 seeds', never the union's 6."""
    import pandas as pd

    runs = pd.DataFrame({"stage": ["search"] * 4 + ["final"] * 10,
                         "seed": [0] * 4 + [1000, 1001, 1002, 1003, 1004] * 2})
    assert findings.seeds_text(runs) == "5 seeds in the final stage (1 in the search)"
    assert findings.seeds_text(runs[runs["stage"] == "final"]) == "5 seeds"
    assert findings.seeds_text(pd.DataFrame({"stage": "grid", "seed": [0, 1, 2]})) == "3 seeds"
    assert findings.seeds_text(pd.DataFrame({"seed": [0]})) == "1 seed"
    assert findings.seeds_text(pd.DataFrame()) == "0 seeds"


def test_a_study_shipped_under_another_folder_name_reruns_into_that_folder():
    m = {"study_name": "memory-domain", "command": "gr-bench study memory --scenario domain --workers 2"}
    named = shipped.named_for(m, "memory-mnist-domain")
    assert named["command"] == "gr-bench study memory --scenario domain --workers 2 --study-name memory-mnist-domain"
    assert named["command_as_run"] == m["command"] and "command_as_run" not in m  # the input is left alone
    assert shipped.named_for(m, "memory-domain") == m  # the names agree
    given = dict(m, command=m["command"] + " --study-name=x")
    assert shipped.named_for(given, "memory-mnist-domain") == given  # the run named its own folder
    assert "(run as `gr-bench study memory --scenario domain --workers 2`, shipped under this folder's name)" \
        in header_text(named)
