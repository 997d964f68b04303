"""The house rules that keep gr-bench readable: no import cycle, and a study is one file."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gr_bench.study import StudyError, get_spec, study_names

PACKAGE = Path(__file__).resolve().parent.parent / "gr_bench"
GR = str(Path(sys.executable).parent / "gr-bench")


def _module_imports() -> dict[str, set[str]]:
    """gr_bench module -> the gr_bench modules it imports at module level (function-level imports
    are deliberate lazy loads and cannot form an import-time cycle)."""
    mods = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        package = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    hit = next((c for c in (f"{target}.{alias.name}", target) if c in mods and c != m), None)
                    if hit:
                        graph[m].add(hit)
    return graph


def test_no_import_cycle_inside_gr_bench():
    graph, state, cycles = _module_imports(), {}, []

    def visit(u: str, path: list[str]) -> None:
        state[u] = "open"
        for v in sorted(graph[u]):
            if state.get(v) == "open":
                cycles.append(path[path.index(v):] + [v])
            elif v not in state:
                visit(v, path + [v])
        state[u] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert graph["gr_bench.cli"] >= {"gr_bench.cli.runs", "gr_bench.cli.studies"}  # the walk sees the CLI
    assert cycles == []


STUDY_FILE = '''
from gr_bench.study import StudySpec

STUDY = StudySpec(name="{name}", summary="a study written by a user", base={{"strategy": "none"}},
                  grid={{"method": {{"none": {{}}}}}}, seeds=1)
'''


@pytest.mark.slow  # a whole study or report: tens of seconds
def test_a_new_study_is_one_file(tmp_path, monkeypatch):
    (tmp_path / "my_study.py").write_text(STUDY_FILE.format(name="my_study"))
    monkeypatch.setenv("GR_BENCH_STUDIES", str(tmp_path))
    assert "my_study" in study_names() and get_spec("my_study").summary == "a study written by a user"
    env = {**os.environ, "GR_BENCH_STUDIES": str(tmp_path), "COLUMNS": "200"}
    listed = subprocess.run([GR, "study", "--list"], capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0 and "my_study" in listed.stdout and "a study written by a user" in listed.stdout
    ran = subprocess.run([GR, "study", "my_study", "--dataset", "digits", "--results", str(tmp_path / "r"),
                          "--workers", "1", "--set", "epochs=1"], capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "r" / "my_study" / "runs.csv").is_file()


def test_bad_study_modules_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("GR_BENCH_STUDIES", str(tmp_path))
    (tmp_path / "misnamed.py").write_text(STUDY_FILE.format(name="other"))
    with pytest.raises(StudyError, match="must define STUDY"):
        get_spec("misnamed")
    (tmp_path / "baselines.py").write_text(STUDY_FILE.format(name="baselines"))
    with pytest.raises(StudyError, match="already exists"):
        study_names()


def test_unlisted_and_bundled_studies():
    assert study_names()[0] == "replay_schedule" and "bench_workers" not in study_names()
    assert "bench_workers" in study_names(listed_only=False) and get_spec("bench_workers").name == "bench_workers"
    assert not (PACKAGE.parent / "gr_bench" / "studies").exists()  # the studies live in the top-level folder
