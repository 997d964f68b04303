"""The house rules that keep gr-bench readable: one-way layers with no import cycle, a layout page
(docs/layout.md, linked from the README) that names every module, and a study is one file."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gr_bench.orchestration import StudyError, get_spec, study_names

PACKAGE = Path(__file__).resolve().parent.parent / "gr_bench"
GR = str(Path(sys.executable).parent / "gr-bench")


# The layers, bottom first. A module imports only from its own layer or those below it, imports
# inside functions included (a lazy import is still a dependency); within a layer, no cycle. A
# module belongs to the layer named by its first name under gr_bench/ (gr_bench.orchestration.stored:
# "orchestration"); "gr_bench" itself is the package's __init__.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # pure helpers any layer may use: no storage, no training (torch only inside functions)
    # (plugins: finding, hashing, loading and smoke-checking a generator or strategy from outside gr-bench)
    ("base", ("gr_bench", "errors", "files", "labels", "metrics", "schedule", "plugins", "config",
              "input_checks", "provenance", "resources", "result", "thresholds", "group_sequential", "stats",
              "budgets", "paired_comparisons")),
    ("data", ("idx", "fetch", "data")),  # idx: the IDX reader and content identity data and fetch share
    ("models", ("models", "optim")),  # the generator registry; the optimizers the trainer builds
    ("strategies", ("strategies",)),
    ("trainer", ("trainer", "fitting", "generator_tracks")),  # fitting: one pass of a model and its losses
    ("storage", ("storage", "runcache", "run_folder")),  # Optuna storage, the run cache, `gr-bench run`'s folder
    ("orchestration", ("orchestration", "bench")),  # running a study; bench times the trainer and a study
    ("export", ("export",)),  # a study's rows and files from its storage
    ("report", ("report",)),  # analysis, frames, tables, plots, report.md (the docs tool is tools/docs.py)
    ("cli", ("cli", "__main__")),
)
# (importer, imported) pairs allowed to break the order, each with its reason. None at present.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


def _module_imports() -> dict[str, set[str]]:
    """gr_bench module -> the gr_bench modules it imports, anywhere in the file (module level,
    functions, methods, conditionals): every ast Import and ImportFrom node, relative or absolute.
    ``from package import name`` counts as an import of the module package.name when there is one,
    else of the package."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        package = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [(module, a.name) for a in node.names]
            else:
                continue
            for module, name in targets:
                if module != "gr_bench" and not module.startswith("gr_bench."):
                    continue
                candidates = ([f"{module}.{name}"] if name else []) + [module]
                # `import gr_bench.a.b` names a module that may not be a file here: its nearest package
                candidates += [module.rsplit(".", i)[0] for i in range(1, module.count(".") + 1)]
                hit = next((c for c in candidates if c in mods), None)
                if hit and hit != m:
                    graph[m].add(hit)
    return graph


def _layer(module: str) -> int:
    top = "gr_bench" if module == "gr_bench" else module.split(".")[1]
    found = [i for i, (_, members) in enumerate(LAYERS) if top in members]
    assert len(found) == 1, f"{module} must sit in exactly one layer of LAYERS (tests/test_architecture.py)"
    return found[0]


def test_the_walk_sees_imports_inside_functions():
    graph = _module_imports()
    assert graph["gr_bench.cli"] >= {"gr_bench.cli.run_commands", "gr_bench.cli.study_commands"}
    assert "gr_bench.fetch" in graph["gr_bench.data"]  # data.py fetches inside a function
    assert "gr_bench.paired_comparisons" in graph["gr_bench.orchestration.sequential"]  # inside look()


def test_every_module_sits_in_one_layer():
    for m in _modules():
        _layer(m)


def test_no_import_from_a_higher_layer():
    names = [name for name, _ in LAYERS]
    upward = [f"{m} ({names[_layer(m)]}) imports {t} ({names[_layer(t)]})"
              for m, targets in sorted(_module_imports().items()) for t in sorted(targets)
              if _layer(t) > _layer(m) and (m, t) not in KNOWN_EXCEPTIONS]
    assert upward == []


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
    assert cycles == []


def _layout_entries() -> list[str]:
    """docs/layout.md (linked from the README) as entries: a line that starts with a path under
    gr_bench/, with its indented continuation lines."""
    section = (PACKAGE.parent / "docs" / "layout.md").read_text()
    entries: list[str] = []
    for line in section.splitlines():
        if line.startswith("gr_bench/"):
            entries.append(line)
        elif line.startswith(" ") and line.strip() and entries:
            entries[-1] += " " + line.strip()
    return entries


def test_the_layout_doc_names_every_module():
    """Each module is listed by its path, or named (file name) in the entry of its folder."""
    entries = _layout_entries()
    missing = []
    for p in sorted(PACKAGE.rglob("*.py")):
        path = p.relative_to(PACKAGE.parent).as_posix()
        folder, name = path.rsplit("/", 1)
        if name == "__init__.py":  # the package: its folder must have an entry
            listed = any(e.split()[0] == f"{folder}/" for e in entries) or folder == "gr_bench"
        else:
            listed = any(e.split()[0] == path or (e.split()[0] == f"{folder}/" and
                                                  re.search(rf"(?<![\w.]){re.escape(name)}\b", e))
                         for e in entries)
        if not listed:
            missing.append(path)
    assert missing == [], "docs/layout.md does not name these modules"


