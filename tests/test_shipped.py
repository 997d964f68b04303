"""A study shipped as files: its report rebuilt from them alone, and its runs reused by a re-run."""

from __future__ import annotations

import os
import subprocess

import pandas as pd
import pytest

from tests.conftest import GR

pytestmark = pytest.mark.slow


def _gr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GR, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def test_a_shipped_study_reports_alone_and_its_runs_are_reused(study_copy, tmp_path):
    shipped = tmp_path / "results" / "baselines-digits-quick"
    p = _gr("export", str(study_copy), "--ship", str(shipped))
    assert p.returncode == 0, p.stderr
    assert not (shipped / "study.db").exists() and (shipped / "records.jsonl.gz").is_file()
    first = (shipped / "report.md").read_text()
    for name in ("stats.csv", "report.md"):  # the same analysis whether read from storage or from files
        assert (shipped / name).read_text().split("## Configurations")[-1] == \
            (study_copy / name).read_text().split("## Configurations")[-1]
    p = _gr("report", str(shipped))
    assert p.returncode == 0, p.stderr
    assert (shipped / "report.md").read_text() == first
    assert (shipped / "plots" / "accuracy-vs-tasks.png").stat().st_size > 0
    # a re-run with the shipped runs: every one is reused, none trained
    p = _gr("study", "baselines", "--quick", "--seeds", "7", "--dataset", "digits", "--workers", "2",
            "--results", str(tmp_path / "again"), "--set", "vae_hidden=32,16", "--set", "epochs=2",
            "--set", "vae_epochs=2", "--reuse", str(shipped))
    assert p.returncode == 0, p.stderr
    assert "of them by this code" in p.stdout
    runs = pd.read_csv(tmp_path / "again" / "baselines-digits-quick" / "runs.csv")
    assert len(runs) and runs["reused"].astype(bool).all()
    before = pd.read_csv(shipped / "runs.csv").sort_values(["label", "seed"])["final_avg_acc"].to_numpy()
    assert (runs.sort_values(["label", "seed"])["final_avg_acc"].to_numpy() == before).all()


def test_reuse_of_a_folder_without_records_is_one_line_exit_2(tmp_path):
    p = _gr("study", "baselines", "--quick", "--dataset", "digits", "--reuse", str(tmp_path))
    assert p.returncode == 2 and "no records.jsonl.gz there" in p.stderr and len(p.stderr.strip().splitlines()) == 1
