"""CONTRIBUTING.md's five paths, walked once each with a toy: a generator and a strategy as plug-in
files, a study as one file on $GR_BENCH_STUDIES, a statistical test as one @register_test function,
a figure as one @register_figure function. The toy study runs the toy strategy against generative
replay with the toy generator; its report draws the toy figure; `gr-bench compare --test` judges
the two with the toy test. Nothing in gr_bench/ is edited."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from gr_bench.cli import main

GENERATOR = '''
import torch
from gr_bench.models import Generator


class ClassMeans(Generator):
    """Each class's mean image plus a little noise: closed form, conditional."""
    closed_form = True
    conditional = True

    @classmethod
    def build(cls, cfg, *, input_dim, n_outputs):
        return cls(input_dim, n_outputs)

    def __init__(self, input_dim, n_outputs):
        self.means = torch.zeros(n_outputs, input_dim)
        self.fitted = torch.zeros(n_outputs, dtype=torch.bool)

    def fit(self, x, y, rng):
        for c in y.unique():
            self.means[c] = x[y == c].mean(0)
            self.fitted[c] = True

    def sample(self, n, generator, seen=None):
        classes = torch.nonzero(self.fitted).flatten()
        y = classes[torch.randint(len(classes), (n,), generator=generator)]
        x = self.means[y] + 0.05 * torch.randn(n, self.means.shape[1], generator=generator)
        return x.clamp(0, 1), y

    def memory_bytes(self):
        return int(self.means[self.fitted].numel() * 4)
'''

STRATEGY = '''
from gr_bench.strategies.base import NoMemory, ReplaySet, to_float


class LastTask(NoMemory):
    """Replays 50 images of the previous task."""
    stores_samples = True

    def __init__(self, cfg, bench):
        self.x = self.y = None

    def replay(self, task, rng):
        return None if self.x is None else ReplaySet(to_float(self.x), self.y)

    def after_task(self, task, classifier, rng):
        self.x, self.y = task.x_train[:50], task.y_train[:50]

    def memory_bytes(self):
        return 0 if self.x is None else self.x.numel() + self.y.numel()
'''

STUDY = '''
from gr_bench.orchestration import StudySpec

STUDY = StudySpec(name="toy", summary="a toy strategy against generative replay with a toy generator",
                  base={"dataset": "digits", "epochs": 1},
                  grid={"method": {"last-task": {"strategy": "toy_strategy:LastTask"},
                                   "class-means": {"strategy": "generative", "generator": "toy_generator:ClassMeans"}}},
                  anchor="class-means", seeds=3)
'''


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow  # a whole (tiny) study and its report: tens of seconds
def test_a_toy_of_each_through_its_one_place(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from gr_bench.report import figures
    from gr_bench.stats import TESTS, register_test

    plugins, studies = tmp_path / "plugins", tmp_path / "studies"
    plugins.mkdir(), studies.mkdir()
    (plugins / "toy_generator.py").write_text(GENERATOR)
    (plugins / "toy_strategy.py").write_text(STRATEGY)
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

    @register_test("toy-sign", paired=True, min_p=lambda n_a, n_b: min(1.0, 2.0 / 2.0 ** n_a))
    def toy_sign(a, b):
        from scipy import stats as st

        d = a - b
        wins, n = int((d > 0).sum()), int((d != 0).sum())
        return float(wins), float(st.binomtest(wins, n).pvalue) if n else 1.0

    try:
        code, _, err = cli("study", "toy", "--workers", "1", "--results", str(tmp_path / "r"))
        assert code == 0, err
        folder = tmp_path / "r" / "toy"
        runs = pd.read_csv(folder / "runs.csv")
        assert set(runs["label"]) == {"last-task", "class-means"} and (runs["status"] == "ok").all()
        assert set(runs["strategy"]) == {"toy_strategy:LastTask", "generative"}
        assert set(runs["generator"].dropna()) >= {"toy_generator:ClassMeans"}
        assert (runs.loc[runs["label"] == "last-task", "memory_bytes"] == 50 * 65).all()
        assert (folder / "plots" / "toy-bytes.png").is_file()
        assert "Bytes kept by each run (a toy figure)" in (folder / "report.md").read_text()

        code, out, err = cli("compare", "last-task", "class-means", "--study", str(folder), "--test", "toy-sign")
        assert code == 0, err
        assert "toy-sign" in out
        code, _, err = cli("compare", "last-task", "class-means", "--study", str(folder), "--test", "no-such")
        assert code == 2 and err.count("\n") == 1 and "unknown test 'no-such'" in err
    finally:
        figures.REGISTERED.pop("toy-bytes", None)
        TESTS.pop("toy-sign", None)
