"""Figures from synthetic study exports: every function with and without an Axes, empty input, NaNs,
and byte-identical saves. Nothing here trains or reads result files."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from gr_bench.report import frames, plots

LABELS = ("generative", "buffer-1000")
SEEDS = (0, 1, 2)
T, E = 3, 2


def _accuracy() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for label in LABELS:
        for seed in SEEDS:
            rows += [{"label": label, "seed": seed, "after_task": -1, "eval_task": j, "epoch": 0, "acc": 0.1}
                     for j in range(T)]
            for t in range(T):
                for e in range(1, E + 1):
                    for j in range(T):
                        acc = 0.95 - 0.15 * (t - j) if j <= t else 0.05
                        rows.append({"label": label, "seed": seed, "after_task": t, "eval_task": j, "epoch": e,
                                     "acc": float(np.clip(acc - 0.05 * (E - e) + rng.normal(0, 0.02), 0, 1))})
    return pd.DataFrame(rows)


def _runs() -> pd.DataFrame:
    rows = []
    configs = [("none", "none", 0), ("joint", "joint", 0), ("buffer-200", "buffer", 200 * 786),
               ("buffer-1000", "buffer", 1000 * 786), ("buffer-5000", "buffer", 5000 * 786),
               ("generative", "generative", 4_454_720)]
    for label, strategy, mem in configs:
        for seed in SEEDS:
            base = {"none": 0.3, "joint": 0.97, "buffer": 0.6 + mem / 2e7, "generative": 0.8}[strategy]
            rows.append({"label": label, "seed": seed, "strategy": strategy, "status": "ok",
                         "final_avg_acc": base + 0.01 * seed, "avg_forgetting": 0.1, "memory_bytes": mem,
                         "time_total_s": 10.0 + seed, "time_generator_s": 4.0 if strategy == "generative" else 0.0,
                         "time_replay_s": 1.0, "time_classifier_s": 3.0, "time_eval_s": 0.5,
                         "n_tasks": 5, "schedule": "linear:1000"})
    rows.append({**rows[0], "seed": 9, "status": "failed", "final_avg_acc": np.nan, "time_total_s": 1e6})
    return pd.DataFrame(rows)


def _scaling() -> pd.DataFrame:
    rows = []
    for sched, k in (("constant:1000", 1.0), ("linear:1000", 2.0), ("sqrt:1000", 1.5)):
        for n in (2, 5, 10):
            for seed in SEEDS:
                rows.append({"label": f"{n} {sched.split(':')[0]}", "seed": seed, "strategy": "generative",
                             "status": "ok", "schedule": sched, "n_tasks": n,
                             "time_total_s": 3.0 * n**k * (1 + 0.05 * seed)})
    return pd.DataFrame(rows)


def _trials() -> pd.DataFrame:
    acc = [0.70, 0.80, 0.75, 0.90, 0.60, 0.85, np.nan, 0.95]
    time = [10.0, 20.0, 30.0, 40.0, 5.0, 50.0, 1.0, 200.0]
    state = ["COMPLETE"] * 6 + ["FAIL", "PRUNED"]
    return pd.DataFrame({"stage": "search", "number": range(8), "state": state, "value_acc": acc,
                         "value_time_s": time, "label": [f"cfg{i}" for i in range(8)]})


def _with_and_without_ax(fn, *args, **kw):
    fig = fn(*args, **kw)
    assert isinstance(fig, Figure)
    host = Figure()
    ax = host.add_subplot()
    assert fn(*args, ax=ax, **kw) is host
    return fig, ax


def test_task_accuracy_curves_one_line_per_task_and_task_boundaries():
    acc = _accuracy()
    fig, ax = _with_and_without_ax(plots.task_accuracy_curves, acc, label="generative")
    assert len(ax.lines) == T
    assert [l.get_label() for l in ax.lines] == [f"task {j}" for j in range(T)]
    x = ax.lines[0].get_xdata()
    assert x[0] == 0 and x[-1] == T * E  # untrained model at 0, global epochs 1..T*E
    bounds = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(bounds) == 1 and len(bounds[0].get_segments()) == T - 1
    assert "min-max" in ax.get_title()
    # no label: one panel per configuration; into a given ax it needs a label
    assert len(plots.task_accuracy_curves(acc).axes) == len(LABELS)
    with pytest.raises(ValueError, match="label"):
        plots.task_accuracy_curves(acc, ax=Figure().add_subplot())
    assert plots.task_accuracy_curves(acc, label="nope").axes[0].texts[0].get_text() == "no data"


def test_accuracy_vs_tasks_is_mean_of_seen_tasks_at_last_epoch():
    acc = _accuracy()
    rows = frames.avg_acc_rows(acc)
    sel = acc[(acc.label == "generative") & (acc.seed == 1) & (acc.after_task == 1) & (acc.epoch == E)
              & (acc.eval_task <= 1)]
    got = rows[(rows.label == "generative") & (rows.seed == 1) & (rows.after_task == 1)]["avg_acc"].item()
    assert got == pytest.approx(sel.acc.mean())
    fig, ax = _with_and_without_ax(plots.accuracy_vs_tasks, acc)
    assert [c.get_label() for c in ax.containers] == list(LABELS)  # one error-bar line per configuration
    assert list(ax.containers[0].lines[0].get_xdata()) == [1, 2, 3]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == set(LABELS)


def test_accuracy_vs_memory_buffer_line_and_generative_marker():
    fig, ax = _with_and_without_ax(plots.accuracy_vs_memory, _runs())
    assert ax.get_xscale() == "log"
    series = {c.get_label(): c.lines[0] for c in ax.containers}
    assert set(series) == {"buffer replay", "generative replay"}
    assert list(series["buffer replay"].get_xdata()) == pytest.approx([200 * 786 / 2**20, 1000 * 786 / 2**20, 5000 * 786 / 2**20])
    gen = series["generative replay"]
    assert gen.get_marker() == "*" and gen.get_xdata()[0] == pytest.approx(4_454_720 / 2**20)
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"none (reference)", "joint (reference)"} <= legend
    ringed = next(c for c in ax.collections if c.get_label() == "Pareto front (accuracy, bytes)")
    from gr_bench.report import frames
    points = frames.memory_points(_runs())
    points = points[points["kind"].isin(["buffer", "generative"])]
    assert len(ringed.get_offsets()) == frames.pareto_mask(points["acc"], points["mem"]).sum() >= 1
    label = next(t for t in ax.texts if t.xy[0] == pytest.approx(4_454_720 / 2**20))  # the star's label
    assert label.xyann[0] > label.xy[0]  # beside it, to the right


def test_labels_of_a_cluster_stand_in_a_column_never_overlapping_nor_above_their_point():
    from gr_bench.report.plots.tradeoffs import _label_column

    mib = [4.25, 4.11, 4.09, 4.25, 1.05, 1.01, 8.5]
    acc = [0.84, 0.83, 0.70, 0.48, 0.87, 0.86, 0.95]
    spots = _label_column(mib, acc, gap=0.035)
    x, y = [s[0] for s in spots], [s[1] for s in spots]
    assert y[0] == 0.84 and y[1] == pytest.approx(0.805) and y[2] == 0.70 and y[3] == 0.48  # 4-MiB cluster
    assert set(x[:4]) == {4.25 * 1.25}  # one column right of the cluster
    assert y[4] == 0.87 and y[5] == pytest.approx(0.835) and x[4] == x[5] == 1.05 * 1.25  # its own column at 1 MiB
    assert (x[6], y[6]) == (8.5 * 1.25, 0.95)  # alone
    assert all(h <= a for h, a in zip(y, acc))


def test_pareto_front_highlights_the_non_dominated_complete_trials():
    trials = _trials()
    # complete: (0.70,10) (0.80,20) (0.75,30)x (0.90,40) (0.60,5) (0.85,50)x -> 4 Pareto-optimal
    mask = frames.pareto_mask(trials.value_acc[:6], trials.value_time_s[:6])
    assert list(mask) == [True, True, False, True, True, False]
    fig, ax = _with_and_without_ax(plots.pareto_front, trials)
    front = next(c for c in ax.collections if c.get_label().startswith("Pareto-optimal"))
    assert len(front.get_offsets()) == 4
    rest = next(c for c in ax.collections if c.get_label().startswith("dominated"))
    assert len(rest.get_offsets()) == 2  # the failed and pruned trials are left out
    assert sorted(t.get_text() for t in ax.texts) == ["#0", "#1", "#3", "#4"]


def test_phase_times_stacks_phases_and_other():
    runs = _runs()
    means = frames.phase_means(runs)
    gen = means.loc["generative"]
    assert gen["generator"] == 4.0 and gen["other"] == pytest.approx(11.0 - 8.5)
    assert means.loc["none", "total"] == pytest.approx(11.0)  # the failed run (1e6 s) is left out
    fig, ax = _with_and_without_ax(plots.phase_times, runs)
    n_labels = runs.label.nunique()
    assert len(ax.patches) == 5 * n_labels
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["none", "joint"]


def test_time_vs_tasks_log_log_with_fits_and_reference():
    runs = _scaling()
    assert set(frames.time_series_key(runs)) == {"constant", "linear", "sqrt"}
    fits = {"linear": {"exponent": 2.03, "intercept": np.log(3.0), "ci_low": 1.9, "ci_high": 2.1},
            "sqrt": {"exponent": 1.5, "c": 3.0}}
    fig, ax = _with_and_without_ax(plots.time_vs_tasks, runs, fits=fits)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "linear: t ∝ T^2.03 [1.90, 2.10]" in legend and "sqrt: t ∝ T^1.50" in legend
    assert "constant" in legend and any("slope 2" in t for t in legend)
    ref = next(l for l in ax.lines if "slope 2" in l.get_label())
    x, y = ref.get_xdata(), ref.get_ydata()
    assert np.log(y[-1] / y[0]) / np.log(x[-1] / x[0]) == pytest.approx(2.0)
    fit_lines = [l for l in ax.lines if len(l.get_xdata()) == 50 and "slope 2" not in l.get_label()]
    assert len(fit_lines) == 2
    assert fit_lines[0].get_ydata()[0] == pytest.approx(3.0 * 2**2.03)  # intercept is ln c
    assert list(ax.get_xticks()) == [2, 5, 10]
    # no fits: a plain line per schedule
    assert isinstance(plots.time_vs_tasks(runs), Figure)


def test_accuracy_heatmap_annotates_every_cell():
    R = [[0.9, 0.1, 0.0], [0.6, 0.8, 0.05], [0.5, float("nan"), 0.95]]
    fig, ax = _with_and_without_ax(plots.accuracy_heatmap, R)
    assert len(ax.texts) == 9
    assert [t.get_text() for t in ax.texts][:3] == ["90.0", "10.0", "0.0"] and ax.texts[7].get_text() == "-"
    assert ax.get_ylabel() == "after training task i" and ax.get_xlabel() == "evaluated on task j"
    assert len(plots.accuracy_heatmap(np.eye(4)).axes[0].texts) == 16
    assert plots.accuracy_heatmap(np.eye(8)).axes[0].texts[0].get_text() == "100"


def test_optimization_history_and_importances():
    fig, ax = _with_and_without_ax(plots.optimization_history, _trials())
    points = ax.collections[0].get_offsets()
    assert len(points) == 6  # COMPLETE only
    best = ax.lines[0].get_ydata()
    assert list(best) == pytest.approx([0.70, 0.80, 0.80, 0.90, 0.90, 0.90])
    fig, ax = _with_and_without_ax(plots.optimization_history, _trials(), objective="value_time_s")
    assert list(ax.lines[0].get_ydata()) == pytest.approx([10, 10, 10, 10, 5, 5])
    imp = {"lr": 0.2, "schedule": 0.7, "vae_epochs": 0.1}
    fig, ax = _with_and_without_ax(plots.param_importances, imp)
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["schedule", "classifier learning rate", "vae_epochs"]


def test_accuracy_vs_tasks_y_axis_follows_the_data():
    acc = _accuracy()
    acc = acc.assign(acc=0.6 + 0.3 * acc["acc"])  # everything between 60% and 90%
    ax = plots.accuracy_vs_tasks(acc).axes[0]
    low, high = ax.get_ylim()
    rows = frames.avg_acc_rows(acc)
    assert 0.3 < low < rows["avg_acc"].min() and rows["avg_acc"].max() < high < 1.0  # not fixed 0-100%
    ax.figure.canvas.draw()
    assert all(t.get_text().endswith("%") for t in ax.get_yticklabels() if t.get_text())


def test_optimization_history_names_the_metric_marks_pruned_and_has_integer_ticks():
    trials = _trials().rename(columns={"value_acc": "value"})
    trials.loc[7, "value"] = np.nan  # a pruned trial has no value of its own ...
    runs = pd.DataFrame({"stage": "search", "trial": [7, 7, 3], "final_avg_acc": [0.5, 0.7, 0.9]})
    ax = plots.optimization_history(trials, runs=runs).axes[0]
    assert ax.get_ylabel() == "final average accuracy" and "final average accuracy" in ax.get_title()
    assert "value" not in ax.get_title() and "final_avg_acc" not in ax.get_title()  # human names, not code names
    complete, pruned = ax.collections
    assert len(complete.get_offsets()) == 6
    assert [tuple(p) for p in pruned.get_offsets()] == [(7.0, pytest.approx(0.6))]  # ... but its seeds' mean
    assert complete.get_paths()[0] != pruned.get_paths()[0]  # another marker
    assert any("pruned" in t.get_text() for t in ax.get_legend().get_texts())
    ax.figure.canvas.draw()
    ticks = [float(t) for t in ax.get_xticks()]
    assert ticks == [round(t) for t in ticks]  # whole trial numbers only
    # without runs, the pruned trial is still shown, along the bottom edge
    ax = plots.optimization_history(trials).axes[0]
    assert len(ax.collections) == 2 and "no value" in ax.collections[1].get_label()
    # the time objective is minimised and named as such
    ax = plots.optimization_history(_trials(), objective="value_time_s").axes[0]
    assert ax.get_ylabel() == "training time (s)" and list(ax.lines[0].get_ydata()) == pytest.approx([10, 10, 10, 10, 5, 5])


def test_param_importances_readable_names_and_stable_zero_order():
    imp = {"size_1": 0.5, "lr_decay": 0.3, "zeta": 0.0, "size_2": 0.0, "family": 0.0, "lr": 1e-17, "alpha": 0.2,
           "mu": 0.002}
    ax = plots.param_importances(imp).axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names[:3] == ["replay size after task 1", "learning-rate decay per task", "alpha"]
    assert names[3:] == sorted(names[3:]) == ["classifier learning rate", "mu"]  # float noise, by name
    assert [t.get_text() for t in ax.texts] == ["0.50", "0.30", "0.20", "<0.01", "<0.01"]  # never a bare 0.00
    shuffled = dict(reversed(list(imp.items())))
    assert [t.get_text() for t in plots.param_importances(shuffled).axes[0].get_yticklabels()] == names
    assert frames.param_name("size_12") == "replay size after task 12" and frames.param_name("unknown") == "unknown"


def test_param_importances_leave_out_the_conditional_parameters_no_trial_used_and_say_so():
    """A conditional space's parameters at importance exactly 0 (the replay sizes of a schedule family
    hardly drawn) are not drawn as 0.00 bars: they are named below the axes; so is a parameter that no
    search trial in trials.csv has a value for."""
    imp = {"lr": 0.7, "size": 0.16, "family": 0.0047, "size_1": 0.0, "size_2": 0.0, "size_3": 0.0, "size_4": 0.0,
           "latent": 0.01}
    ax = plots.param_importances(imp).axes[0]
    assert len(ax.patches) == 4
    assert "replay size after task" not in " ".join(t.get_text() for t in ax.get_yticklabels())
    note = " ".join(ax.get_xlabel().split())
    assert "importance exactly 0" in note and "replay sizes after tasks 1-4" in note
    trials = pd.DataFrame({"stage": "search", "param_lr": [1e-3, 2e-3], "param_latent": [np.nan, np.nan]})
    ax = plots.param_importances(imp, trials=trials).axes[0]
    assert len(ax.patches) == 3 and "latent" in ax.get_xlabel()
    ax = plots.param_importances({"size_1": 0.0}).axes[0]  # nothing left: "no data", and why
    assert ax.texts[0].get_text() == "no data" and "replay size after task 1" in ax.get_xlabel()


def test_optimization_history_says_its_values_are_validation_at_the_search_fidelity():
    trials = _trials().assign(fidelity="epochs=2 vae_epochs=2")
    runs = pd.DataFrame({"stage": ["search", "final", "final", "final"], "trial": [0, 0, 1, 2],
                         "final_avg_acc": 0.5, "epochs": [2, 10, 10, 13], "vae_epochs": [2, 10, 10, 10]})
    ax = plots.optimization_history(trials, runs=runs).axes[0]
    title = " ".join(ax.get_title().split())
    assert "search trials: validation split, 2 of 10 epochs per task (generator: 2 of 10)" in title, title
    assert ax.get_ylabel() == "final average accuracy, validation split"
    # without the final stage's lengths: the search's own; at full fidelity: said so
    assert "2 epochs per task" in plots.optimization_history(trials).axes[0].get_title()
    full = plots.optimization_history(_trials().assign(fidelity="full")).axes[0].get_title()
    assert "validation split, full fidelity" in " ".join(full.split())


def test_percent_ticks_never_read_alike():
    trials = _trials().assign(value_acc=[0.103, 0.132, 0.103, 0.103, 0.11, 0.12, np.nan, 0.125])
    ax = plots.optimization_history(trials).axes[0]
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) == len(set(labels)) > 2 and all(t.endswith("%") for t in labels), labels
    assert not any(t.endswith(".00%") for t in labels), labels


EMPTY_CALLS = [
    (plots.task_accuracy_curves, ()), (plots.accuracy_vs_tasks, ()), (plots.accuracy_vs_memory, ()),
    (plots.pareto_front, ()), (plots.phase_times, ()), (plots.time_vs_tasks, ()),
    (plots.optimization_history, ()),
]


@pytest.mark.parametrize("fn", [f for f, _ in EMPTY_CALLS], ids=lambda f: f.__name__)
@pytest.mark.parametrize("empty", [pd.DataFrame(), [], None], ids=["frame", "list", "none"])
def test_empty_input_says_no_data(fn, empty):
    fig = fn(empty)
    assert isinstance(fig, Figure)
    assert any(t.get_text() == "no data" for t in fig.axes[0].texts)


def test_empty_matrix_importances_and_all_nan_inputs():
    for fig in (plots.accuracy_heatmap([]), plots.param_importances({}), plots.param_importances({"lr": float("nan")})):
        assert fig.axes[0].texts[0].get_text() == "no data"
    acc = _accuracy().assign(acc=np.nan)
    for fig in (plots.task_accuracy_curves(acc, label="generative"), plots.accuracy_vs_tasks(acc)):
        assert fig.axes[0].texts[-1].get_text() == "no data" or fig.axes[0].texts[0].get_text() == "no data"
    runs = _runs().assign(final_avg_acc=np.nan, time_total_s=np.nan)
    assert plots.accuracy_vs_memory(runs).axes[0].texts[0].get_text() == "no data"
    assert plots.time_vs_tasks(runs).axes[0].texts[0].get_text() == "no data"
    assert isinstance(plots.phase_times(runs), Figure)
    trials = _trials().assign(state="FAIL")
    assert plots.pareto_front(trials).axes[0].texts[0].get_text() == "no data"
    # only the columns the functions need (e.g. accuracy.csv as exported, without a label)
    acc = _accuracy().drop(columns=["label"])
    assert len(plots.task_accuracy_curves(acc).axes[0].lines) == T
    with pytest.raises(ValueError, match="final_avg_acc"):
        plots.accuracy_vs_memory(pd.DataFrame({"label": ["a"]}))


def test_attach_labels_joins_on_stage_trial_seed():
    acc = pd.DataFrame({"stage": "final", "trial": [0, 0, 1], "seed": [5, 5, 6], "after_task": 0, "eval_task": 0,
                        "epoch": 1, "acc": 0.5})
    runs = pd.DataFrame({"stage": "final", "trial": [0, 1], "seed": [5, 6], "label": ["a", "b"]})
    assert list(frames.attach_labels(acc, runs)["label"]) == ["a", "a", "b"]


def test_attach_labels_keeps_search_and_final_numberings_apart():
    # search rows carry `trial`, final rows `final_trial` (the other blank): search trial 0 and
    # final trial 0 are different runs even on the same seed
    nan = float("nan")
    keys = {"stage": ["search", "final", "final"], "trial": [0, nan, nan], "final_trial": [nan, 0, 1],
            "seed": [5, 5, 5]}
    acc = pd.DataFrame({**keys, "after_task": 0, "eval_task": 0, "epoch": 1, "acc": 0.5})
    runs = pd.DataFrame({**keys, "label": ["lr=1e-3", "best-1", "seed-linear:1000"]})
    assert list(frames.attach_labels(acc, runs)["label"]) == ["lr=1e-3", "best-1", "seed-linear:1000"]


def test_save_writes_png_and_svg_byte_identical(tmp_path):
    fig = plots.task_accuracy_curves(_accuracy(), label="generative")
    first = plots.save(fig, tmp_path / "figs", "curves")
    assert [p.name for p in first] == ["curves.png", "curves.svg"]
    data = [p.read_bytes() for p in first]
    assert data[0].startswith(b"\x89PNG") and b"<svg" in data[1]
    assert b"<dc:date>" not in data[1]
    assert b"Matplotlib" not in data[0] and b"Matplotlib" not in data[1]  # no version, no date
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in first)
    again = plots.save(fig, tmp_path / "figs", "curves")
    assert [p.read_bytes() for p in again] == data
    # a second identical figure built from scratch gives the same bytes too
    other = plots.save(plots.task_accuracy_curves(_accuracy(), label="generative"), tmp_path / "other", "curves")
    assert [p.read_bytes() for p in other] == data
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["curves.png", "curves.svg"]  # no temp files
    with pytest.raises(ValueError):
        plots.save(fig, tmp_path, "../escape")


def test_every_figure_draws_and_saves(tmp_path):
    figs = {
        "curves": plots.task_accuracy_curves(_accuracy()), "tasks": plots.accuracy_vs_tasks(_accuracy()),
        "memory": plots.accuracy_vs_memory(_runs()), "pareto": plots.pareto_front(_trials()),
        "phases": plots.phase_times(_runs()), "scaling": plots.time_vs_tasks(_scaling()),
        "heatmap": plots.accuracy_heatmap(np.eye(3)), "history": plots.optimization_history(_trials()),
        "importances": plots.param_importances({"lr": 1.0}), "empty": plots.pareto_front(pd.DataFrame()),
    }
    for fig in figs.values():
        fig.draw_without_rendering()  # layout and every artist, without the cost of writing files
    for name in ("scaling", "empty"):
        assert all(p.stat().st_size > 0 for p in plots.save(figs[name], tmp_path, name))


def test_module_needs_neither_torch_nor_pyplot():
    code = ("import sys; import gr_bench.report.plots; "
            "assert 'torch' not in sys.modules, 'torch'; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_accuracy_vs_cost_marks_the_pareto_front():
    runs = pd.DataFrame([{"label": lab, "status": "ok", "final_avg_acc": a, "flops_train": f, "strategy": "generative"}
                         for lab, a, f in [("a", .90, 1e12), ("a", .92, 1e12), ("b", .80, 1e11), ("b", .82, 1e11),
                                           ("c", .70, 5e11), ("c", .71, 5e11)]])
    fig = plots.accuracy_vs_cost(runs)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "training compute (TFLOP, log scale)" and ax.get_xscale() == "log"
    assert ax.get_ylabel() == "final average accuracy (%)"
    front = next(line for line in ax.get_lines() if line.get_label() == "Pareto front")
    assert list(front.get_xdata()) == pytest.approx([0.1, 1.0])  # b and a; c is dominated by b
    assert "Pareto front" in ax.get_title() and "flops_train" not in ax.get_title()
    assert ax.get_title().startswith("Final average accuracy against training compute")


def test_accuracy_vs_cost_ticks_are_plain_numbers_in_one_format():
    """4,000-10,000 GFLOP was labelled '4×10³' beside '10000': now TFLOP, plain numbers, no powers of ten."""
    runs = pd.DataFrame([{"label": lab, "status": "ok", "final_avg_acc": a, "flops_train": f}
                         for lab, a, f in [("a", .8, 4e12), ("b", .75, 1e13), ("c", .7, 6e12), ("d", .2, 2e12)]])
    ax = plots.accuracy_vs_cost(runs).axes[0]
    ax.figure.canvas.draw()
    assert ax.get_xlabel() == "training compute (TFLOP, log scale)"
    x_ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert x_ticks and all(t.replace(",", "").replace(".", "").isdigit() for t in x_ticks), x_ticks
    assert not [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]  # no second format
    y_ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert all(t.replace(".", "").isdigit() for t in y_ticks), y_ticks  # percent, the label says (%)
    assert plots.tradeoffs.cost_unit("flops_train", 2.3e11) == ("GFLOP", 1e-9)
    assert plots.tradeoffs.cost_unit("time_total_s", 5.0)[0] == "s"


def test_phase_times_totals_have_one_format():
    runs = _runs()
    runs.loc[runs["label"] == "none", ["time_total_s", "time_generator_s", "time_replay_s", "time_classifier_s",
                                        "time_eval_s"]] = [0.932, 0.0, 0.1, 0.5, 0.1]
    ax = plots.phase_times(runs).axes[0]
    totals = [t.get_text() for t in ax.texts]
    assert totals[0] == "0.932 s" and "11.0 s" in totals  # three significant digits each, never '11 s'
    assert plots.common.sig(20) == "20.0" and plots.common.sig(6.25) == "6.25" and plots.common.sig(1234) == "1,234"


def test_accuracy_vs_memory_keeps_a_readable_axis_for_bytes_matched_arms():
    runs = pd.DataFrame([{"label": lab, "status": "ok", "final_avg_acc": a, "memory_bytes": m, "strategy": st}
                         for lab, a, m, st in [("buffer-equal-bytes", .47, 56_958, "buffer"),
                                               ("generative", .15, 56_960, "generative")]])
    ax = plots.accuracy_vs_memory(runs).axes[0]
    lo, hi = ax.get_xlim()
    assert hi / lo >= 9  # about a decade, not a zoom onto two bytes' difference
