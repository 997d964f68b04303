"""The three scenarios as van de Ven & Tolias (2019) ran them, on constructed and tiny real data
(sklearn digits): task-IL's one head per task in training, replay and evaluation; domain-IL's one
shared 2-way head and within-task labels; each scenario's published column; and a study, a report
or a comparison never mixing scenarios."""

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gr_bench.config import preset, with_overrides
from gr_bench.data import load_dataset, make_benchmark
from gr_bench.fitting import classifier_loss
from gr_bench.models import head_log_softmax
from gr_bench.orchestration import Setup, StudyError, default_study_name, get_spec, spec_fingerprint
from gr_bench.orchestration.spec import StudySpec, _check_one_scenario
from gr_bench.report.rebuild import rebuild
from gr_bench.report.scenarios import one_scenario
from gr_bench.report.shipped import load
from gr_bench.report.two_configs import compare_runs
from gr_bench.strategies.generative import GenerativeReplay
from gr_bench.trainer import Evaluator

from conftest import GR

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _heads(order: list[int]) -> torch.Tensor:
    """Task masks of 5 two-class tasks over `order` (as make_benchmark builds them)."""
    heads = torch.zeros(5, 10, dtype=torch.bool)
    for t in range(5):
        heads[t, order[2 * t : 2 * t + 2]] = True
    return heads


class Constant(nn.Module):
    """A classifier that gives every image the same logits."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("v", logits.float())

    def forward(self, x):
        return self.v.expand(len(x), -1)


# --- task-IL: one head per task ----------------------------------------------------------------

def test_head_log_softmax_normalises_each_head_alone():
    heads = _heads([3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    logits = torch.randn(6, 10, generator=torch.Generator().manual_seed(0)) * 5
    got = head_log_softmax(logits, heads)
    for head in heads:
        assert torch.allclose(got[:, head], logits[:, head].log_softmax(1), atol=1e-6)
        assert torch.allclose(got[:, head].exp().sum(1), torch.ones(6))


def test_task_il_evaluation_never_answers_through_another_tasks_head(digits):
    # Logits rising with the class id: the global argmax is always 9, a class of the last task only.
    model = Constant(torch.arange(10.0))
    task_il = Evaluator(make_benchmark(digits, scenario="task"), "test", torch.device("cpu"))(model)
    class_il = Evaluator(make_benchmark(digits, scenario="class"), "test", torch.device("cpu"))(model)
    for t, task in enumerate(make_benchmark(digits, scenario="task").tasks):
        # given the task, the answer is its higher class: exactly that class's share of the task
        share = float((task.y_test == max(task.classes)).double().mean())
        assert task_il[t] == pytest.approx(share) and 0.4 < share < 0.6  # chance, never below it
    assert class_il[:4] == [0.0] * 4 and class_il[4] > 0.4  # one head: every task but the last answered 9


def test_task_il_loss_scores_a_label_within_its_head_and_averages_a_target_over_heads():
    heads = _heads([3, 7, 0, 9, 1, 4, 8, 2, 6, 5])
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(1))
    loss = classifier_loss(heads)
    y = torch.tensor([7, 0, 4, 5])  # classes of tasks 0, 1, 2, 4
    within = [(t, heads[t].nonzero().flatten().tolist().index(int(c))) for t, c in zip([0, 1, 2, 4], y)]
    by_hand = torch.stack([F.cross_entropy(logits[i, heads[t]][None], torch.tensor([k]))
                           for i, (t, k) in enumerate(within)]).mean()
    model = _Fixed(logits)
    assert float(loss(model, None, y, None, None)) == pytest.approx(float(by_hand), rel=1e-5)
    # a replayed sample labelled under heads 0 and 1 (van de Ven's train_a_batch: the replay loss is
    # the mean over earlier tasks of each task's cross-entropy within its own head), at temperature 2
    soft = torch.zeros(4, 10)
    for h in (0, 1):
        soft[:, heads[h]] = (logits[:, heads[h]] / 2).softmax(1)
    tau = torch.full((4,), 2.0)
    per_head = [(-(soft[:, heads[h]] * (logits[:, heads[h]] / 2).log_softmax(1)).sum(1) * 4).mean() for h in (0, 1)]
    assert float(loss(model, None, y, soft, tau)) == pytest.approx(float(sum(per_head) / 2), rel=1e-5)


class _Fixed(nn.Module):
    """Returns the given logits whatever the input."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits


