"""One study shared by two processes through a real PostgreSQL server on loopback.

The module fixture starts its own throwaway PostgreSQL (initdb + pg_ctl in a fresh temporary
directory); without the PostgreSQL binaries the tests are skipped (CI's .ci/run installs them).
PostgreSQL refuses to run as root, so as root the server runs as the Debian `postgres` user.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GR = str(Path(sys.executable).parent / "gr-bench")
ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD, DB = "grbench", "s3cret-pw", "grbench"
STUDY = "replay_schedule-digits-quick"  # the default study name of `gr-bench study replay_schedule --quick --dataset digits`
SEARCH_TRIALS = 4
FINISHED_STATES = ("COMPLETE", "PRUNED", "FAIL")


def _pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's versioned folder (newest first), else PATH."""
    def version(folder: str) -> tuple:
        return tuple(int(x) if x.isdigit() else -1 for x in Path(folder).parent.name.split("."))

    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(Path(folder) / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    """postgresql://grbench:s3cret-pw@127.0.0.1:PORT/grbench on a server that lives for this module."""
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install 'gr-bench[postgres]')")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on PATH; "
                    "install the postgresql package")
    owner = None
    wrap = lambda argv: argv  # noqa: E731
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the `postgres` system user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` system user to run PostgreSQL as")
        if shutil.which("runuser"):
            wrap = lambda argv: ["runuser", "-u", "postgres", "--", *argv]  # noqa: E731
        elif shutil.which("su"):
            wrap = lambda argv: ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]  # noqa: E731
        else:
            pytest.skip("running as root and neither runuser nor su is available to run PostgreSQL as `postgres`")

    # Not pytest's tmp_path: /tmp/pytest-of-root is 0700, so the postgres user could not reach it.
    top = Path(tempfile.mkdtemp(prefix="grbench-pg-", dir="/tmp"))
    data, sock, log, pwfile = top / "data", top / "sock", top / "server.log", top / "pwfile"
    sock.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    if owner is not None:
        for p in (top, sock, pwfile):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    os.chmod(top, 0o700)
    port = _free_port()

    def pg(*cmd: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        argv = wrap([str(bindir / cmd[0]), *cmd[1:]])
        return subprocess.run(argv, cwd=top, capture_output=True, text=True, timeout=timeout, **kw)

    def check(r: subprocess.CompletedProcess, what: str) -> None:
        if r.returncode != 0:
            server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"{what} failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}\n{server_log}")

    started = False
    try:
        check(pg("initdb", "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync"), "initdb")
        opts = f"-p {port} -k {sock} -h 127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        # A session of its own: a Ctrl-C in pytest does not reach the server, the teardown stops it.
        started = True  # from here on, the teardown stops whatever got started
        check(pg("pg_ctl", "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start",
                 timeout=90, start_new_session=True), "pg_ctl start")
        check(pg("createdb", "-h", str(sock), "-p", str(port), "-U", USER, DB), "createdb")
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DB}"
    finally:
        if started:
            try:
                pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
            except subprocess.TimeoutExpired:
                pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop", timeout=30)
        shutil.rmtree(top, ignore_errors=True)


def _children(pids: list[int]) -> dict[int, int]:
    """Live processes whose parent is one of pids, as {child pid: parent pid} (Linux /proc)."""
    out = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])  # after "pid (comm) state": the parent pid
        if ppid in pids:
            out[int(stat.split("/")[2])] = ppid
    return out


def test_two_processes_share_one_study(pg_url, tmp_path):
    import optuna
    from optuna.trial import TrialState

    from gr_bench.storage import open_storage, redact

    args = ["study", "replay_schedule", "--quick", "--storage", pg_url, "--workers", "1",
            "--trials", str(SEARCH_TRIALS), "--seeds", "1", "--dataset", "digits"]
    procs, logs, results = [], [], []
    for tag in ("A", "B"):
        res = tmp_path / f"results-{tag}"
        out, err = open(tmp_path / f"{tag}.out", "w"), open(tmp_path / f"{tag}.err", "w")
        results.append(res)
        logs.append((tmp_path / f"{tag}.out", tmp_path / f"{tag}.err"))
        procs.append(subprocess.Popen([GR, *args, "--results", str(res)], stdout=out, stderr=err, cwd=ROOT))
        out.close(), err.close()

    # While they run, note each process's children: every trial records its worker's pid, and the
    # workers are children of the two commands (a fresh worker per stage).
    owner: dict[int, int] = {}
    deadline = time.time() + 240
    while any(p.poll() is None for p in procs) and time.time() < deadline:
        owner.update(_children([p.pid for p in procs]))
        time.sleep(0.2)
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)

    def show(i: int) -> str:
        return f"--- process {'AB'[i]} stdout:\n{logs[i][0].read_text()}\n--- stderr:\n{logs[i][1].read_text()}"

    for i, p in enumerate(procs):
        assert p.returncode == 0, f"process {'AB'[i]} exited {p.returncode} (240 s limit)\n{show(i)}"

    storage = open_storage(pg_url)
    search = optuna.load_study(study_name=STUDY, storage=storage)
    final = optuna.load_study(study_name=f"{STUDY}:final", storage=storage)
    stages = {"search": search, "final": final}

    # Exact budgets: every enqueued trial ran once, nothing left waiting or running, no surplus.
    assert search.user_attrs["budget"] == SEARCH_TRIALS
    for stage, study in stages.items():
        trials = study.get_trials(deepcopy=False)
        states = [t.state.name for t in trials]
        assert all(s in FINISHED_STATES for s in states), f"{stage}: {states}"
        assert len(trials) == study.user_attrs["budget"], f"{stage}: {len(trials)} trials, budget {study.user_attrs['budget']}"
        numbers = [t.number for t in trials]
        assert sorted(numbers) == list(range(len(trials))), f"{stage}: trial numbers {numbers}"
        for t in trials:
            assert "worker" in t.user_attrs, f"{stage} trial {t.number} has no worker"
            runs = [k for k in t.user_attrs if k.startswith("run:")]
            if t.state == TrialState.COMPLETE:  # one seed per trial in both stages here
                assert len(runs) == 1, f"{stage} trial {t.number}: runs {runs}"
    assert final.user_attrs["budget"] > 0 and len(final.user_attrs["final_configs"]) > 0
    # The two commands' samplers must differ: the same proposal twice is a wasted trial.
    proposals = [json.dumps(t.params, sort_keys=True) for t in search.get_trials(deepcopy=False)]
    assert len(set(proposals)) == len(proposals), f"search trials with identical parameters: {proposals}"

    # Both processes worked: each trial's worker is a child of one of the two commands.
    workers = {stage: [t.user_attrs["worker"] for t in st.get_trials(deepcopy=False)] for stage, st in stages.items()}
    host = socket.gethostname()
    pids = {stage: {int(w.rsplit(":", 1)[1]) for w in ws} for stage, ws in workers.items()}
    assert all(w.rsplit(":", 1)[0] == host for ws in workers.values() for w in ws), workers
    for stage, ps in pids.items():  # one worker process per command per stage
        assert 1 <= len(ps) <= 2, f"{stage}: workers {workers[stage]}"
    all_pids = pids["search"] | pids["final"]
    assert Path("/proc").is_dir(), "this test maps worker pids to their command through Linux's /proc"
    unknown = all_pids - set(owner)
    assert not unknown, f"worker pids {sorted(unknown)} are not children of either command ({owner})"
    by_process = {p.pid: sum(owner[int(w.rsplit(':', 1)[1])] == p.pid for ws in workers.values() for w in ws)
                  for p in procs}
    assert all(n > 0 for n in by_process.values()), f"trials per command: {by_process}; workers {workers}"

    # The password is never shown: not in output, not in exported files, not in the storage's attributes.
    redacted = redact(pg_url)
    assert PASSWORD not in redacted and "***" in redacted
    for i in range(2):
        for path in logs[i]:
            text = path.read_text()
            assert PASSWORD not in "".join(text.split()), f"password in {path.name}\n{show(i)}"
        folder = results[i] / STUDY
        for name in ("trials.csv", "runs.csv", "accuracy.csv", "manifest.json"):
            assert (folder / name).is_file(), f"missing {folder / name}"
        for path in results[i].rglob("*"):
            if path.is_file():
                assert PASSWORD not in path.read_text(errors="replace"), f"password in {path}"
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["storage"] == redacted
        assert set(manifest["stages"]) == {"search", "final"}
        assert manifest["hosts"] == [host]
    for study in stages.values():
        attrs = json.dumps([study.user_attrs, storage.get_study_system_attrs(study._study_id),
                            [(t.user_attrs, t.system_attrs) for t in study.get_trials(deepcopy=False)]], default=str)
        assert PASSWORD not in attrs


def test_unreachable_storage_is_one_line_exit_2(tmp_path):
    url = "postgresql://nobody:pw@127.0.0.1:1/none"  # port 1 on loopback: refused at once
    start = time.time()
    r = subprocess.run([GR, "study", "replay_schedule", "--quick", "--storage", url, "--workers", "1",
                        "--dataset", "digits", "--results", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gr-bench: error:"), r.stderr
    for text in (r.stdout, r.stderr):
        assert "pw@" not in text and "nobody:pw" not in text, text
    assert "postgresql://nobody:***@127.0.0.1:1/none" in r.stderr
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pass
    else:  # with the driver installed, the error must be the refused connection, not a missing driver
        assert "cannot open storage" in r.stderr and "needs a driver" not in r.stderr, r.stderr
    assert time.time() - start < 60
