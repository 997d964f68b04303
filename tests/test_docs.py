"""The findings a reader sees are generated from the shipped rows in results/, and checked here."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from gr_bench.report import docs, shipped
from gr_bench.report.build import duration_text, header_text

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATHS = ("/work/", "/root/", "/home/", "/tmp/", "sqlite:///", "/Users/")


def test_the_committed_docs_and_reports_match_the_shipped_rows():
    """README's findings, docs/results.md, docs/memory.md and every shipped report.md / stats.csv are
    what `python -m gr_bench.report.docs` makes from results/ today."""
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


def test_shipped_rows_keep_a_dataset_folder_by_its_name_only():
    text = "label,dataset_source,schedule\na,\"mnist (verified, sha256 ab): /root/.cache/gr-bench/mnist\",linear:1000\n"
    assert shipped.portable_csv(text) == \
        "label,dataset_source,schedule\na,\"mnist (verified, sha256 ab): mnist\",linear:1000\n"
    assert shipped.portable_text("https://example.org/a/b") == "https://example.org/a/b"
