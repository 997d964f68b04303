"""What one report is written from and what writing it gives back, as frozen values: a study's
rows as frames (StudyRows), everything report.md is made of (ReportInputs), and the written
report's analysis, published table and the study's own answer (Report)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..group_sequential import Design
from ..orchestration import StudySpec
from ..thresholds import DEFAULTS, Thresholds
from .analysis import Analysis, Comparisons


@dataclass(frozen=True)
class StudyRows:
    """A study's stored rows as frames: trials.csv's, runs.csv's and accuracy.csv's."""

    trials: pd.DataFrame
    runs: pd.DataFrame
    accuracy: pd.DataFrame

    @classmethod
    def of(cls, rows: dict[str, list[dict]]) -> StudyRows:
        """From the rows export.collect or shipped.load return."""
        return cls(*(pd.DataFrame(rows[k]) for k in ("trials", "runs", "accuracy")))


@dataclass(frozen=True)
class ReportInputs:
    """Everything a study's report.md is written from. The spec gives the question, what is compared
    (its kind, the labels compared with, its objective, grid pairs, declared families), its
    published figures and its own answer; the rows and manifest what ran; a --sequential study also
    its looks (``design``) and the sentence stating them (``sequential``, study.sequential.describe)."""

    study_name: str
    spec: StudySpec  # as the runs ran it: in their scenario, --quick or not
    rows: dict[str, list[dict]]  # trials, runs, accuracy and the final stage's attribution entries
    manifest: dict  # command, provenance, times; a search's importances and multi_objective
    thresholds: Thresholds = DEFAULTS
    design: Design | None = None
    sequential: str | None = None

    def comparisons(self) -> Comparisons:
        spec = self.spec
        pairs = spec.grid_pairs()
        return Comparisons(spec.kind, tuple(spec.compared_with()), spec.objective,
                           pairs=None if pairs is None else tuple(pairs), families=tuple(spec.families or ()),
                           attribution=tuple(self.rows.get("attribution") or ()), design=self.design)


@dataclass(frozen=True)
class Report:
    """A written report: its analysis (stats.csv's rows and more), the published table beside ours
    (published.csv; None when the study declares no published figures or has no runs), and the
    study's own answer as the terminal prints it (its sections' lines, StudySpec.answer)."""

    analysis: Analysis
    published: pd.DataFrame | None = None
    answer: tuple[str, ...] = ()
