"""Where a result came from: code version, versions, host, CPU, BLAS, threads, device, precision.

Recorded by every run when it runs (RunResult.provenance), so a report can tell which code and
which machine produced each row; runs repeat bit-for-bit only on the same code, machine model,
BLAS and thread count (see docs/reproducibility.md).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import socket
import subprocess
import sys
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path

_PACKAGES = ("gr-bench", "torch", "optuna", "numpy", "scipy", "pandas")
_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def git_sha() -> str:
    """The commit of the gr-bench checkout, with '+dirty' for uncommitted changes ('' if none)."""
    root = _PACKAGE_DIR.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("+dirty" if sha and dirty else "")


def short_sha() -> str:
    """The short commit (7 hex digits), with '+dirty' for uncommitted changes ('' if none)."""
    sha = git_sha()
    return sha[:7] + ("+dirty" if sha.endswith("+dirty") else "")


@lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 (12 hex digits) of gr_bench's own .py files: tells two dirty trees or two installs apart."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        h.update(str(path.relative_to(_PACKAGE_DIR)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def code_version() -> str:
    """The git commit when the tree is clean, else the package version and the source hash."""
    sha = git_sha()
    if sha and not sha.endswith("+dirty"):
        return sha[:12]
    return f"{versions().get('gr-bench') or '0'}+src.{source_hash()}"


# The run's code: the modules a run executes (the import closure of the trainer and of the generator
# tracks it restores from), without the three that only record or report (what a run records about
# itself, atomic file writes, one-line error texts): a commit that changes the study, analysis,
# report or command layers, or only those three, runs the same code.
RUN_ENTRY = ("trainer.py", "generator_tracks.py")
RECORDING_ONLY = frozenset({"provenance.py", "files.py", "errors.py"})


def _closure(read) -> list[str]:
    """The package files (paths under gr_bench/) a run imports, from ``read(path) -> source or
    None``: every `import gr_bench...` / relative import, at any depth (inside functions too)."""
    import ast

    seen: set[str] = set()
    todo = [f"gr_bench/{name}" for name in RUN_ENTRY]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        text = read(path)
        if text is None:
            continue
        seen.add(path)
        package = path.rsplit("/", 1)[0].replace("/", ".")
        for node in ast.walk(ast.parse(text)):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = (".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                        if node.level else "")
                module = ".".join(filter(None, [base, node.module or ""]))
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name == "gr_bench" or name.startswith("gr_bench."):
                    stem = name.replace(".", "/")
                    todo += [f"{stem}.py", f"{stem}/__init__.py"]
    return sorted(p for p in seen if p.rsplit("/", 1)[-1] not in RECORDING_ONLY)


def _digest(files: list[str], read) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(path.encode() + b"\0" + (read(path) or "").encode())
    return h.hexdigest()[:12]


@lru_cache(maxsize=1)
def run_code() -> str:
    """sha256 (12 hex digits) of the code a run executes (RUN_ENTRY's import closure, less
    RECORDING_ONLY), in this tree: two commits with the same run code train the same numbers on
    the same machine, data and config, whatever else they changed."""
    root = _PACKAGE_DIR.parent

    def read(path: str) -> str | None:
        p = root / path
        return p.read_text() if p.is_file() else None

    return _digest(_closure(read), read)


@lru_cache(maxsize=64)
def run_code_at(commit: str) -> str:
    """run_code() as it was at a git commit of this checkout ("" when git or the commit is not
    there): tells which rows recorded before run_code existed ran the same code."""
    root = _PACKAGE_DIR.parent
    if not re.fullmatch(r"[0-9a-f]{7,40}", commit or ""):
        return ""

    @cache
    def read(path: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), "show", f"{commit}:{path}"], capture_output=True,
                                  text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    if read("gr_bench/trainer.py") is None:
        return ""
    return _digest(_closure(read), read)


def row_run_code(provenance: dict) -> str:
    """A recorded run's run code: its own record, else computed from its clean commit ("")."""
    if provenance.get("run_code"):
        return str(provenance["run_code"])
    version = str(provenance.get("code_version", ""))
    return run_code_at(version) if "+" not in version else ""


def code_text(code_versions, export_sha: str) -> str:
    """report.md's provenance line: the code its rows ran at (their code_version values, the commit of
    a clean tree or the package version and source hash of a dirty one), and the commit that exported
    them only when that tree was clean: a '+dirty' commit names no code anyone can check out, and the
    export's commit says nothing about the rows' own."""
    versions = sorted({str(v) for v in code_versions if v})
    text = f"Code of the runs: {', '.join(versions) or 'unknown'}"
    if len(versions) > 1:
        text += f" ({len(versions)} code versions)"
    if export_sha and not export_sha.endswith("+dirty"):
        text += f"; exported at commit {export_sha[:12]}"
    return text


def cache_code_version() -> str:
    """What decides a run's numbers on the code side, as the run cache keys it: the run code
    (run_code: the modules a run executes, so a commit that only touches the study, report or docs
    keeps the cache) and the torch version. Every run records it, so that shipped runs can be
    imported into a cache."""
    import torch

    return f"run.{run_code()}+torch.{torch.__version__}"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (/proc/cpuinfo; empty where that cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bf16(device: str) -> bool:
    """Whether `device` does bf16 arithmetic natively: a CPU with avx512_bf16 or amx_bf16 (and
    torch built with oneDNN, which runs CPU autocast's bf16 matmuls), or a GPU torch says supports
    it. Elsewhere bf16 is emulated and may be slower than fp32."""
    import torch

    if device == "cuda":
        try:
            return bool(torch.cuda.is_bf16_supported())
        except Exception:  # no driver, or an older torch: unknown, counted as not native
            return False
    return torch.backends.mkldnn.is_available() and bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


@lru_cache(maxsize=1)
def blas() -> str:
    """The BLAS torch was built with (decides float rounding of every matmul)."""
    try:
        import torch

        found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
        return found.group(1) if found else ""
    except Exception:  # torch missing or its config text changed: provenance must not fail a run
        return ""


def provenance(threads: int | None = None) -> dict[str, object]:
    return {
        "versions": versions(),
        "git_sha": git_sha(),
        "code_version": code_version(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "blas": blas(),
        "threads": threads,
        "argv": sys.argv,
    }


def run_provenance(cfg) -> dict[str, object]:
    """What a run records about itself when it runs."""
    out = provenance(cfg.threads)
    out.pop("argv")
    out["device"] = cfg.device
    out["cache_code_version"] = cache_code_version()
    out["run_code"] = run_code()
    out["precision"] = getattr(cfg, "precision", "fp32")  # fp32, or bf16 autocast (trainer.py)
    if out["precision"] == "bf16":  # whether the arithmetic was native or emulated
        out["native_bf16"] = native_bf16(cfg.device)
    if cfg.device == "cuda":
        try:
            import torch

            out["gpu"] = torch.cuda.get_device_name()
        except Exception:
            out["gpu"] = ""
    return out
