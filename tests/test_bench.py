"""gr-bench bench: phase figures at fp32 and bf16 against both gemm references, a workers check that
trains its runs, and nothing left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GR = str(Path(sys.executable).parent / "gr-bench")
TINY = ["--dataset", "digits", "--preset", "quick", "--set", "vae_hidden=32,16", "--set", "epochs=1",
        "--set", "vae_epochs=1"]


@pytest.mark.slow
def test_bench_json_reports_each_phase_against_the_1024_sgemm_and_cleans_up(tmp_path):
    p = subprocess.run([GR, "bench", *TINY, "--results", str(tmp_path), "--json"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["sgemm_1024_gflops"] > 0 and out["workers_speedup"] > 0
    for phase in ("classifier", "generator", "replay", "eval", "run"):
        f = out["phases"][phase]
        assert f["pct_of_sgemm_1024"] == pytest.approx(100 * f["gflops"] / out["sgemm_1024_gflops"])
    assert out["run_pct_of_sgemm_1024"] == out["phases"]["run"]["pct_of_sgemm_1024"]
    assert set(out["gemm_1024_gflops"]) == set(out["by_precision"]) == {"fp32", "bf16"}
    for p, fig in out["by_precision"].items():
        assert fig["gemm_1024_gflops"] > 0 and fig["phases"]["generator"]["samples_per_s"] > 0, p
    # the workers check trained every run in both studies: none was reused from a run cache
    assert out["workers"]["reused_runs"] == {"1": 0, "2": 0} and out["workers"]["runs_trained"] == {"1": 4, "2": 4}
    assert not any((tmp_path / "bench").iterdir())  # the workers check's two studies are removed
    # what a shipped copy needs to be read later: the command without this machine's folders, code and CPU
    assert out["provenance"]["command"] == " ".join(["gr-bench", "bench", *TINY, "--json"])
    assert out["provenance"]["cpu_model"] and out["provenance"]["code_version"]


def test_bench_takes_its_options_and_refuses_a_bad_dataset_in_one_line():
    p = subprocess.run([GR, "bench", "--dataset", "bogus", "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "unknown dataset 'bogus'" in p.stderr
