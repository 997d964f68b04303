"""Outputs follow the user's umask like any other file: 0644 / 0755 under umask 022, 0600 / 0700 under
077 (temporary names are renamed into place, so they must not keep tempfile's private modes)."""

import os
import stat
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from gr_bench import files
from gr_bench.cli import main
from gr_bench.report import plots

FAST = ["--dataset", "digits", "--preset", "quick", "--set", "vae_hidden=32,16", "--schedule", "constant:100", "--quiet"]
UMASKS = [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]


@pytest.fixture(params=UMASKS, ids=["umask022", "umask077"])
def umask(request):
    mask, file_mode, dir_mode = request.param
    old = os.umask(mask)
    try:
        yield file_mode, dir_mode
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_follow_the_umask(tmp_path, umask):
    file_mode, dir_mode = umask
    files.atomic_write_text(tmp_path / "sub" / "report.md", "# x\n")
    files.write_csv(tmp_path / "runs.csv", [{"a": 1}])
    files.write_json(tmp_path / "manifest.json", {"a": 1})
    files.write_csv(tmp_path / "runs.csv", [{"a": 2}])  # rewriting keeps the ordinary mode
    for name in ("sub/report.md", "runs.csv", "manifest.json"):
        assert _mode(tmp_path / name) == file_mode, name
    assert _mode(tmp_path / "sub") == dir_mode
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind
    folder = files.temp_dir(tmp_path, ".tmp-")
    assert folder.is_dir() and folder.name.startswith(".tmp-") and _mode(folder) == dir_mode
    assert files.writable_dir(tmp_path / "results" / "study") == tmp_path / "results" / "study"
    assert _mode(tmp_path / "results" / "study") == dir_mode


def test_temp_file_is_new_and_writable(tmp_path, umask):
    file_mode, _ = umask
    fd, name = files.temp_file(tmp_path, ".x.")
    with os.fdopen(fd, "w") as f:
        f.write("ok")
    assert Path(name).read_text() == "ok" and _mode(Path(name)) == file_mode
    assert files.temp_file(tmp_path, ".x.")[1] != name


def test_saved_figures_follow_the_umask(tmp_path, umask):
    file_mode, dir_mode = umask
    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    for path in plots.save(fig, tmp_path / "plots", "line"):
        assert _mode(path) == file_mode, path
    assert _mode(tmp_path / "plots") == dir_mode


def test_run_folder_files_follow_the_umask(tmp_path, umask):
    file_mode, _ = umask
    assert main(["run", "--strategy", "none", *FAST, "--results", str(tmp_path)]) == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("run-")]
    for name in ("summary.csv", "accuracy.csv", "manifest.json"):
        assert _mode(folder / name) == file_mode, name


def test_run_folder_follows_the_umask(tmp_path, umask):
    _, dir_mode = umask
    assert main(["run", "--strategy", "none", *FAST, "--results", str(tmp_path)]) == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("run-")]
    assert _mode(folder) == dir_mode


@pytest.mark.slow  # a study export and a report per umask: tens of seconds
def test_study_exports_and_report_follow_the_umask(study_copy, umask):
    file_mode, dir_mode = umask
    assert main(["export", str(study_copy)]) == 0
    for name in ("trials.csv", "runs.csv", "accuracy.csv", "manifest.json", "stats.csv", "report.md"):
        assert _mode(study_copy / name) == file_mode, name
    pngs = list((study_copy / "plots").glob("*.png"))
    assert pngs and all(_mode(p) == file_mode for p in pngs)