MAX_FUNCTION_LINES = 80  # a function longer than a screen and a half is split into named steps


def test_no_function_is_longer_than_a_screen_and_a_half():
    """Every function and method in gr_bench/ (signature and docstring included) stays within
    MAX_FUNCTION_LINES: the training loop, report sections and CLI commands are read in one go."""
    long = []
    for p in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{p.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


STUDY_FILE = '''
from gr_bench.orchestration import StudySpec

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
    assert (tmp_path / "r" / "my_study-digits" / "runs.csv").is_file()


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


MAX_MODULE_LINES = 450  # a module a newcomer reads in one sitting; a larger one is split by what it holds
MAX_PARAMETERS = 8  # outside cli/: more travel together as one frozen value (Thresholds, Analysis, ...)


def _functions(path: Path):
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_module_is_over_450_lines():
    big = [f"{p.relative_to(PACKAGE.parent)} ({n} lines)" for p in sorted(PACKAGE.rglob("*.py"))
           if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert big == []


def test_no_function_outside_the_cli_takes_more_than_8_parameters():
    """self and cls are not counted; *args and **kwargs count one each."""
    wide = []
    for p in sorted(PACKAGE.rglob("*.py")):
        if "cli" in p.relative_to(PACKAGE).parts:
            continue
        for f in _functions(p):
            a = f.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
            count = len(names) - (names[:1] in (["self"], ["cls"])) + bool(a.vararg) + bool(a.kwarg)
            if count > MAX_PARAMETERS:
                wide.append(f"{p.relative_to(PACKAGE.parent)}:{f.lineno} {f.name} ({count})")
    assert wide == []


def test_the_report_layer_never_branches_on_a_study_name():
    """A study's own answer comes through StudySpec.answer: no comparison in gr_bench/report/ with a
    study's name (`name == "memory"`, `study in ("precision", ...)`, `.startswith("memory")`)."""
    names = set(study_names(listed_only=False))
    found = []
    for p in sorted((PACKAGE / "report").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Compare):
                parts = [node.left, *node.comparators]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "startswith", "endswith"):
                parts = [node.func.value, *node.args]
            else:
                continue
            consts = [c.value for part in parts for c in ast.walk(part)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            # what the name is compared with: a study's name, folder or spec (not a column named "generator")
            about_a_study = any(re.search(r"study|\.name\b|spec", ast.unparse(part)) for part in parts
                                if not isinstance(part, ast.Constant))
            hits = sorted(names.intersection(consts)) if about_a_study else []
            if hits:
                found.append(f"{p.relative_to(PACKAGE.parent)}:{node.lineno} {hits}")
    assert found == []


def test_plug_ins_are_found_and_loaded_in_one_module():
    """Entry points and modules loaded from a file path: gr_bench/plugins.py alone, for generators
    and strategies alike. orchestration/spec.py loads a study file ($GR_BENCH_STUDIES): a study, not a plug-in."""
    allowed = {"gr_bench/plugins.py", "gr_bench/orchestration/spec.py"}
    users = sorted(p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py")
                   if re.search(r"entry_points\(|spec_from_file_location\(|importlib\.metadata", p.read_text()))
    assert set(users) - allowed == set() and "gr_bench/plugins.py" in users


def test_thresholds_are_defined_only_in_thresholds_py():
    """No module but gr_bench/thresholds.py gives a verdict threshold (alpha, margin, minimum effect,
    minimum runs, power effect) a number of its own: the others read thresholds.DEFAULTS or take a
    Thresholds value."""
    pattern = re.compile(r"^(ALPHA|MARGIN|MIN_RUNS|MIN_EFFECT|MIN_REL_EFFECT|POWER_EFFECT)$")
    found = []
    for p in sorted(PACKAGE.rglob("*.py")):
        if p.name == "thresholds.py":
            continue
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, (int, float)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found += [f"{p.relative_to(PACKAGE.parent)}: {t.id}" for t in targets
                          if isinstance(t, ast.Name) and pattern.match(t.id)]
    assert found == []


def test_layout_lists_every_module_after_the_modules_it_imports():
    """docs/layout.md reads bottom-up: each module or package comes after every module or package it
    imports (imports inside functions included), so a reader who goes top to bottom has met a
    module before its users. A package's sub-package (report/plots/, drawing report's frames) is
    read with its package."""
    # 'errors' for gr_bench/errors.py, 'stats' for gr_bench/stats/, 'report' for gr_bench/report/plots/ too
    listed = [e.split()[0].removeprefix("gr_bench/").removesuffix(".py").split("/")[0] for e in _layout_entries()]
    order = {name: listed.index(name) for name in listed}

    def top(module: str) -> str:
        return module.removeprefix("gr_bench.").split(".")[0]

    graph = {m: targets for m, targets in _module_imports().items() if m != "gr_bench"}  # __init__: no entry
    missing = sorted({top(m) for m in graph if top(m) not in order})
    assert not missing, f"modules docs/layout.md does not list: {missing}"
    late = sorted({f"{top(m)} imports {top(t)}, listed after it" for m, targets in graph.items() for t in targets
                   if t != "gr_bench" and order[top(t)] > order[top(m)]})
    assert not late, "docs/layout.md is not in import order: " + "; ".join(late)
