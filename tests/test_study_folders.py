"""A study run as its shipped manifest says writes into the folder it is shipped in: the default
folder names the dataset and the scenario only when they are not the study's own
(study.default_study_name), and `--dry-run` prints that folder."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from gr_bench.cli import main
from gr_bench.orchestration import Setup, default_study_name, get_spec
from tools import docs

ROOT = Path(__file__).resolve().parents[1]


def _name(study: str, **fields) -> str:
    return default_study_name(get_spec(study, fields.get("quick", False)),
                              Setup(study=study, study_name="", storage_url="", results_dir="", **fields))


def test_the_dataset_and_scenario_are_named_only_when_not_the_studys_own():
    assert _name("memory") == "memory"
    assert _name("memory", dataset="fashion-mnist") == "memory-fashion-mnist"
    assert _name("memory", dataset="mnist") == _name("memory", dataset="auto") == "memory"  # auto stands for mnist
    assert _name("memory", sets=("dataset=fashion-mnist",)) == "memory-fashion-mnist"  # --set counts as --dataset
    assert _name("precision", dataset="mnist") == "precision"  # its own dataset, named in its base
    assert _name("baselines", dataset="digits", quick=True) == "baselines-digits-quick"
    assert _name("baselines", scenario="task", quick=True) == "baselines-task-quick"
    assert _name("baselines", scenario="class") == "baselines"
    assert _name("replay_schedule", dataset="digits", scenario="domain", quick=True, prune=False) \
        == "replay_schedule-digits-domain-quick-full"


def _shipped() -> list[Path]:
    return [f for f in docs.shipped_folders(ROOT / "results")
            if json.loads((f / "manifest.json").read_text()).get("command", "").startswith("gr-bench study ")]


def test_results_ships_studies():
    assert {f.name for f in _shipped()} >= {"replay_schedule", "memory", "memory-fashion-mnist"}


@pytest.mark.parametrize("folder", _shipped(), ids=lambda f: f.name)
def test_a_shipped_manifests_command_writes_into_its_folder(folder, tmp_path, capsys):
    command = json.loads((folder / "manifest.json").read_text())["command"]
    code = main([*shlex.split(command)[1:], "--dry-run", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"folder: {tmp_path / folder.name}\n" in out, (command, out)
    assert not any(tmp_path.iterdir())  # a dry run makes nothing
