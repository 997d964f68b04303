"""docs/results.md is generated from study folders: their command, versions and report sections."""

from __future__ import annotations

import json

from gr_bench.report.results_doc import main, sections

REPORT = """# demo

Command: `gr-bench study demo`

## Beside the published figures

| configuration | verdict |
|---|---|
| dgr | agrees |

## Verdicts (search stage, paired by seed)

- does a beat b? yes

## Statistics (stats.csv; accuracy differences in points)

| long | table |

## Configurations (search stage, mean ± sd over seeds)

| configuration | n |
"""


def test_sections_split_on_second_level_headings():
    s = sections(REPORT)
    assert list(s) == ["Beside the published figures", "Verdicts (search stage, paired by seed)",
                       "Statistics (stats.csv; accuracy differences in points)",
                       "Configurations (search stage, mean ± sd over seeds)"]
    assert s["Verdicts (search stage, paired by seed)"] == "- does a beat b? yes"


def test_generated_page_keeps_findings_and_provenance(tmp_path):
    folder = tmp_path / "demo"
    (folder / "plots").mkdir(parents=True)
    (folder / "report.md").write_text(REPORT)
    (folder / "manifest.json").write_text(json.dumps({"study_name": "demo", "command": "gr-bench study demo",
                                                      "datasets": ["mnist"], "git_sha": "abc"}))
    (folder / "runs.csv").write_text("label,code_version,cpu_model\na,abc123,EPYC\nb,abc123,EPYC\n")
    (folder / "plots" / "accuracy-vs-tasks.png").write_bytes(b"png")
    out = tmp_path / "docs" / "results.md"
    out.parent.mkdir()
    assert main([str(folder), "--out", str(out)]) == 0
    text = out.read_text()
    assert "`gr-bench study demo`" in text and "mnist; 2 runs" in text and "abc123; CPU: EPYC" in text
    assert "| dgr | agrees |" in text and "- does a beat b? yes" in text and "| long | table |" not in text
    assert "![accuracy-vs-tasks](results/demo/accuracy-vs-tasks.png)" in text
    assert (tmp_path / "docs" / "results" / "demo" / "accuracy-vs-tasks.png").read_bytes() == b"png"
    assert main([str(tmp_path / "nothing"), "--out", str(out)]) == 2


def test_one_study_on_two_datasets_gets_a_section_and_figure_folder_per_dataset(tmp_path):
    for dataset in ("mnist", "fashion-mnist"):
        folder = tmp_path / dataset / "memory"
        (folder / "plots").mkdir(parents=True)
        (folder / "report.md").write_text(REPORT)
        (folder / "manifest.json").write_text(json.dumps({"study_name": "memory", "datasets": [dataset]}))
        (folder / "plots" / "accuracy-vs-memory.png").write_bytes(dataset.encode())
    out = tmp_path / "docs" / "results.md"
    out.parent.mkdir()
    folders = [str(tmp_path / dataset / "memory") for dataset in ("mnist", "fashion-mnist")]
    assert main([*folders, "--out", str(out)]) == 0
    text = out.read_text()
    assert "## memory-mnist" in text and "## memory-fashion-mnist" in text
    for dataset in ("mnist", "fashion-mnist"):
        assert (tmp_path / "docs" / "results" / f"memory-{dataset}" / "accuracy-vs-memory.png").read_bytes() == \
            dataset.encode()
