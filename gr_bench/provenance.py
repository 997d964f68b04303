"""Where a result came from: versions, git sha, host, threads. Stored with every result."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

_PACKAGES = ("gr-bench", "torch", "optuna", "numpy", "scipy", "pandas")


@lru_cache(maxsize=1)
def git_sha() -> str:
    """The commit of the gr-bench checkout, with '+dirty' for uncommitted changes ('' if none)."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("+dirty" if sha and dirty else "")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def provenance(threads: int | None = None) -> dict[str, object]:
    return {
        "versions": versions(),
        "git_sha": git_sha(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "argv": sys.argv,
    }
