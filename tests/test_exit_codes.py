"""Exit codes of the installed `gr-bench` console script: 0 success, 1 a run or study that failed
(its reason on stderr), 2 bad input (one line, never a traceback), 130 an interrupt ("interrupted").

click's standalone_mode=False *returns* the code of an Exit (and typer turns Ctrl-C into Exit(130))
instead of raising it; cli.main once ignored that value, so a failed run and an interrupt exited 0."""

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from gr_bench.cli import main


def _script() -> str:
    beside = Path(sys.executable).parent / "gr-bench"  # the console script installed beside this python
    found = str(beside) if beside.exists() else shutil.which("gr-bench")
    assert found, "the gr-bench console script is not installed"
    return found


GR = _script()
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
TINY = ["--dataset", "digits", "--set", "epochs=1", "--set", "vae_epochs=1", "--quiet"]


def gr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([GR, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def test_a_failed_run_exits_1_with_its_reason_on_stderr(tmp_path):
    p = gr("run", *TINY, "--set", "lr=1000", "--set", "vae_lr=1000", "--results", str(tmp_path))
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("gr-bench: run failed:") and "nan" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_a_good_run_exits_0(tmp_path):
    p = gr("run", *TINY, "--strategy", "none", "--results", str(tmp_path))
    assert p.returncode == 0 and p.stderr == "", p.stderr


@pytest.mark.parametrize("args, needle", [
    (["run", "--set", "no_such_field=1"], "no_such_field"),
    (["run", "--no-such-flag"], "--no-such-flag"),
    (["run", "--tasks", "x"], "tasks"),
    (["study", "baselines", "--dry-run", "--seeds", "1000000"], "--seeds"),
    (["run", "--dataset", "mnist", "--data-dir", "/nonexistent/dir"], "/nonexistent/dir"),
])
def test_bad_input_exits_2_with_one_line(args, needle, tmp_path):
    p = gr(*args, "--results", str(tmp_path / "r"))
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("gr-bench: error:") and needle in p.stderr, p.stderr
    assert not (tmp_path / "r").exists()


def _interrupt(args: list[str], started: str, timeout: float = 240) -> tuple[int, str, str]:
    """Start the console script, wait for the line `started` on its stdout (then a moment more, to be
    inside the work), send SIGINT as Ctrl-C would, and return (exit code, stdout, stderr)."""
    p = subprocess.Popen([GR, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not ignored, even under `&`
    try:
        lines, deadline = [], time.time() + timeout
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:  # it ended before the work began
                break
            lines.append(line)
            if started in line:
                break
        assert any(started in line for line in lines), ("".join(lines), p.stderr.read())
        time.sleep(2)
        assert p.poll() is None, "it finished before the interrupt: give it more work"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        return p.returncode, "".join(lines) + out, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_an_interrupted_run_exits_130(tmp_path):
    code, _, err = _interrupt(["run", "--dataset", "digits", "--quiet", "--set", "epochs=500",
                               "--set", "vae_epochs=500", "--results", str(tmp_path)], started="strategy:")
    assert code == 130 and "interrupted" in err and "Traceback" not in err, (code, err)


@pytest.mark.slow
def test_an_interrupted_study_exits_130(tmp_path):
    code, _, err = _interrupt(["study", "baselines", "--quick", "--dataset", "digits", "--seeds", "3", "--workers", "1",
                               "--set", "epochs=50", "--set", "vae_epochs=50", "--results", str(tmp_path)],
                              started="study baselines-digits-quick")
    assert code == 130 and "gr-bench: interrupted" in err, (code, err)


# --- the study command's failures and interrupts, in process (run_study replaced) --------------------

def _study(monkeypatch, tmp_path, raised: BaseException) -> tuple[int, str]:
    import gr_bench.orchestration

    def run_study(*args, **kwargs):
        raise raised

    monkeypatch.setattr(gr_bench.orchestration, "run_study", run_study)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["study", "baselines", "--quick", "--dataset", "digits", "--seeds", "1", "--workers", "1",
                     "--results", str(tmp_path)])
    return code, err.getvalue()


def test_a_study_whose_workers_died_exits_1(monkeypatch, tmp_path):
    code, err = _study(monkeypatch, tmp_path, RuntimeError("1 worker(s) of stage 'search' exited with codes [-9]"))
    assert code == 1 and err.count("\n") == 1 and "failed" in err and "exited with codes" in err, err


def test_an_interrupted_study_exits_130_in_process(monkeypatch, tmp_path):
    code, err = _study(monkeypatch, tmp_path, KeyboardInterrupt())
    assert code == 130 and err == "gr-bench: interrupted\n", err


def test_a_study_whose_every_trial_failed_is_a_failure():
    from optuna.trial import TrialState

    from gr_bench.orchestration.run_study import every_trial_failed

    class Trial:
        def __init__(self, state, reason=""):
            self.state, self.user_attrs = state, {"reason": reason} if reason else {}

    class Stage:
        def __init__(self, *trials):
            self.trials = trials

        def get_trials(self, deepcopy=False):
            return list(self.trials)

    class Setup:
        study_name = "s"

    nan = Trial(TrialState.FAIL, "seed 0: loss is nan")
    why = every_trial_failed(Setup, {"search": Stage(nan, Trial(TrialState.FAIL))})
    assert "none of its 2 trials completed" in why and "loss is nan" in why
    assert every_trial_failed(Setup, {"search": Stage(Trial(TrialState.FAIL), Trial(TrialState.COMPLETE))}) == ""
    assert every_trial_failed(Setup, {"search": Stage()}) == ""  # nothing ran yet (a timeout): not a failure


@pytest.mark.slow
def test_a_study_whose_every_run_diverged_exits_1(tmp_path):
    p = gr("study", "baselines", "--quick", "--dataset", "digits", "--seeds", "1", "--workers", "1",
           "--set", "lr=1e30", "--set", "vae_lr=1e30", "--set", "epochs=1", "--set", "vae_epochs=1",
           "--set", "vae_hidden=32,16", "--results", str(tmp_path))
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "none of its 4 trials completed" in p.stderr, p.stderr
    assert "loss is nan" in p.stderr and (tmp_path / "baselines-digits-quick" / "trials.csv").exists()
