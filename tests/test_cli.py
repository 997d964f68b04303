"""The command line: real runs on tiny real data, and bad input -> one line, exit code 2."""

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gr_bench.cli import main

FAST = ["--dataset", "digits", "--preset", "quick", "--set", "vae_hidden=32,16", "--schedule", "constant:100", "--quiet"]


def test_run_writes_a_run_folder(tmp_path, capsys):
    assert main(["run", "--strategy", "generative", *FAST, "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Accuracy matrix" in out and "Summary" in out and "dataset: digits" in out
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("run-")]
    summary = list(csv.DictReader(open(folder / "summary.csv")))
    assert len(summary) == 1 and summary[0]["strategy"] == "generative" and summary[0]["dataset"] == "digits"
    assert 0 <= float(summary[0]["final_avg_acc"]) <= 1 and int(summary[0]["memory_bytes"]) > 0
    acc = list(csv.DictReader(open(folder / "accuracy.csv")))
    assert set(acc[0]) == {"after_task", "eval_task", "epoch", "acc"}
    assert len(acc) == 5 + 5 * 3 * 5  # untrained model + every task after every epoch of every task
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in ("config", "versions", "git_sha", "host", "threads", "dataset", "seed"):
        assert key in manifest
    assert manifest["dataset"] == "digits" and manifest["threads"] == 1
    # a second run never overwrites the first
    assert main(["run", "--strategy", "none", *FAST, "--results", str(tmp_path)]) == 0
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("run-")]) == 2


def test_memory_prints_table_1(capsys):
    assert main(["memory", "--preset", "seed"]) == 0
    out = capsys.readouterr().out
    for text in ("44,860", "1,068,820", "1,113,680", "0.17", "4.08", "4.25", "5,682"):
        assert text in out
    assert main(["memory", "--preset", "seed", "--set", "latent=8"]) == 0


