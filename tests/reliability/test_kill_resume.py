"""kill -9 in the middle of a trial (the whole command, or one worker of two), then resume:
every finished trial is kept, the interrupted one runs again, nothing is stored twice, and the
per-seed results equal those of an uninterrupted study with the same seeds."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from gr_bench.storage import open_storage

pytestmark = pytest.mark.slow

GR = str(Path(sys.executable).parent / "gr-bench")
# Short heartbeats so a dead worker's trial is declared stale within seconds, not 20 s.
ENV = {**os.environ, "COLUMNS": "200", "GR_BENCH_HEARTBEAT_S": "1", "GR_BENCH_GRACE_S": "4"}
ARGS = ["study", "baselines", "--quick", "--seeds", "2", "--dataset", "digits", "--set", "vae_hidden=32,16",
        "--set", "epochs=4", "--set", "vae_epochs=4"]


def study_cmd(results: Path, workers: int) -> list[str]:
    return [GR, *ARGS, "--workers", str(workers), "--results", str(results)]


def states(folder: Path) -> dict[str, int]:
    db = folder / "study.db"
    if not db.exists():
        return {}
    try:
        study = optuna.load_study(study_name=folder.name, storage=open_storage(f"sqlite:///{db}"))
    except KeyError:  # not created yet
        return {}
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def wait_for(pred, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def results_by_key(folder: Path) -> dict[tuple[str, str], tuple[str, ...]]:
    with open(folder / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    with open(folder / "accuracy.csv") as f:
        acc = list(csv.DictReader(f))
    by_trial = {(r["stage"], r["trial"], r["seed"]): (r["label"], r["seed"]) for r in runs}
    out: dict[tuple[str, str], list[str]] = {}
    for a in acc:
        out.setdefault(by_trial[(a["stage"], a["trial"], a["seed"])], []).append(
            f"{a['after_task']},{a['eval_task']},{a['epoch']},{a['acc']}")
    keys = [(r["label"], r["seed"]) for r in runs]
    assert len(keys) == len(set(keys)), "a (configuration, seed) result appears twice"
    return {k: tuple(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ref")
    p = subprocess.run(study_cmd(root, 2), capture_output=True, text=True, timeout=600, env=ENV)
    assert p.returncode == 0, p.stderr
    return results_by_key(root / "baselines-digits-quick")


def test_kill_whole_command_then_resume(tmp_path, uninterrupted):
    folder = tmp_path / "baselines-digits-quick"
    # On a loaded machine the running trial can finish between the check and the kill, which then
    # lands between trials; the study is simply started again until a kill lands mid-trial.
    for _attempt in range(3):
        proc = subprocess.Popen(study_cmd(tmp_path, 1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=ENV, start_new_session=True)
        wait_for(lambda: states(folder).get("COMPLETE", 0) >= 2 and states(folder).get("RUNNING", 0) == 1)
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its worker, mid-trial
        proc.wait(timeout=30)
        before = states(folder)
        if before.get("RUNNING") == 1:
            break
    assert before.get("RUNNING") == 1 and before.get("COMPLETE", 0) >= 2, before

    p = subprocess.run(study_cmd(tmp_path, 1), capture_output=True, text=True, timeout=600, env=ENV)
    assert p.returncode == 0, p.stderr
    after = states(folder)
    assert after == {"COMPLETE": 8, "FAIL": 1}  # the interrupted attempt is kept as FAIL, its retry completed
    assert results_by_key(folder) == uninterrupted  # same per-seed results as without the kill


def test_kill_one_worker_of_two(tmp_path, uninterrupted):
    folder = tmp_path / "baselines-digits-quick"
    proc = subprocess.Popen(study_cmd(tmp_path, 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                            start_new_session=True, text=True)
    wait_for(lambda: states(folder).get("RUNNING", 0) >= 1 and states(folder).get("COMPLETE", 0) >= 1)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    workers = [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert workers, children
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    final = states(folder)
    assert final["COMPLETE"] == 8 and final.get("RUNNING", 0) == 0 and final.get("WAITING", 0) == 0
    assert results_by_key(folder) == uninterrupted
