import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GR = str(Path(sys.executable).parent / "gr-bench")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist gives its workers COLUMNS=80 (the controller's terminal width, 80 off a terminal);
    # the tests read gr-bench's output as a log is read, off a terminal: whole, at no width limit
    # (cli.common._width reads COLUMNS when cli.common is first imported, after this file)
    os.environ.pop("COLUMNS", None)


def pytest_collection_modifyitems(config, items) -> None:
    """With pytest-xdist (`-n 2 --dist loadgroup`, as .ci/run runs the fast tier), every test of the one
    real study (baselines_study, a session fixture of about a minute) goes to the same worker, so
    the study is run once, not once per worker."""
    for item in items:
        if "baselines_study" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("baselines_study"))


def pytest_collection_finish(session) -> None:
    """Move the heap that collection imported (torch, pandas, optuna, matplotlib) out of the
    garbage collector's reach: statsmodels' Holm (stats.holm) calls gc.collect() on every call, and
    walking that heap cost 0.2-0.4 s each time, most of the family-interval test's 35 s (9 s after)."""
    gc.freeze()


@pytest.fixture(scope="session")
def baselines_study(tmp_path_factory) -> Path:
    """A real, small comparison study (digits, 7 paired seeds: enough for Holm over 3 comparisons)."""
    root = tmp_path_factory.mktemp("study")
    p = subprocess.run([GR, "study", "baselines", "--quick", "--seeds", "7", "--dataset", "digits", "--workers", "2",
                        "--results", str(root), "--set", "vae_hidden=32,16", "--set", "epochs=2",
                        "--set", "vae_epochs=2"], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    return root / "baselines-digits-quick"


@pytest.fixture
def study_copy(baselines_study, tmp_path) -> Path:
    """A private copy of the study folder, for tests that rewrite its files."""
    dst = tmp_path / "baselines-digits-quick"
    shutil.copytree(baselines_study, dst)
    return dst