def test_datasets_lists_all(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "mnist-5k", "digits"):
        assert name in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "--strategy", "bogus"], "strategy"),
        (["run", "--dataset", "imagenet"], "imagenet"),
        (["run", "--scenario", "online"], "scenario"),
        (["run", "--schedule", "linear:abc"], "schedule"),
        (["run", "--schedule", "manual:1,2"], "manual"),
        (["run", "--tasks", "3"], "n_tasks"),
        (["run", "--tasks", "0"], "n_tasks"),
        (["run", "--buffer", "-5"], "buffer"),
        (["run", "--set", "lr=-0.1"], "lr"),
        (["run", "--set", "nonsense"], "NAME=VALUE"),
        (["run", "--seed", "x"], "seed"),
        (["run", "--preset", "huge"], "preset"),
        (["memory", "--preset", "huge"], "preset"),
        (["memory", "--input-dim", "0"], "input_dim"),
        (["nosuchcommand"], "nosuchcommand"),
        (["compare", "a", "b", "--study", "s", "--metric", "threads"], "final_avg_acc"),
        (["compare", "a", "b", "--study", "s", "--alpha", "2"], "alpha"),
        (["compare", "a", "b", "--study", "s", "--min-effect", "-1"], "min-effect"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys, tmp_path):
    assert main([*args, "--results", str(tmp_path)] if args[0] == "run" else args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gr-bench: error:") and needle in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written by a rejected command


def test_unwritable_results_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", *FAST, "--results", str(blocker / "sub")]) == 2
    assert "not writable" in capsys.readouterr().err


def _write_idx(path, magic_dims, payload):
    header = bytes([0, 0, 8, len(magic_dims)]) + b"".join(d.to_bytes(4, "big") for d in magic_dims)
    path.write_bytes(gzip.compress(header + payload))


def test_corrupt_idx_is_one_line_naming_the_file(tmp_path, capsys):
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", [10, 28, 28], b"\0" * 100)  # truncated
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", [10], b"\0" * 10)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", [2, 28, 28], b"\0" * 2 * 784)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", [2], b"\0" * 2)
    out = tmp_path / "out"
    assert main(["run", "--dataset", "mnist", "--data-dir", str(tmp_path), "--results", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train-images-idx3-ubyte.gz" in err and "truncated" in err


def test_console_entry_points_exit_2_without_traceback():
    script = Path(sys.executable).parent / "gr-bench"  # the console script installed beside this python
    for cmd in ([sys.executable, "-m", "gr_bench"], [str(script)]):
        p = subprocess.run([*cmd, "run", "--strategy", "nope"], capture_output=True, text=True)
        assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1, p.stderr


# --- refused before any work: sizes, --data-dir, --results, mistyped study names ---------------------

def _err(capsys, args) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["run", "--dry-run", "--set", "epochs=1000000"], "epochs must be at most 100,000"),
    (["run", "--dry-run", "--set", "batch_size=10000000000"], "batch_size"),
    (["run", "--dry-run", "--buffer", "100000000000"], "buffer"),
    (["run", "--dry-run", "--tasks", "1000000"], "n_tasks"),
    (["run", "--dry-run", "--seed", "2147483648"], "seed"),
    (["run", "--dry-run", "--set", "epochs=" + "9" * 400], "400-digit"),  # past float's range: no OverflowError
    (["run", "--dry-run", "--schedule", "constant:" + "9" * 400], "sizes must be at most"),
    (["run", "--dry-run", "--schedule", "constant:1000000000"], "replay samples"),
    (["run", "--dry-run", "--set", "hidden=100000,100000"], "parameters"),
    (["memory", "--set", "vae_hidden=100000,100000"], "parameters"),  # refused before a model is built
    (["memory", "--input-dim", "100000000000"], "input_dim"),
    (["study", "baselines", "--dry-run", "--seeds", "1000000"], "--seeds gives at most 10,000"),
    (["study", "baselines", "--dry-run", "--seeds", ",".join(map(str, range(10001)))], "--seeds gives at most"),
    (["study", "baselines", "--dry-run", "--seeds", "0,2147483648"], "below 2**31"),
    (["study", "replay_schedule", "--dry-run", "--trials", "1000000"], "--trials must be at most 100,000"),
    (["study", "baselines", "--dry-run", "--workers", "1000"], "--workers must be at most 256"),
    (["study", "baselines", "--dry-run", "--sequential", "1000000"], "--sequential must be at most 10,000"),
])
def test_absurd_sizes_are_refused_in_one_line(args, needle, capsys, tmp_path):
    code, err = _err(capsys, [*args, "--results", str(tmp_path)] if args[0] != "memory" else args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("gr-bench: error:") and needle in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_dry_run_counts_its_plan_without_composing_it(capsys, tmp_path):
    import time

    main(["study", "baselines", "--dry-run", "--results", str(tmp_path)])  # imports, once
    capsys.readouterr()
    start = time.perf_counter()
    assert main(["study", "baselines", "--dry-run", "--seeds", "10000", "--results", str(tmp_path)]) == 0
    assert time.perf_counter() - start < 20  # was one composed config per grid point and seed
    assert "plan: 40000 grid trials" in capsys.readouterr().out


@pytest.mark.parametrize("command", [
    ["run", "--dataset", "mnist"], ["run", "--dataset", "digits", "--dry-run"], ["bench", "--dataset", "digits"],
    ["study", "baselines", "--dataset", "mnist"], ["datasets"],
])
def test_a_data_dir_that_holds_nothing_is_refused(command, capsys, tmp_path):
    results = ["--results", str(tmp_path / "r")] if command[0] != "datasets" else []
    code, err = _err(capsys, [*command, "--data-dir", "/nonexistent/dir", *results])
    assert code == 2 and err.count("\n") == 1 and "'/nonexistent/dir' does not exist" in err, err
    (tmp_path / "empty").mkdir()
    code, err = _err(capsys, [*command, "--data-dir", str(tmp_path / "empty"), *results])
    assert code == 2 and err.count("\n") == 1 and "holds no dataset files" in err, err
    assert not (tmp_path / "r").exists()


def test_datasets_fetch_may_create_its_data_dir(monkeypatch, capsys, tmp_path):
    import gr_bench.fetch

    def fake_fetch(name, data_dir, **kwargs):
        return {"fetched": True, "folder": str(data_dir), "source": "test"}

    monkeypatch.setattr(gr_bench.fetch, "fetch", fake_fetch)
    assert main(["datasets", "fetch", "mnist", "--data-dir", str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "fetched into" in out or "already present" in out, out  # not refused: fetch makes the folder


@pytest.mark.parametrize("command", [["run", *FAST], ["study", "baselines", "--quick", "--dataset", "digits"],
                                     ["bench", "--dataset", "digits"], ["report", "baselines-quick"],
                                     ["export", "baselines-quick"], ["compare", "a", "b", "--study", "baselines-quick"]])
def test_results_that_is_a_file_is_refused_first(command, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = _err(capsys, [*command, "--results", str(blocker)])
    assert code == 2 and err.count("\n") == 1 and "is a file, not a folder" in err, err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("command", [["report"], ["export"], ["compare", "a", "b", "--study"]])
def test_a_mistyped_study_names_the_closest(command, capsys, tmp_path):
    (tmp_path / "replay_schedule").mkdir()
    (tmp_path / "replay_schedule" / "study.db").write_bytes(b"")  # a study folder (not opened)
    code, err = _err(capsys, [*command, "replay_schedul", "--results", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "did you mean 'replay_schedule'" in err, err
    code, err = _err(capsys, [*command, "xyzzy", "--results", str(tmp_path)])
    assert code == 2 and "did you mean" not in err and "pass --storage" in err, err


def test_study_names_the_closest_too(capsys):
    code, err = _err(capsys, ["study", "replay_schedul"])
    assert code == 2 and err.count("\n") == 1 and "did you mean 'replay_schedule'" in err, err


# --- a log is whole: no width limit when stdout is not a terminal, no cell ever cut --------------------

LONG_LABEL = "buffer-equal-bytes-" + "x" * 181  # 200 columns, one word


def test_a_log_gets_every_label_and_sentence_whole(tmp_path):
    """stdout redirected to a file, no $COLUMNS: a 200-column table cell and a 300-column sentence each
    come out whole on one line (they were cut at 120 columns: 'buffer-equal-b…', a URL split)."""
    code = ("from gr_bench.cli.common import console; from gr_bench.report.tables import Table; "
            "t = Table(title='Best configurations'); t.add_column('configuration'); t.add_column('n'); "
            f"t.add_row({LONG_LABEL!r}, '3'); console.print(t); "
            "console.print('storage sqlite:///' + 'a-long-folder/' * 20 + 'study.db')")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    with open(tmp_path / "log.txt", "w") as log:
        subprocess.run([sys.executable, "-c", code], stdout=log, env=env, check=True, timeout=120)
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert any(LONG_LABEL in line and "│ 3 " in line for line in lines), lines
    assert "storage sqlite:///" + "a-long-folder/" * 20 + "study.db" in lines
    assert "…" not in "".join(lines)


def test_the_width_is_unlimited_off_a_terminal_and_columns_wins(monkeypatch):
    import io

    from rich.console import Console

    from gr_bench.cli.common import UNLIMITED, _width
    from gr_bench.report import study_tables

    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()  # not a terminal
    assert _width(out) == UNLIMITED
    monkeypatch.setenv("COLUMNS", "90")
    assert _width(out) == 90
    import pandas as pd

    runs = pd.DataFrame([{"label": LONG_LABEL, "config_id": "c1", "settings": "", "status": "ok", "final_avg_acc": 0.5,
                          "avg_forgetting": 0.1, "time_total_s": 2.0, "memory_bytes": 2**20}])
    monkeypatch.delenv("COLUMNS")
    wide = Console(file=out, width=_width(out))
    wide.print(study_tables.grid_table(runs, "A study"))
    assert any(LONG_LABEL in line for line in out.getvalue().splitlines())
    narrow = io.StringIO()  # a narrow terminal's width: the cell folds over lines, it is never cut
    Console(file=narrow, width=80).print(study_tables.grid_table(runs, "A study"))
    assert "…" not in narrow.getvalue()
    cells = "".join(line.split("│")[1].strip() for line in narrow.getvalue().splitlines() if line.startswith("│"))
    assert LONG_LABEL in cells
