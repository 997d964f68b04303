"""gr-bench bench: its workers check trains every run (no run cache shared between its two
studies), and its figures at fp32 and bf16 each stand against the gemm of their own arithmetic."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest

from gr_bench import bench
from gr_bench.config import RunConfig, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.runcache import cache_url


def test_the_two_workers_studies_have_their_own_run_caches(tmp_path):
    setups = bench.workers_setups(tmp_path, "digits", trials=4)
    one, two = setups[1], setups[2]
    assert (one.workers, two.workers) == (1, 2)
    assert one.seeds == two.seeds == (0, 1, 2, 3)  # the same runs, so the two walls time the same work
    assert one.results_dir != two.results_dir and one.storage_url != two.storage_url
    # the cache a study reads and writes: separate files, so the 2-worker study cannot reuse the 1-worker study's runs
    assert cache_url(one.storage_url, one.results_dir) != cache_url(two.storage_url, two.results_dir)
    assert bench.workers_setups(tmp_path, "digits", precision="bf16")[2].sets == ("device=cpu", "precision=bf16")


def _fake_study(reused_by_workers: dict[int, int], walls: dict[int, float], clock: list[float]):
    """run_study that advances a fake clock and reports each trial's reused_runs."""

    def run_study(setup):
        clock[0] += walls[setup.workers]
        trials = [SimpleNamespace(state=SimpleNamespace(name="COMPLETE"),
                                  user_attrs={"reused_runs": int(k < reused_by_workers[setup.workers])})
                  for k in range(len(setup.seeds))]
        return {"search": SimpleNamespace(get_trials=lambda deepcopy=False: trials)}

    return run_study


@pytest.mark.parametrize("reused, speedup", [({1: 0, 2: 0}, 2.0), ({1: 0, 2: 4}, None)])
def test_the_speed_up_is_as_measured_and_withheld_when_runs_were_reused(tmp_path, monkeypatch, reused, speedup):
    import gr_bench.orchestration as study

    clock = [0.0]
    monkeypatch.setattr(study, "run_study", _fake_study(reused, {1: 40.0, 2: 20.0}, clock))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    out = bench.workers_speedup(str(tmp_path), "digits", trials=4)
    assert (out["wall_1_worker_s"], out["wall_2_workers_s"]) == (40.0, 20.0)
    assert out["workers_speedup"] == speedup
    assert out["reused_runs"] == {"1": reused[1], "2": reused[2]}
    assert out["runs_trained"] == {"1": 4 - reused[1], "2": 4 - reused[2]}
    assert list(tmp_path.iterdir()) == []  # the scratch folder is removed


def test_run_bench_reports_each_precision_against_its_own_gemm(monkeypatch):
    monkeypatch.setattr(bench, "sgemm_gflops", functools.partial(bench.sgemm_gflops, seconds=0.01))
    digits = make_benchmark(load_dataset("digits"), n_tasks=2)
    cfg = with_overrides(RunConfig(), ["strategy=generative", "epochs=1", "vae_epochs=1", "vae_hidden=32,16",
                                       "hidden=32", "schedule=linear:50", "n_tasks=2"])
    out = bench.run_bench(cfg, digits)
    assert list(out["by_precision"]) == ["fp32", "bf16"] and out["precision"] == "fp32"
    assert set(out["gemm_1024_gflops"]) == {"fp32", "bf16"} and all(v > 0 for v in out["gemm_1024_gflops"].values())
    assert out["sgemm_1024_gflops"] == out["gemm_1024_gflops"]["fp32"]
    assert out["phases"] == out["by_precision"]["fp32"]["phases"]
    fp32_limit = out["gemm_1024_gflops"]["fp32"]
    for p, fig in out["by_precision"].items():
        assert fig["run_id"] == with_overrides(cfg, [f"precision={p}"]).run_id()
        for phase in ("classifier", "generator", "replay", "eval", "run"):
            f = fig["phases"][phase]
            limit = fp32_limit if phase == "eval" else fig["gemm_1024_gflops"]  # evaluation runs in fp32
            assert f["arithmetic"] == ("fp32" if phase == "eval" else p)
            assert f["pct_of_sgemm_1024"] == pytest.approx(100 * f["gflops"] / limit)
            if phase != "run":
                assert f["samples_per_s"] > 0
    assert set(out["bf16_speedup"]) == {"classifier", "generator", "replay", "eval", "run"}
