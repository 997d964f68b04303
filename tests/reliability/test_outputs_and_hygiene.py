"""Atomic outputs, no code loaded from files, paths kept inside the results folder."""

import ast
import os
from pathlib import Path

import pytest

from gr_bench.files import atomic_write_text, write_csv
from gr_bench.storage import StorageError, check_study_name, redact

PACKAGE = Path(__file__).resolve().parents[2] / "gr_bench"


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "runs.csv"
    write_csv(target, [{"a": 1}])
    before = target.read_bytes()

    def boom(fd):
        raise KeyboardInterrupt  # a kill arriving in the middle of the write

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "half a file")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # no temporary left behind


def test_nothing_is_loaded_by_executing_code():
    """No pickle, no torch.load without weights_only, no eval/exec anywhere in the package."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                owner = getattr(f.value, "id", "") if isinstance(f, ast.Attribute) else ""
                assert not (isinstance(f, ast.Name) and name in ("eval", "exec")), f"{path}: {name}"
                assert not (owner == "pickle" and name == "load"), f"{path}: pickle.load"
                if owner == "pickle" and name == "loads":  # only an in-memory copy: loads(dumps(obj))
                    arg = node.args[0]
                    assert isinstance(arg, ast.Call) and getattr(arg.func, "attr", "") == "dumps", path
                if owner == "torch" and name == "load":
                    kws = {k.arg: k.value for k in node.keywords}
                    assert isinstance(kws.get("weights_only"), ast.Constant) and kws["weights_only"].value is True, path
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "dill" not in names and "joblib" not in names, f"{path}"


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "/abs", ".hidden", "a\\b", "", "x" * 101, "a..b", "ok\n"])
def test_study_names_cannot_escape_the_results_folder(name):
    with pytest.raises(StorageError):
        check_study_name(name)


@pytest.mark.parametrize("url", ["postgresql://u:p@h/db", "postgresql+psycopg2://user:s3cr:et@host:5432/db",
                                 "postgresql://u:@h/db"])
def test_passwords_are_redacted(url):
    shown = redact(url)
    assert "***" in shown and "p@" not in shown and "s3cr" not in shown and "et@" not in shown
