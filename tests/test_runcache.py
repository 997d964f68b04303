"""No run done twice: the run cache's key, its storage, and a whole study reusing another's runs."""

import csv
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import TrialState

from gr_bench import provenance, runcache
from gr_bench.config import RunConfig, with_overrides
from gr_bench.export import _progress
from gr_bench.result import RunResult
from gr_bench.storage import open_storage

GR = str(Path(sys.executable).parent / "gr-bench")
TINY = ["--dataset", "digits", "--quick", "--workers", "1", "--seeds", "1",
        "--set", "vae_hidden=32,16", "--set", "epochs=2", "--set", "vae_epochs=2"]


def _result(cfg: RunConfig, rows: int | None = None, status: str = "ok") -> RunResult:
    n = cfg.data.n_tasks if rows is None else rows
    accuracy = [[0.9 - 0.1 * j if j <= i else 0.1 for j in range(cfg.data.n_tasks)] for i in range(n)]
    return RunResult(config=cfg, dataset="digits", scenario="class", split="test", status=status,
                     accuracy=accuracy, initial_acc=[0.1] * cfg.data.n_tasks, dataset_sha256="d" * 64)


def test_key_names_config_split_data_and_code():
    cfg = with_overrides(RunConfig(), ["seed=3"])
    key = runcache.run_key(cfg, "test", "d" * 64, code="abc")
    assert key == f"{cfg.run_id()}:test:{'d' * 64}:abc"
    assert len({key, runcache.run_key(cfg, "val", "d" * 64, code="abc"),
                runcache.run_key(with_overrides(cfg, ["seed=4"]), "test", "d" * 64, code="abc")}) == 3


def test_a_different_dataset_or_code_version_misses(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cfg = RunConfig()
    stored = _result(cfg).to_dict()
    runcache.store(storage, runcache.run_key(cfg, "test", "d" * 64, code="v1"), stored)
    assert runcache.lookup(storage, runcache.run_key(cfg, "test", "d" * 64, code="v1")) == stored
    assert runcache.lookup(storage, runcache.run_key(cfg, "test", "e" * 64, code="v1")) is None  # other data
    assert runcache.lookup(storage, runcache.run_key(cfg, "test", "d" * 64, code="v2")) is None  # other code
    assert runcache.lookup(storage, runcache.run_key(cfg, "val", "d" * 64, code="v1")) is None  # other split


def test_only_complete_ok_runs_are_kept(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cfg = RunConfig()
    runcache.store(storage, "partial", _result(cfg, rows=2).to_dict())
    runcache.store(storage, "failed", _result(cfg, status="failed").to_dict())
    assert runcache.lookup(storage, "partial") is None and runcache.lookup(storage, "failed") is None


def test_a_lookup_reads_only_its_own_runs_attributes(tmp_path):
    """Each kept run is its own study: a lookup never reads the other runs (the earlier layout read
    and copied every kept run's attributes per lookup, about 200 ms with 500 runs)."""
    storage = open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cfgs = [with_overrides(RunConfig(), [f"seed={i}"]) for i in range(30)]
    for cfg in cfgs:
        runcache.store(storage, runcache.run_key(cfg, "test", "d" * 64, code="v1"), _result(cfg).to_dict())
    read = []
    real = storage.get_study_user_attrs

    def spy(study_id):
        attrs = real(study_id)
        read.append(len(attrs))
        return attrs

    storage.get_study_user_attrs = spy
    key = runcache.run_key(cfgs[17], "test", "d" * 64, code="v1")
    assert runcache.lookup(storage, key) == _result(cfgs[17]).to_dict()
    assert runcache.lookup(storage, runcache.run_key(cfgs[17], "val", "d" * 64, code="v1")) is None
    assert read == [1]  # the hit's one attribute; the miss reads no attributes at all


def test_runs_kept_in_the_earlier_one_study_layout_still_hit(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    cfg, other = RunConfig(), with_overrides(RunConfig(), ["seed=9"])
    old = optuna.create_study(study_name=runcache.CACHE_STUDY, storage=open_storage(url))
    old.set_user_attr("old-key", _result(cfg).to_dict())  # how earlier versions kept a run
    storage = open_storage(url)
    assert runcache.lookup(storage, "old-key") == _result(cfg).to_dict()
    assert runcache.lookup(storage, "new-key") is None
    runcache.store(storage, "new-key", _result(other).to_dict())
    assert runcache.lookup(storage, "new-key") == _result(other).to_dict()
    assert set(optuna.load_study(study_name=runcache.CACHE_STUDY, storage=storage).user_attrs) == {"old-key"}


def test_the_first_kept_result_stays_and_a_half_kept_one_is_completed(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    first, second = _result(RunConfig()).to_dict(), _result(with_overrides(RunConfig(), ["lr=0.5"])).to_dict()
    runcache.store(storage, "k", first)
    runcache.store(storage, "k", second)  # another worker's run of the same key
    assert runcache.lookup(storage, "k") == first
    # a writer that stopped between creating the run's study and writing its result
    storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], f"{runcache.CACHE_STUDY}/half")
    assert runcache.lookup(storage, "half") is None
    runcache.store(storage, "half", second)
    assert runcache.lookup(storage, "half") == second


def test_a_reused_run_replays_its_per_task_reports(tmp_path):
    setup = SimpleNamespace(storage_url=f"sqlite:///{tmp_path / 'shared.db'}", results_dir=str(tmp_path / "a"))
    bench = SimpleNamespace(content_sha256="d" * 64)
    cfg = RunConfig()
    calls = []

    def runner(cfg, bench, split, on_task_end):
        calls.append(cfg.seed)
        result = _result(cfg)
        for t, accs in enumerate(result.accuracy):
            on_task_end(t, accs)
        return result

    fresh, reports_fresh = [], []
    first, reused = runcache.run_or_reuse(setup, cfg, bench, "test", lambda t, a: reports_fresh.append((t, a)), runner)
    assert not reused and calls == [cfg.seed]
    second, reused = runcache.run_or_reuse(setup, cfg, bench, "test", lambda t, a: fresh.append((t, a)), runner)
    assert reused and calls == [cfg.seed]  # not run again
    assert fresh == reports_fresh and second.to_dict() == first.to_dict()


def test_studies_on_default_files_share_the_results_folders_cache(tmp_path):
    url = f"sqlite:///{(tmp_path / 'study-a' / 'study.db').resolve()}"
    assert runcache.cache_url(url, str(tmp_path / "study-a")) == f"sqlite:///{(tmp_path / 'run_cache.db').resolve()}"
    other = "postgresql://u@host/db"
    assert runcache.cache_url(other, str(tmp_path / "study-a")) == other  # a shared --storage holds it itself


def test_trials_csv_progress_columns():
    runs = [_result(RunConfig())]
    pruned = optuna.trial.create_trial(state=TrialState.PRUNED, intermediate_values={i: 0.5 for i in range(5)},
                                       user_attrs={"reason": "pruned after seed 0"})
    assert _progress(pruned, runs, n_seeds=3, n_tasks=None) == ("5/15", "pruned after seed 0")
    # pruned mid-run: no stored run, so the stage's number of tasks gives the total
    mid = optuna.trial.create_trial(state=TrialState.PRUNED, intermediate_values={0: 1.0, 1: 0.9})
    assert _progress(mid, [], n_seeds=1, n_tasks=5) == ("2/5", "pruned at task 2/5")
    failed = optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={"reason": "seed 0: nan loss"})
    assert _progress(failed, [], n_seeds=1, n_tasks=5) == ("0/5", "failed: seed 0: nan loss")
    done = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.5)
    assert _progress(done, runs, n_seeds=1, n_tasks=None) == ("5/5", "complete")


