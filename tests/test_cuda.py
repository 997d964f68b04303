"""The GPU path: `--device cuda` for run, study (workers sharing one GPU) and bench. The smoke tests
run only where torch sees a CUDA GPU; without one, asking for cuda is a one-line error (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

GR = str(Path(sys.executable).parent / "gr-bench")
HAS_GPU = torch.cuda.is_available()
gpu = pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU here")


def _gr(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([GR, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(HAS_GPU, reason="a CUDA GPU is present")
@pytest.mark.parametrize("command", [["run", "--dataset", "digits"],
                                     ["study", "baselines", "--quick", "--dataset", "digits"],
                                     ["bench", "--dataset", "digits", "--no-workers-check"]])
def test_cuda_without_a_gpu_is_a_one_line_error(tmp_path, command):
    out = _gr(*command, "--device", "cuda", "--results", str(tmp_path / "r"))
    assert out.returncode == 2, out.stderr
    assert "torch sees no CUDA GPU" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.csv"))


@gpu
def test_a_run_on_the_gpu_records_its_device(tmp_path):
    out = _gr("run", "--dataset", "digits", "--preset", "quick", "--device", "cuda", "--quiet",
              "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    summary = pd.read_csv(next(tmp_path.rglob("summary.csv")))
    assert list(summary.device) == ["cuda"]


@gpu
def test_two_study_workers_share_one_gpu(tmp_path):
    out = _gr("study", "baselines", "--quick", "--dataset", "digits", "--device", "cuda", "--workers", "2",
              "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    runs = pd.read_csv(tmp_path / "baselines-digits-quick" / "runs.csv")
    assert len(runs) > 0 and set(runs.device) == {"cuda"} and runs.worker.nunique() == 2


@gpu
def test_bench_on_the_gpu(tmp_path):
    out = _gr("bench", "--dataset", "digits", "--device", "cuda", "--json", "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["device"] == "cuda" and figures["sgemm_1024_gflops"] > 0 and figures["workers_speedup"] > 0
