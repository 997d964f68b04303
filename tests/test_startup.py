"""A fast start: `gr-bench --help`, a bad flag or bad input import neither torch, optuna nor
matplotlib (3.4 s before anything was printed); `datasets` and `memory` need torch, but not optuna or
matplotlib. Checked by what is imported, in a fresh interpreter, not by timing (docs/performance.md
gives the measured times)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "optuna", "matplotlib")

CHECK = """
import contextlib, io, json, sys
import gr_bench.cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = gr_bench.cli.main({args!r})
print(json.dumps({{"code": code, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _imports(args: list[str]) -> dict:
    p = subprocess.run([sys.executable, "-c", CHECK.format(args=args, heavy=HEAVY)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


@pytest.mark.parametrize("args, code", [
    (["--help"], 0),
    (["run", "--help"], 0),
    (["study", "--help"], 0),
    (["--no-such-flag"], 2),
    (["run", "--tasks", "x"], 2),
    (["run", "--strategy", "bogus"], 2),  # refused by the config's own checks, before any import of torch
    (["run", "--dry-run", "--dataset", "digits"], 0),
])
def test_help_and_bad_input_import_no_heavy_module(args, code):
    assert _imports(args) == {"code": code, "heavy": []}


@pytest.mark.parametrize("args", [["datasets"], ["memory"]])
def test_datasets_and_memory_import_neither_optuna_nor_matplotlib(args):
    out = _imports(args)
    assert out["code"] == 0 and "optuna" not in out["heavy"] and "matplotlib" not in out["heavy"], out


def test_importing_the_package_imports_nothing_heavy():
    p = subprocess.run([sys.executable, "-c", "import sys, gr_bench, gr_bench.cli; "
                        f"print([m for m in {HEAVY!r} if m in sys.modules])"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "[]", (p.stdout, p.stderr)
