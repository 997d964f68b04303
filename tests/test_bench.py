"""gr-bench bench: phase figures against both sgemm references, and nothing left behind."""

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
    assert not any((tmp_path / "bench").iterdir())  # the workers check's two studies are removed