def _replay_after(bench, labels: str, tasks: int) -> tuple[GenerativeReplay, nn.Module]:
    """Generative replay after `tasks` tasks, labelled by a fixed random classifier."""
    torch.manual_seed(0)
    cfg = with_overrides(preset("vandeven2019"), {"scenario": bench.scenario, "labels": labels,
                                                  "vae_hidden": (16,), "latent": 4})
    strategy = GenerativeReplay(cfg, bench)
    classifier = nn.Linear(bench.input_dim, bench.n_outputs)
    for task in bench.tasks[:tasks]:
        strategy.after_task(task, classifier, torch.Generator().manual_seed(0))
    return strategy, classifier


@pytest.mark.parametrize("labels", ["hard", "soft"])
def test_task_il_replay_is_labelled_under_every_earlier_head(digits, labels):
    bench = make_benchmark(digits, scenario="task", class_order="permuted", seed=4)
    heads = bench.task_masks()
    strategy, classifier = _replay_after(bench, labels, tasks=3)
    r = strategy.fresh_replay(64, torch.Generator().manual_seed(1))
    logits = classifier(r.x).detach()
    assert r.soft.shape == (64, 10) and r.temperature == (2.0 if labels == "soft" else 1.0)
    for t in range(5):
        part = r.soft[:, heads[t]]
        if t >= 3:  # tasks not yet seen: no target at all
            assert not part.any()
        elif labels == "hard":  # one-hot at the old classifier's argmax within this head
            assert torch.equal(part.argmax(1), logits[:, heads[t]].argmax(1))
            assert torch.equal(part.sum(1), torch.ones(64))
        else:  # its softmax within this head, at the temperature
            assert torch.allclose(part, (logits[:, heads[t]] / 2).softmax(1), atol=1e-6)
    # one label for what reads one: the argmax over every seen output
    seen = heads[:3].any(0)
    assert torch.equal(r.y, logits.masked_fill(~seen, float("-inf")).argmax(1))


# --- domain-IL: one shared 2-way head ----------------------------------------------------------

def test_domain_il_labels_are_the_class_within_its_task(digits):
    bench = make_benchmark(digits, scenario="domain", class_order="permuted", seed=2)
    assert bench.n_outputs == 2
    for task in bench.tasks:
        original = digits.y_test[torch.isin(digits.y_test, torch.tensor(task.classes))]
        assert torch.equal(task.y_test, torch.tensor([task.classes.index(int(c)) for c in original]))
    # evaluation over both outputs for every task: a constant "1" scores each task's second class's share
    accs = Evaluator(bench, "test", torch.device("cpu"))(Constant(torch.tensor([0.0, 1.0])))
    assert accs == pytest.approx([float((t.y_test == 1).double().mean()) for t in bench.tasks])


@pytest.mark.parametrize("labels", ["hard", "soft"])
def test_domain_il_replay_is_labelled_over_both_outputs(digits, labels):
    bench = make_benchmark(digits, scenario="domain")
    strategy, classifier = _replay_after(bench, labels, tasks=1)
    r = strategy.fresh_replay(32, torch.Generator().manual_seed(1))
    logits = classifier(r.x).detach()
    assert torch.equal(r.y, logits.argmax(1))  # after the first task, both outputs are seen
    if labels == "soft":
        assert torch.allclose(r.soft, (logits / 2).softmax(1), atol=1e-6)
    else:
        assert r.soft is None


# --- the reference study in each scenario ------------------------------------------------------