def _rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def _code_now() -> str:
    provenance.source_hash.cache_clear()
    return runcache.code_version()


@pytest.mark.slow
def test_a_second_identical_study_reuses_every_run(tmp_path):
    code = _code_now()
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    walls = []
    for name in ("first", "second"):
        start = time.perf_counter()
        p = subprocess.run([GR, "study", "baselines", *TINY, "--results", str(tmp_path), "--study-name", name],
                           capture_output=True, text=True, timeout=600, env=env)
        walls.append(time.perf_counter() - start)
        assert p.returncode == 0, p.stderr
    if _code_now() != code:
        pytest.skip("gr_bench's source changed while the test ran: runs were rightly not reused")
    print(f"wall times: first {walls[0]:.1f} s, second {walls[1]:.1f} s")
    first, second = _rows(tmp_path / "first" / "trials.csv"), _rows(tmp_path / "second" / "trials.csv")
    assert len(second) == len(first) > 0
    assert all(t["state"] == "COMPLETE" and t["stop_reason"] == "complete" for t in first + second)
    assert all(int(t["reused_runs"]) == int(t["runs"]) == 1 for t in second)
    assert all(t["budget_reached"] == "{0}/{0}".format(t["budget_reached"].split("/")[1]) for t in second)
    # every metric and every accuracy point is the first study's; only when and where the trials ran
    # differs, and that the second's runs came from the cache
    assert (tmp_path / "second" / "accuracy.csv").read_bytes() == (tmp_path / "first" / "accuracy.csv").read_bytes()
    when = ("started_at", "finished_at", "worker", "reused")
    runs = [_rows(tmp_path / s / "runs.csv") for s in ("first", "second")]
    assert [{k: v for k, v in r.items() if k not in when} for r in runs[0]] == \
        [{k: v for k, v in r.items() if k not in when} for r in runs[1]] and runs[0]
    assert {r["reused"] for r in runs[0]} == {"False"} and {r["reused"] for r in runs[1]} == {"True"}
    assert all(r["started_at"].endswith("Z") and r["finished_at"] >= r["started_at"] for r in runs[0] + runs[1])
    stats = [[{k: v for k, v in r.items() if k != "study"} for r in _rows(tmp_path / s / "stats.csv")]
             for s in ("first", "second")]
    # reused runs were timed when they first ran: the second study gives no wall-clock verdict
    wall = [[(r["verdict"], r["interleaved"]) for r in rows if r["metric"].startswith("time_")] for rows in stats]
    assert wall[0] and all(i == "yes" for _, i in wall[0]) and set(wall[1]) == {("not judged (wall clock)", "no")}
    same = [[{k: v for k, v in r.items() if not (r["metric"].startswith("time_") and k in ("verdict", "interleaved"))}
             for r in rows] for rows in stats]
    assert same[0] == same[1] and same[0]
    assert (tmp_path / runcache.CACHE_FILE).is_file()


@pytest.mark.slow
def test_workers_opening_a_fresh_cache_at_once_all_succeed(tmp_path):
    code = ("import sys; from gr_bench import runcache; "
            "print(runcache.lookup(runcache._open(sys.argv[1]), 'x'))")
    url = f"sqlite:///{tmp_path / 'run_cache.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    assert [out.strip() for out, _ in outs] == ["None"] * 4
