"""One name per configuration everywhere (runs.csv, report.md, plots, terminal, compare) and one
numbering per column: search trial numbers never sit beside final-stage trial numbers."""

import csv
import json
import os
import re
import subprocess

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from gr_bench import export
from gr_bench.labels import config_id, current_label, final_labels, first_label, settings_text, short_settings
from gr_bench.orchestration.stored import identities
from gr_bench.storage import open_storage

from conftest import GR


def rows(path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_short_settings_say_what_a_configuration_is():
    pairs = ["schedule=linear:793", "lr=0.0007234567", "lr_decay=0.7612"]
    assert short_settings(pairs) == "linear:793 lr=7.2e-4 decay=0.76"
    assert short_settings(["vae_hidden=32,16", "latent=4", "strategy=buffer"]) == "vae=32,16 latent=4 buffer"
    assert short_settings([]) == "(base)"
    assert settings_text(pairs) == "schedule=linear:793 lr=0.0007234567 lr_decay=0.7612"  # exact


def test_config_id_is_six_hex_of_the_sorted_overrides():
    cid = config_id(["schedule=linear:793", "lr=0.001"])
    assert re.fullmatch(r"[0-9a-f]{6}", cid)
    assert cid == config_id(["lr=0.001", "schedule=linear:793"])  # the order does not matter
    assert cid != config_id(["lr=0.002", "schedule=linear:793"])


def test_final_labels_name_the_best_by_rank_and_keep_declared_names():
    configs = {"trial-11": [], "trial-3": [], "report-linear:1000": [], "best-schedule@report-linear:1000-lr": []}
    assert final_labels(configs) == {"trial-11": "best-1", "trial-3": "best-2",
                                     "report-linear:1000": "report-linear:1000",
                                     "best-schedule@report-linear:1000-lr": "best-schedule@report-linear:1000-lr"}
    # a final stage stored before the source report's configuration was renamed from 'seed-'
    old = {"trial-3": [], "seed-linear:1000": [], "seed-linear:1000@best-samples": []}
    assert list(final_labels(old).values()) == ["best-1", "report-linear:1000", "report-linear:1000@best-samples"]


def test_old_label_names_read_as_the_new_ones():
    assert current_label("seed-linear:1000") == "report-linear:1000"
    assert current_label("best-schedule@seed-linear:1000-lr") == "best-schedule@report-linear:1000-lr"
    assert current_label("best-lr@seed-linear:1000-schedule") == "best-lr@report-linear:1000-schedule"
    assert current_label("seed-linear:1000@best-samples") == "report-linear:1000@best-samples"
    assert current_label("best-width@seed-vae-latent") == "best-width@report-vae-latent"
    assert current_label("vae-seed/per-task") == "vae-report/per-task"  # a grid arm: '<generator>/<mode>'
    for label in ("report-linear:1000", "vae-report/per-task", "seed-linear:10000", "xseed-vae", "vae-seeded",
                  "best-1", "lr=1e-3"):
        assert current_label(label) == label  # only the renamed names, whole
    for old in ("seed-linear:1000", "best-schedule@seed-linear:1000-lr", "seed-vae", "vae-seed/per-batch"):
        assert first_label(current_label(old)) == old


def test_a_renamed_reference_is_the_same_study_definition():
    """A study stored before the rename resumes (its stored fingerprint matches) and reports without
    'run from another definition'."""
    import dataclasses

    from gr_bench.orchestration import get_spec, spec_fingerprint

    for name, new, old in (("replay_schedule", "report-linear:1000", "seed-linear:1000"),
                           ("generator_size", "report-vae", "seed-vae")):
        spec = get_spec(name)
        assert new in spec.reference
        before = dataclasses.replace(spec, reference={old: spec.reference[new]})
        assert spec_fingerprint(before) == spec_fingerprint(spec)
        other = dataclasses.replace(spec, reference={new: {"schedule": "linear:999"}})
        assert spec_fingerprint(other) != spec_fingerprint(spec)  # what it runs still counts


def test_a_renamed_grid_arm_is_the_same_study_and_stores_its_first_name():
    """The memory grid's 'vae-seed/...' arms are 'vae-report/...' now: the fingerprint is unchanged,
    and trials keep the first names as their categorical choices, since Optuna refuses a choice list
    that changes within a study (a grid stored before the rename resumes)."""
    import dataclasses

    from gr_bench.orchestration import get_spec, spec_fingerprint

    spec = get_spec("memory")
    arms = spec.grid["arm"]
    assert "vae-report/per-task" in arms and "vae-seed/per-task" not in arms
    old = {("vae-seed" + k[len("vae-report"):] if k.startswith("vae-report/") else k): v for k, v in arms.items()}
    before = dataclasses.replace(spec, grid={"arm": old}, quick={**spec.quick, "grid": {"arm": {
        ("vae-seed" + k[len("vae-report"):] if k.startswith("vae-report/") else k): v
        for k, v in spec.quick["grid"]["arm"].items()}}})
    assert spec_fingerprint(before) == spec_fingerprint(spec)
    assert list(spec.stored_grid()["arm"]) == list(old)  # the choices trials are stored with
    assert spec.stored_grid()["arm"]["vae-seed/per-task"] == arms["vae-report/per-task"]


def _old_final_stage(storage) -> None:
    """A final stage stored with the old names: final_configs keys, trial params, attribution."""
    from optuna.distributions import CategoricalDistribution

    from gr_bench.config import RunConfig, with_overrides
    from gr_bench.result import RunResult

    configs = {"trial-2": ["schedule=linear:500", "val_fraction=0"], "seed-linear:1000": ["val_fraction=0"],
               "seed-linear:1000@best-samples": ["epochs=23", "val_fraction=0"]}
    search = optuna.create_study(study_name="old", storage=storage, direction="maximize")
    search.add_trial(create_trial(params={}, distributions={}, value=0.5,
                                  user_attrs={"overrides": configs["trial-2"][:1]}))
    final = optuna.create_study(study_name="old:final", storage=storage, direction="maximize")
    final.set_user_attr("final_configs", configs)
    final.set_user_attr("attribution", [{"group": "training samples alone", "kind": "compute", "fields": ["epochs"],
                                         "a": "seed-linear:1000@best-samples", "b": "seed-linear:1000",
                                         "best": "trial-2", "reference": "seed-linear:1000",
                                         "control": "seed-linear:1000@best-samples"}])
    dist = {"config": CategoricalDistribution(list(configs)), "seed": CategoricalDistribution([1000])}
    for key in configs:
        cfg = with_overrides(RunConfig(), ["seed=1000", "n_tasks=2", "dataset=digits"])
        run = RunResult(config=cfg, dataset="digits", scenario="class", split="test", accuracy=[[0.9, 0.1], [0.8, 0.7]],
                        initial_acc=[0.1, 0.1], dataset_sha256="d" * 64).to_dict()
        final.add_trial(create_trial(params={"config": key, "seed": 1000}, distributions=dist, value=0.75,
                                     user_attrs={"run:0": run}))


def test_a_study_stored_with_old_names_reads_under_the_new_ones():
    from gr_bench.orchestration.stored import attribution_entries, stage_runs, stage_studies

    storage = optuna.storages.InMemoryStorage()
    _old_final_stage(storage)
    new = {"best-1", "report-linear:1000", "report-linear:1000@best-samples"}
    stages = stage_studies(storage, "old")
    assert {r["label"] for r in stage_runs(stages, "final")} == new
    (entry,) = attribution_entries(stages)
    assert (entry["a"], entry["b"], entry["best"], entry["reference"], entry["control"]) == (
        "report-linear:1000@best-samples", "report-linear:1000", "best-1", "report-linear:1000",
        "report-linear:1000@best-samples")
    rows = export.collect(storage, "old")
    assert {r["label"] for r in rows["runs"] if r["stage"] == "final"} == new
    assert {r["label"] for r in rows["trials"] if r["stage"] == "final"} == new
    assert not any("seed-" in str(v) for e in rows["attribution"] for v in e.values())


def test_a_folder_shipped_with_old_names_reads_under_the_new_ones(tmp_path):
    """results/replay_schedule was shipped with 'seed-linear:1000'; shipped.load renames on read."""
    import shutil
    from pathlib import Path

    from gr_bench.report import shipped

    src = Path(__file__).resolve().parents[1] / "results" / "replay_schedule"
    for name in shipped.SHIPPED:
        shutil.copy(src / name, tmp_path / name)
    runs_csv = (tmp_path / "runs.csv").read_text()
    if "seed-linear:1000" not in runs_csv:  # the folder was re-shipped under the new names: make an old one
        for name in (*shipped.ROWS.values(), "manifest.json"):
            text = (tmp_path / name).read_text().replace("report-linear:1000", "seed-linear:1000")
            (tmp_path / name).write_text(text)
    rows, manifest = shipped.load(tmp_path)
    final = {r["label"] for r in rows["runs"] if r["stage"] == "final"}
    assert final == {"best-1", "report-linear:1000", "report-linear:1000@best-samples",
                     "best-schedule@report-linear:1000-lr", "best-lr@report-linear:1000-schedule"}
    assert final == {r["label"] for r in rows["trials"] if r["stage"] == "final"} == set(manifest["final_configs"])
    assert rows["attribution"] == manifest["attribution"] and rows["attribution"]
    assert all(e["b"] == "report-linear:1000" for e in rows["attribution"] if e.get("kind") != "compute")
    blob = json.dumps([rows["runs"], rows["trials"], rows["attribution"], manifest["final_configs"]], default=str)
    assert "seed-linear" not in blob


def test_two_configurations_with_the_same_short_label_get_their_ids():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for lr in ("0.000721", "0.000724", "0.000724"):  # two configurations, the second twice
        study.add_trial(create_trial(params={"lr": float(lr)}, distributions={"lr": FloatDistribution(1e-4, 1e-2)},
                                     value=0.5, user_attrs={"overrides": [f"lr={lr}"]}))
    ids = [identities({"search": study})[("search", n)] for n in range(3)]
    assert [i["config_id"] for i in ids] == [config_id(["lr=0.000721"]), *[config_id(["lr=0.000724"])] * 2]
    assert [i["label"] for i in ids] == [f"lr=7.2e-4 #{i['config_id']}" for i in ids]
    assert ids[1]["label"] == ids[2]["label"] != ids[0]["label"]


# --- a real search study with a final stage ----------------------------------------------------------

@pytest.fixture(scope="module")
def search(tmp_path_factory):
    root = tmp_path_factory.mktemp("labels")
    p = subprocess.run([GR, "study", "replay_schedule", "--quick", "--trials", "3", "--seeds", "1", "--dataset",
                        "digits", "--workers", "1", "--results", str(root), "--set", "vae_hidden=32,16",
                        "--set", "epochs=2", "--set", "vae_epochs=2", "--set", "n_tasks=2"],
                       capture_output=True, text=True, timeout=900,
                       env={**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    return root / "replay_schedule-digits-quick", p.stdout


@pytest.mark.slow
def test_one_numbering_per_column(search):
    folder, _ = search
    for name, number in (("runs.csv", "trial"), ("accuracy.csv", "trial"), ("trials.csv", "number")):
        table = rows(folder / name)
        s = [r for r in table if r["stage"] == "search"]
        f = [r for r in table if r["stage"] == "final"]
        assert s and f, name
        assert all(r[number] != "" and r["final_trial"] == "" for r in s), name
        assert all(r[number] == "" and r["final_trial"] != "" for r in f), name
    trials = rows(folder / "trials.csv")
    assert sorted(int(r["final_trial"]) for r in trials if r["stage"] == "final") == \
        list(range(sum(r["stage"] == "final" for r in trials)))
    assert "param_config" not in trials[0]  # the final stage's internal key is not shown
    # no label carries a trial number of either stage
    assert not any(re.search(r"trial-?\d", r["label"]) for r in rows(folder / "runs.csv"))


@pytest.mark.slow
def test_labels_agree_across_runs_report_plots_and_terminal(search):
    folder, stdout = search
    runs = pd.DataFrame(rows(folder / "runs.csv"))
    # within a stage, a label is one configuration and a configuration one label
    for _, g in runs.groupby("stage"):
        assert (g.groupby("label")["config_id"].nunique() == 1).all()
        assert (g.groupby("config_id")["label"].nunique() == 1).all()
    final, searched = runs[runs["stage"] == "final"], runs[runs["stage"] == "search"]
    best = sorted(set(final["label"]) - {"report-linear:1000"} - {lab for lab in final["label"] if "@" in lab})
    assert best and all(re.fullmatch(r"best-\d", lab) for lab in best)
    for lab in best:  # the best re-run on the test split under the config_id of the search trial that found it
        cid = final.loc[final["label"] == lab, "config_id"].iloc[0]
        assert cid in set(searched["config_id"])
        assert set(searched.loc[searched["config_id"] == cid, "settings"]) == \
            set(final.loc[final["label"] == lab, "settings"])
    for _, r in searched.iterrows():  # search labels: the settings in short form
        assert r["label"] == short_settings(r["settings"].split()) and " lr=" in r["label"] and "decay=" in r["label"]

    report = (folder / "report.md").read_text()
    section = report.split("## Configurations\n", 1)[1].split("\n## ", 1)[0]
    listed = {(cells[1], cells[2], cells[4]) for line in section.splitlines() if line.startswith("| ")
              for cells in [[c.strip() for c in line.split("|")]] if cells[1] != "label"}
    expected = {(r["label"], r["config_id"], f"`{r['settings']}`") for _, r in runs.iterrows()}
    assert listed == expected
    stats = rows(folder / "stats.csv")
    assert stats and {r["a"] for r in stats} | {r["b"] for r in stats} <= set(final["label"])
    for lab in set(final["label"]):
        assert f"| {lab} |" in report

    from gr_bench.report.analysis import Analysis, Comparisons
    from gr_bench.report.figures import figures
    from gr_bench.report.inputs import StudyRows

    rows_ = export.collect(open_storage(f"sqlite:///{folder / 'study.db'}"), folder.name)
    figs = figures(StudyRows.of(rows_), Analysis(Comparisons("search"), stage="final"))
    per_config = [(name, caption, fig) for name, caption, fig in figs if name.startswith(("curves-", "heatmap-"))]
    assert per_config
    for _name, caption, draw in per_config:
        titles = " ".join(ax.get_title() for ax in draw().axes)
        label = next(lab for lab in sorted(set(final["label"]), key=len, reverse=True) if f": {lab}" in titles)
        assert caption.endswith(label) or f": {label} (" in caption
        assert f"### {caption}" in report
    legend = next(draw for name, _, draw in figs if name == "accuracy-vs-tasks")().axes[0].get_legend()
    assert {t.get_text() for t in legend.get_texts()} == set(final["label"])

    # the terminal: the best table maps each search configuration to its test label; progress lines too
    assert all(lab in stdout for lab in best)
    for shown in re.findall(r"^\w+: \d+/\d+ done.*?, best (.+) \d+\.\d% \(mean", stdout, re.M):
        assert shown in set(runs["label"]), shown
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["final_configs"]) == set(final["label"])


@pytest.mark.slow
def test_compare_takes_a_label_or_a_config_id(search):
    folder, _ = search
    final = [r for r in rows(folder / "runs.csv") if r["stage"] == "final"]
    ids = {r["label"]: r["config_id"] for r in final}

    def compare(*args):
        return subprocess.run([GR, "compare", *args, "--study", str(folder)], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "COLUMNS": "200"})

    by_label = compare("best-1", "report-linear:1000")
    by_id = compare(ids["best-1"], ids["report-linear:1000"])
    assert by_label.returncode == 0 and by_id.returncode == 0, by_id.stderr
    assert by_id.stdout == by_label.stdout
    assert by_id.stdout.startswith("does best-1 beat report-linear:1000 on final_avg_acc ")
    missing = compare("abcdef", "report-linear:1000")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "'abcdef'" in missing.stderr


def test_rows_and_manifests_are_written_and_read_under_todays_names():
    from gr_bench.labels import current_manifest, current_row

    row = {"label": "seed-linear:1000@best-samples", "param_arm": "vae-seed/per-task", "param_lr": 0.001,
           "settings": "schedule=linear:1000", "a": "best-schedule@seed-linear:1000-lr", "b": "seed-linear:1000"}
    assert current_row(row) == {**row, "label": "report-linear:1000@best-samples", "param_arm": "vae-report/per-task",
                                "a": "best-schedule@report-linear:1000-lr", "b": "report-linear:1000"}
    manifest = {
        "command": "gr-bench study replay_schedule",
        "attribution": [{"group": "lr", "a": "best-lr@seed-linear:1000-schedule", "b": "seed-linear:1000",
                         "control": None}],
        "final_configs": {"seed-linear:1000": {"config_id": "abc"}, "best-1": {"config_id": "def"}},
        "sequential": {"looks": 2, "history": [{"look": 1, "verdicts": {"vae-seed/per-task vs buffer-1x": "worse"},
                                                "undecided": ["vae-seed/per-batch vs buffer-1x"]}, {"look": 2}]},
    }
    out = current_manifest(manifest)
    assert out["attribution"] == [{"group": "lr", "a": "best-lr@report-linear:1000-schedule",
                                   "b": "report-linear:1000", "control": None}]
    assert list(out["final_configs"]) == ["report-linear:1000", "best-1"]
    assert out["sequential"]["history"] == [
        {"look": 1, "verdicts": {"vae-report/per-task vs buffer-1x": "worse"},
         "undecided": ["vae-report/per-batch vs buffer-1x"]}, {"look": 2}]
    assert out["command"] == manifest["command"] and out["sequential"]["looks"] == 2
    assert current_manifest(out) == out  # today's names stay as they are
