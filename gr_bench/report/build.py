"""A study's report, rebuilt from its stored rows: stats.csv, published.csv, plots/ (PNG + SVG) and
report.md, assembled in memory from its sections and written once.

Nothing here trains or reads the storage: callers pass the rows from export.collect. Nothing here
knows one study from another: a study's own answer comes through its spec (StudySpec.answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..files import atomic_write_text, write_csv
from ..orchestration import Section
from .analysis import STATS_COLUMNS, Analysis, analyse, ok_runs, stats_rows
from .answer import answer_section
from .configurations import configurations_section, summary_section
from .figures import drawn_figures
from .header import codes_text, header_text
from .inputs import Report, ReportInputs, StudyRows
from .markdown import md_table
from .published import out_of_reach, published_table, readable, rule_text
from .verdict_sections import (
    attribution_section,
    differences_section,
    power_section,
    statistics_section,
    verdicts_section,
)


def write_report(folder: Path, inputs: ReportInputs, *, draw: bool = True) -> Report:
    """Write stats.csv, published.csv, plots/ (unless draw=False) and report.md into `folder`;
    return the analysis with the published table and the study's own answer.

    report.md: its title, the Answer (question, headline, the primary family's table) and where the
    runs came from; then the study's own sections (StudySpec.answer, given the analysis and the
    runs); then the published figures, configurations, verdicts, attribution, differences, power,
    every stats row, the summary per configuration and the figures."""
    rows, manifest, spec = StudyRows.of(inputs.rows), inputs.manifest, inputs.spec
    result = analyse(inputs.study_name, rows.runs, inputs.comparisons(), inputs.thresholds)
    write_csv(folder / "stats.csv", stats_rows(result.rows), list(STATS_COLUMNS))
    saved = drawn_figures(folder, rows, result, importances=manifest.get("importances"),
                          multi=bool(manifest.get("multi_objective")), draw=draw)
    head = [f"# {inputs.study_name}\n"]
    if (manifest.get("setup") or {}).get("quick"):
        head.append("**A first look (--quick): few seeds and epochs. Not a finding; run the study without --quick "
                    "for one.**\n")
    head += answer_section(result, spec.summary)
    if manifest:
        head.append(header_text(manifest, rows.runs))
    head.append(codes_text(rows.runs))
    own: Sequence[Section] = spec.answer(result, rows.runs) if spec.answer and len(rows.runs) else ()
    published = published_frame(result, rows.runs, spec.published)
    if published is not None:
        write_csv(folder / "published.csv", published.to_dict("records"), list(published.columns))
    tail = published_section(published)
    tail += configurations_section(rows.trials, rows.runs, result.stage)
    tail += verdicts_section(result, inputs.sequential)
    tail += attribution_section(result)
    tail += differences_section(result, rows.trials, rows.runs)
    tail += power_section(result)
    tail += statistics_section(result)
    if len(rows.runs):
        tail += summary_section(rows.trials, rows.runs, result.stage)
    tail.append("\n## Figures\n")
    tail += [f"### {caption}\n\n![{caption}](plots/{name}.png)\n" for name, caption in saved]
    atomic_write_text(folder / "report.md", assemble(head, own, tail))
    return Report(result, published, tuple(line for section in own for line in section.lines))


def assemble(head: list[str], own: Sequence[Section], tail: list[str]) -> str:
    """report.md's text: ``head`` (title, Answer, provenance), the study's own sections one blank line
    after it, then ``tail``, which opens with a "## " section."""
    if not own:
        return "\n".join(head + tail) + "\n"
    sections = "\n".join(s.markdown for s in own)
    return "\n".join(head).rstrip("\n") + "\n\n" + sections + "\n" + ("\n".join(tail) + "\n").lstrip("\n")


def published_frame(result: Analysis, runs: pd.DataFrame, published: dict | None) -> pd.DataFrame | None:
    """Our runs of the analysed stage beside the published figures the study declares (published.py);
    None when it declares none or has no runs."""
    if not published or not len(runs):
        return None
    return published_table(ok_runs(runs, result.stage), published)


def published_section(table: pd.DataFrame | None) -> list[str]:
    """Beside the published figures, when the study declares them."""
    if table is None:
        return []
    md = ["## Beside the published figures\n", published_text(table), md_table(readable(table))]
    md += sorted({f"- {r['configuration']}: {r['source']}" for _, r in table.iterrows() if r["source"]})
    reach = out_of_reach(table)  # "can't tell" rows that no number of seeds could turn "reproduced"
    return md + ([""] + reach if reach else []) + [""]


def published_text(table: pd.DataFrame) -> str:
    """The rule of the published section, with its margin, level and family (published.rule_text)."""
    return rule_text(table)


__all__ = ["Report", "ReportInputs", "StudyRows", "assemble", "write_report"]
