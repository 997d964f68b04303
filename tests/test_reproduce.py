"""gr-bench reproduce: a shipped study's runs trained again and judged against the shipped ones
(identical, within, differs), on a real quick study shipped into a temporary folder."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from gr_bench.cli import main
from gr_bench.report import shipped

from conftest import GR


@pytest.fixture(scope="module")
def shipped_study(baselines_study: Path, tmp_path_factory) -> Path:
    """The quick study's rows, manifest and records as `gr-bench export --ship` ships them."""
    dest = tmp_path_factory.mktemp("shipped") / "results" / baselines_study.name
    shipped.ship(baselines_study, dest)
    return dest


@pytest.fixture
def folder(shipped_study: Path, tmp_path: Path) -> Path:
    """A private copy of the shipped folder, for tests that edit it or leave a run cache beside it."""
    return Path(shutil.copytree(shipped_study, tmp_path / "results" / shipped_study.name))


def _reproduce(capsys, *args: str) -> tuple[int, list[str], str]:
    code = main(["reproduce", *args])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def test_a_rerun_at_the_same_code_is_identical(shipped_study, capsys):
    code, lines, err = _reproduce(capsys, str(shipped_study), "--label", "generative", "--label", "joint",
                                  "--seeds", "2")
    assert code == 0, err
    assert lines[0].startswith(f"re-running 4 run(s) of {shipped_study.name} from {shipped_study}: shipped by code ")
    assert lines[0].endswith("; nothing taken from the run cache")
    runs = pd.read_csv(shipped_study / "runs.csv").set_index(["label", "seed"])
    for line, (label, seed) in zip(lines[1:5], [("generative", 0), ("generative", 1), ("joint", 0), ("joint", 1)]):
        value = 100 * runs.loc[(label, seed), "final_avg_acc"]
        assert line == f"{label} seed {seed}: identical: {value:.2f}%, every measured value equal"  # same code, machine
    assert lines[5:] == ["4 runs re-run: 4 identical, 0 within, 0 differ"]


def test_by_default_every_compared_configuration_reruns_its_first_seed(shipped_study, capsys):
    code, lines, _ = _reproduce(capsys, str(shipped_study))
    assert code == 0
    assert [line.split(":")[0] for line in lines[1:-1]] == [f"{label} seed 0" for label in
                                                            ("generative", "buffer-equal-bytes", "none", "joint")]
    assert lines[-1] == "4 runs re-run: 4 identical, 0 within, 0 differ"


def test_a_folder_without_records_rebuilds_each_config_from_runs_csv(folder, capsys):
    (folder / shipped.RECORDS).unlink()
    code, lines, _ = _reproduce(capsys, str(folder), "--label", "buffer-equal-bytes")
    assert code == 0 and "identical" in lines[1] and lines[-1].endswith("1 identical, 0 within, 0 differ")


def _edit_record(folder: Path, label: str, seed: int, edit) -> None:
    runs = pd.read_csv(folder / "runs.csv")
    run_id = runs[(runs["label"] == label) & (runs["seed"] == seed)]["run_id"].item()
    path = folder / shipped.RECORDS
    records = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    from gr_bench.config import config_from_flat

    for r in records:
        if config_from_flat(r["config"]).run_id() == run_id:
            edit(r)
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))


def _nudge(record: dict) -> None:
    record["accuracy"][-1][0] += 1e-6  # one entry of R, a millionth off


def test_same_code_and_machine_must_be_identical(folder, capsys):
    _edit_record(folder, "generative", 0, _nudge)
    code, lines, err = _reproduce(capsys, str(folder), "--label", "generative")
    assert code == 1 and err == "gr-bench: 1 of 1 re-run runs differ from the shipped ones\n"
    assert lines[1].startswith("generative seed 0: differs: ")
    assert lines[1].endswith("; same code and machine, so it should have been identical")


def test_other_code_is_within_the_shipped_seeds_range_or_differs(folder, capsys):
    def other_code(record: dict) -> None:
        _nudge(record)
        record["provenance"]["cache_code_version"] = "src.000000000000+torch.0"

    _edit_record(folder, "generative", 0, other_code)
    code, lines, _ = _reproduce(capsys, str(folder), "--label", "generative")
    runs = pd.read_csv(folder / "runs.csv")
    mine = 100 * runs[runs["label"] == "generative"].set_index("seed")["final_avg_acc"]
    assert code == 0
    assert lines[1] == (f"generative seed 0: within: {mine[0]:.2f}% against {mine[0]:.2f}% shipped (+0.00 points), "
                        f"inside the {len(mine)} shipped seeds' {mine.min():.2f}% to {mine.max():.2f}% (other code)")
    # shipped seeds all far above it: outside their range
    runs.loc[runs["label"] == "generative", "final_avg_acc"] = 0.99
    runs.to_csv(folder / "runs.csv", index=False)
    code, lines, _ = _reproduce(capsys, str(folder), "--label", "generative")
    assert code == 1
    assert lines[1] == (f"generative seed 0: differs: {mine[0]:.2f}% against 99.00% shipped "
                        f"({mine[0] - 99:+.2f} points), outside the {len(mine)} shipped seeds' 99.00% to 99.00% "
                        "(other code)")


def test_the_run_cache_is_used_only_when_asked(folder, capsys):
    cache = folder.parent / "run_cache.db"
    code, lines, _ = _reproduce(capsys, str(folder), "--label", "none", "--reuse-cache")
    assert code == 0 and cache.is_file() and "reused" not in lines[1]  # trained, and kept there
    code, lines, _ = _reproduce(capsys, str(folder), "--label", "none", "--reuse-cache")
    assert code == 0 and lines[1].endswith("(reused from the run cache)")
    code, lines, _ = _reproduce(capsys, str(folder), "--label", "none")
    assert code == 0 and "reused" not in lines[1] and "identical" in lines[1]  # not asked: trained again


@pytest.mark.parametrize("args, message", [
    (["{tmp}/nosuch"], "no such folder: {tmp}/nosuch"),
    (["{tmp}"], "{tmp} has no manifest.json: not a shipped study (gr-bench export STUDY --ship DIR writes one)"),
    (["{shipped}", "--label", "generativ"],
     "no configuration labelled 'generativ' in {shipped}/runs.csv (did you mean 'generative'?)"),
    (["{shipped}", "--label", "joint", "--seeds", "99"], "--seeds 99: 'joint' ships 7 seed(s)"),
])
def test_bad_input_is_one_line_exit_2(args, message, shipped_study, tmp_path, capsys):
    fill = {"tmp": str(tmp_path), "shipped": str(shipped_study)}
    code, lines, err = _reproduce(capsys, *[a.format(**fill) for a in args])
    assert code == 2 and err == f"gr-bench: error: {message.format(**fill)}\n" and lines == []


@pytest.mark.slow  # the report is rebuilt twice by export --ship: tens of seconds
def test_export_ship_then_reproduce_as_typed(study_copy, tmp_path):
    dest = tmp_path / "results" / study_copy.name
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run([GR, "export", str(study_copy), "--ship", str(dest)], capture_output=True, text=True,
                       timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([GR, "reproduce", str(dest), "--label", "generative", "--seeds", "2"], capture_output=True,
                       text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count(": identical: ") == 2
    assert p.stdout.endswith("2 runs re-run: 2 identical, 0 within, 0 differ\n")
