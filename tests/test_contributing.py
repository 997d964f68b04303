"""CONTRIBUTING.md's five paths, walked once each with a toy: a generator and a strategy as plug-in
files, a study as one file on $GR_BENCH_STUDIES, a statistical test as one @register_test function,
a figure as one @register_figure function. The toy study runs the toy strategy against generative
replay with the toy generator; its report draws the toy figure; `gr-bench compare --test` judges
the two with the toy test. Nothing in gr_bench/ is edited."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.test_plugins import LAST_TASK, cli, fitted
from tests.test_stats import sign, sign_min_p

STUDY = '''
from gr_bench.orchestration import StudySpec

STUDY = StudySpec(name="toy", summary="a toy strategy against generative replay with a toy generator",
                  base={"dataset": "digits", "epochs": 1},
                  grid={"method": {"last-task": {"strategy": "toy_strategy:LastTask"},
                                   "toy-generator": {"strategy": "generative", "generator": "toy_generator:G"}}},
                  anchor="toy-generator", seeds=3)
'''


@pytest.mark.slow  # a whole (tiny) study and its report: tens of seconds
def test_a_toy_of_each_through_its_one_place(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from gr_bench.report import figures
    from gr_bench.stats import TESTS, register_test

    plugins, studies = tmp_path / "plugins", tmp_path / "studies"
    plugins.mkdir(), studies.mkdir()
    (plugins / "toy_generator.py").write_text(fitted())
    (plugins / "toy_strategy.py").write_text(LAST_TASK)
    (studies / "toy.py").write_text(STUDY)
    monkeypatch.setenv("GR_BENCH_PLUGINS", str(plugins))
    monkeypatch.setenv("GR_BENCH_STUDIES", str(studies))

    @figures.register_figure("toy-bytes")
    def toy_bytes(rows, result):
        runs = rows.runs[rows.runs["status"] == "ok"]

        def draw():
            fig, ax = plt.subplots()
            ax.bar(runs["label"], runs["memory_bytes"].astype(float))
            return fig

        return ("Bytes kept by each run (a toy figure)", draw) if len(runs) else None

    register_test("toy-sign", paired=True, min_p=sign_min_p)(sign)  # a decorator, applied as one

    try:
        code, _, err = cli("study", "toy", "--workers", "1", "--results", str(tmp_path / "r"))
        assert code == 0, err
        folder = tmp_path / "r" / "toy"
        runs = pd.read_csv(folder / "runs.csv")
        assert set(runs["label"]) == {"last-task", "toy-generator"} and (runs["status"] == "ok").all()
        assert set(runs["strategy"]) == {"toy_strategy:LastTask", "generative"}
        assert set(runs["generator"].dropna()) >= {"toy_generator:G"}
        assert (runs.loc[runs["label"] == "last-task", "memory_bytes"] == 50 * 65).all()
        assert (folder / "plots" / "toy-bytes.png").is_file()
        assert "Bytes kept by each run (a toy figure)" in (folder / "report.md").read_text()

        code, out, err = cli("compare", "last-task", "toy-generator", "--study", str(folder), "--test", "toy-sign")
        assert code == 0, err
        assert "toy-sign" in out
        code, _, err = cli("compare", "last-task", "toy-generator", "--study", str(folder), "--test", "no-such")
        assert code == 2 and err.count("\n") == 1 and "unknown test 'no-such'" in err
    finally:
        figures.REGISTERED.pop("toy-bytes", None)
        TESTS.pop("toy-sign", None)
