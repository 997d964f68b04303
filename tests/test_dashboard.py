"""gr-bench dashboard: optuna-dashboard on a real study's storage, read over loopback; read-only;
Ctrl-C ends it with exit code 130; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import GR

pytest.importorskip("optuna_dashboard")  # the [dashboard] extra (.ci/run installs it)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    """gr-bench dashboard ARGS on a free port; (the process, the address it printed)."""
    p = subprocess.Popen([GR, "dashboard", *args, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "COLUMNS": "200"})
    line = p.stdout.readline()  # printed once the port is bound
    found = re.search(r"http://127\.0\.0\.1:\d+/dashboard/\S*", line)
    if not found:
        p.kill()
        pytest.fail(f"no address in {line!r}: {p.stderr.read()}")
    return p, found.group(0)


def test_the_dashboard_serves_a_studys_trials_over_loopback_and_stops_on_ctrl_c(baselines_study: Path):
    p, address = _start(str(baselines_study))
    try:
        base = address.split("/dashboard/")[0]
        studies = _get(f"{base}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == [baselines_study.name]
        study_id = studies[0]["study_id"]
        assert address == f"{base}/dashboard/studies/{study_id}"  # the study's own page
        study = _get(f"{base}/api/studies/{study_id}")
        runs = {(r["label"], int(r["seed"])): r for r in _csv(baselines_study / "runs.csv")}
        assert len(study["trials"]) == len(runs) > 0
        for t in study["trials"]:
            attrs = {a["key"]: a["value"] for a in t["user_attrs"]}
            run = runs[(attrs["label"], int(attrs["seed"]))]  # each trial names its run as runs.csv does
            assert attrs["stage"] == "search" and t["state"] == "Complete"
            assert not [k for k in attrs if k.startswith("run:")]  # the runs' full records are not shown
            assert float(attrs["final_avg_acc"]) == pytest.approx(float(run["final_avg_acc"]))
            assert float(attrs["cpu_s"]) == pytest.approx(float(run["cpu_s"]), abs=1e-3)
        # read-only: a request that would change the storage is refused, and the study is still there
        request = urllib.request.Request(f"{base}/api/studies/{study_id}", method="DELETE")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 405
        assert len(_get(f"{base}/api/studies")["study_summaries"]) == 1
    finally:
        p.send_signal(signal.SIGINT)  # Ctrl-C
        code = p.wait(timeout=30)
    assert code == 130 and p.stderr.read().strip() == "gr-bench: interrupted"


def _csv(path: Path) -> list[dict]:
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


def test_a_port_in_use_is_one_line_exit_2(baselines_study: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = subprocess.run([GR, "dashboard", str(baselines_study), "--port", str(port)], capture_output=True,
                           text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr == f"gr-bench: error: port {port} on 127.0.0.1 is in use: pass another --port\n"


@pytest.mark.parametrize("args, needle", [
    (["nosuch"], "no study database at"),
    (["--port", "70000"], "--port must be 0 to 65535"),
])
def test_bad_input_is_one_line_exit_2(args, needle, tmp_path, capsys):
    from gr_bench.cli import main

    assert main(["dashboard", *args, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err


def test_no_study_and_a_shipped_folder_are_one_line_exit_2(tmp_path, capsys):
    from gr_bench.cli import main

    assert main(["dashboard", "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"gr-bench: error: no study database under {tmp_path}/: name a study or its "
                                       "folder, or pass --storage URL\n")
    shipped = Path(__file__).resolve().parents[1] / "results" / "replay_schedule"
    assert main(["dashboard", str(shipped)]) == 2
    err = capsys.readouterr().err
    assert "holds a shipped study's rows, not its storage" in err and err.count("\n") == 1


def test_without_optuna_dashboard_it_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    from gr_bench.cli import main

    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # as if the extra were not installed
    assert main(["dashboard", "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("gr-bench: error: gr-bench dashboard needs optuna-dashboard: "
                                       "pip install -e '.[dashboard]'\n")


def test_without_a_study_it_opens_the_one_written_last(baselines_study: Path):
    p, address = _start("--results", str(baselines_study.parent))
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/dashboard/studies/\d+", address)
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 130


@pytest.mark.slow  # Chromium loads and renders the dashboard: tens of seconds
def test_a_screenshot_in_headless_chromium_shows_the_studys_trials(baselines_study: Path, tmp_path):
    import matplotlib.image

    from scripts.dashboard_screenshot import chromium, main

    if chromium() is None:
        pytest.skip("no Chromium (apt-get install chromium)")
    out = tmp_path / "dashboard.png"
    assert main(["--study", str(baselines_study), "--out", str(out)]) == 0
    image = matplotlib.image.imread(out)[..., :3]  # rows x columns x RGB in [0, 1]
    assert image.shape[:2] == (1000, 1400)
    trials, detail = image[100:900, 70:250], image[280:700, 280:1380]  # the trial list; the open trial's fields
    for area in (trials, detail):
        assert (area.mean(axis=2) < 0.5).mean() > 0.005  # text, not an empty page
