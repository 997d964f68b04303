"""Malformed input, generated: every case is accepted and valid, or rejected with one line and exit 2.

Accepted cases go through --dry-run, which resolves and validates everything but trains nothing, so
hypothesis can try hundreds of them; nothing is written to the results folder either way. Every
example has a deadline: sizes are bounded (seeds, trials, workers, --set sizes) and a dry run counts
its plan instead of composing every trial's config, so no draw may stall.
"""

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gr_bench.cli import main
from gr_bench.config import FIELDS, ConfigError, RunConfig, with_overrides
from gr_bench.schedule import ScheduleError, parse_schedule

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
small_numberish = st.one_of(st.integers(-10**6, 10**6).map(str),
                            st.floats(allow_nan=True, allow_infinity=True).map(str),
                            st.sampled_from(["", "0", "-0", "1e309", "nan", "1,2", "1,,2", "0x10", " 3", "３"]), text)
schedules = st.one_of(
    st.builds(lambda k, v: f"{k}:{v}", st.sampled_from(["constant", "linear", "sqrt", "proportional", "manual", "x"]),
              small_numberish),
    text,
)
# The commands also get numbers past every bound (seeds, trials, workers, --set sizes) and past float's range.
numberish = st.one_of(small_numberish, st.integers(10**6, 10**400).map(str),
                      st.sampled_from(["10000", "10001", "100001", "2147483648", "0,2147483648"]))
field_names = st.one_of(st.sampled_from(sorted(FIELDS)), text)
set_pairs = st.lists(st.one_of(st.builds(lambda k, v: f"{k}={v}", field_names, numberish), text), max_size=4)
# A few seconds per example, on a loaded machine: a draw that composes unbounded work fails here.
SETTINGS = settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def warm(tmp_path_factory):
    """The first command imports torch, Optuna and the studies: seconds that are no example's own."""
    results = tmp_path_factory.mktemp("warm")
    for args in (["run", "--dry-run"], ["study", "baselines", "--dry-run"], ["study", "replay_schedule", "--dry-run"]):
        assert call([*args, "--results", str(results)])[0] == 0


def call(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def check(code: int, err: str) -> None:
    assert "Traceback" not in err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.startswith("gr-bench: error:") and err.count("\n") == 1, err
    else:
        assert err == "", err


@SETTINGS
@given(spec=schedules)
def test_schedule_parser(spec):
    try:
        s = parse_schedule(spec)
    except ScheduleError as e:
        assert "\n" not in str(e)
        return
    n_tasks = len(s.values) + 1 if s.kind == "manual" else 5
    assert all(n >= 0 for n in s.sizes(n_tasks, 800))  # accepted means every size is usable


@SETTINGS
@given(pairs=set_pairs)
def test_config_parser(pairs):
    try:
        cfg = with_overrides(RunConfig(), pairs)
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    assert cfg.train.lr > 0 and cfg.train.epochs > 0 and cfg.data.n_tasks > 0  # accepted means valid


@SETTINGS
@given(strategy=st.one_of(st.sampled_from(["none", "joint", "buffer", "generative"]), text),
       dataset=st.one_of(st.sampled_from(["auto", "mnist-5k", "digits", "fashion-mnist"]), text),
       schedule=schedules, buffer=numberish, tasks=numberish, pairs=set_pairs)
def test_run_command(tmp_path_factory, strategy, dataset, schedule, buffer, tasks, pairs):
    results = tmp_path_factory.mktemp("fuzz")
    args = ["run", "--dry-run", "--results", str(results), "--strategy", strategy, "--dataset", dataset,
            "--schedule", schedule, "--buffer", buffer, "--tasks", tasks]
    for p in pairs:
        args += ["--set", p]
    check(*call(args))
    assert list(results.iterdir()) == []


@SETTINGS
@given(name=st.one_of(st.sampled_from(["replay_schedule", "baselines", "memory", "lr"]), text),
       study_name=st.one_of(st.none(), st.sampled_from(["../x", "a/b", "..", "ok-name", "/etc"]), text),
       storage=st.one_of(st.none(), st.sampled_from(["sqlite:///x.db", "sqlite://rel", "mysql://u:p@h/d",
                                                     "postgresql://u:pw@127.0.0.1:1/d", ""]), text),
       trials=st.one_of(st.none(), numberish), seeds=st.one_of(st.none(), numberish),
       workers=st.one_of(st.none(), numberish), sequential=st.one_of(st.none(), numberish), pairs=set_pairs)
def test_study_command(tmp_path_factory, name, study_name, storage, trials, seeds, workers, sequential, pairs):
    results = tmp_path_factory.mktemp("fuzz")
    args = ["study", name, "--dry-run", "--results", str(results)]
    for flag, value in (("--study-name", study_name), ("--storage", storage), ("--trials", trials), ("--seeds", seeds),
                        ("--workers", workers), ("--sequential", sequential)):
        if value is not None:
            args += [flag, value]
    for p in pairs:
        args += ["--set", p]
    code, err = call(args)
    check(code, err)
    assert "pw@" not in err
    assert list(results.iterdir()) == []