def test_reference_gives_each_scenario_its_own_published_column():
    spec = get_spec("reference")
    task, domain, own = spec.in_scenario("task"), spec.in_scenario("domain"), spec.in_scenario("class")
    assert {k: v["mean"] for k, v in task.published.items()} == {
        "none": 87.19, "joint": 99.66, "dgr": 99.50, "dgr-distill": 99.61}
    assert {k: v["sem"] for k, v in domain.published.items()} == {
        "none": 2.04, "joint": 0.06, "dgr": 0.25, "dgr-distill": 0.20}
    assert own.published == spec.published and own.published["dgr"]["mean"] == 90.79
    assert "task-IL" in task.summary and "domain-IL" in domain.summary
    # naming other scenarios leaves the class-IL definition (and so its stored fingerprint) as it was
    assert spec_fingerprint(own) == spec_fingerprint(dataclasses.replace(spec, scenarios=None))
    assert len({spec_fingerprint(s) for s in (task, domain, own)}) == 3
    # a study run outside its own scenario, with no figures for it, has none
    assert get_spec("memory").in_scenario("domain").published is None


def test_a_study_runs_in_one_scenario():
    base = StudySpec(name="x", summary="x", base={}, grid={"m": {"a": {"strategy": "none"}}})
    _check_one_scenario(base)
    with pytest.raises(StudyError, match="grid arm 'b' sets scenario"):
        _check_one_scenario(dataclasses.replace(base, grid={"m": {"b": {"scenario": "task"}}}))
    with pytest.raises(StudyError, match="scenarios"):
        _check_one_scenario(dataclasses.replace(base, scenarios={"online": {"published": {}}}))
    with pytest.raises(StudyError, match="not base"):
        _check_one_scenario(dataclasses.replace(base, scenarios={"task": {"base": {}}}))


def test_default_folder_names_a_scenario_other_than_the_studys_own():
    spec = get_spec("reference")

    def name(**kw) -> str:
        return default_study_name(spec, Setup(study="reference", study_name="", storage_url="", results_dir="", **kw))

    assert name() == name(scenario="class") == "reference"
    assert name(scenario="task") == "reference-task" and name(sets=("scenario=domain",)) == "reference-domain"
    assert name(scenario="domain", quick=True) == "reference-domain-quick"


def test_a_report_and_a_comparison_never_pool_two_scenarios(tmp_path):
    folder = tmp_path / "reference"
    shutil.copytree(ROOT / "results" / "reference", folder, ignore=shutil.ignore_patterns("plots"))
    rows, meta = load(folder)
    for r in rows["runs"]:
        if r["label"] == "none":
            r["scenario"] = "task"
    with pytest.raises(StudyError, match=r"2 scenarios \(class, task\)"):
        rebuild(folder, "reference", rows, meta, draw=False)
    runs = pd.DataFrame(rows["runs"])
    with pytest.raises(StudyError, match="never pooled or compared"):
        compare_runs(runs, "none", "dgr")
    assert compare_runs(runs, "dgr", "dgr-distill")["row"]["n_a"] == 20  # one scenario: compared as ever
    assert one_scenario(runs[runs["label"] != "none"], "x") == "class" and one_scenario(runs.iloc[:0], "x") is None


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "none_published"), [("task", 87.19), ("domain", 59.21)])
def test_tiny_reference_study_in_a_scenario_reports_that_scenarios_column(tmp_path, scenario, none_published):
    args = ["study", "reference", "--quick", "--seeds", "1", "--scenario", scenario, "--dataset", "digits",
            "--workers", "1", "--results", str(tmp_path), "--set", "iters=5", "--set", "vae_iters=5"]
    p = subprocess.run([GR, *args], capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    folder = tmp_path / f"reference-digits-{scenario}-quick"  # never the class-IL folder
    runs = pd.read_csv(folder / "runs.csv")
    assert set(runs["scenario"]) == {scenario} and len(runs) == 5 and set(runs["status"]) == {"ok"}
    published = pd.read_csv(folder / "published.csv").set_index("configuration")
    assert published.loc["none", "published_mean"] == none_published
    assert f"{scenario}-IL" in (folder / "report.md").read_text()
    again = subprocess.run([GR, "report", str(folder)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and not again.stderr.strip(), again.stderr  # no "another definition" warning
