"""A study's report rebuilt from its rows and manifest: the one function behind `gr-bench report`,
`export` and the docs, whether the rows come from a storage (export.collect) or a shipped folder
(shipped.load). Nothing here prints; the CLI prints what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..orchestration import StudySpec, get_spec, spec_fingerprint
from ..orchestration.sequential import describe, design
from ..thresholds import DEFAULTS, Thresholds
from .analysis import Analysis
from .build import write_report
from .inputs import Report, ReportInputs
from .scenarios import one_scenario


@dataclass(frozen=True)
class Asked:
    """The thresholds a `gr-bench report` asks for. A --sequential study is judged at its plan's
    alpha whatever is asked, and at its plan's min_effect and power_effect unless asked (None:
    not asked); any other study at what is asked, DEFAULTS where nothing is."""

    alpha: float = DEFAULTS.alpha
    min_effect: float | None = None  # the smallest difference that matters (0.01: one point)
    power_effect: float | None = None  # the difference worth detecting, for power, MDE and seeds needed


@dataclass(frozen=True)
class Rebuilt:
    spec: StudySpec
    report: Report  # the analysis, the published table beside ours, the study's own answer
    trials: pd.DataFrame
    runs: pd.DataFrame
    thresholds: Thresholds  # as the verdicts were judged (a --sequential study spends alpha over its looks)
    plan: dict | None  # the --sequential plan
    warning: str  # "" or one line: the study definition changed since the runs
    failed: int  # failed trials

    @property
    def analysis(self) -> Analysis:
        return self.report.analysis

    @property
    def published(self) -> pd.DataFrame | None:
        return self.report.published

    @property
    def answer(self) -> tuple[str, ...]:
        """The study's own answer, as the terminal prints it (StudySpec.answer)."""
        return self.report.answer


def rebuild(folder: Path, study_name: str, rows: dict[str, list[dict]], meta: dict, *, study: str | None = None,
            asked: Asked | None = None, draw: bool = True) -> Rebuilt:
    """Write stats.csv, published.csv, plots/ (unless draw=False) and report.md into `folder`.

    ``asked``: the thresholds asked for (Asked). A --sequential study is tested look by look under its
    plan's boundary, with the alpha and thresholds its looks used (the compared stage's plan, in the
    manifest), so the report gives the verdicts its looks gave."""
    trials, runs = pd.DataFrame(rows["trials"]), pd.DataFrame(rows["runs"])
    setup = meta.get("setup", {})
    spec = get_spec(study or setup.get("study"), bool(setup.get("quick")))
    # the study as it ran in its runs' one scenario (rows of two are refused): that scenario's figures
    spec = spec.in_scenario(one_scenario(runs, f"study {study_name!r}") or _asked_scenario(spec, setup))
    stored, current = setup.get("definition", ""), spec_fingerprint(spec)
    warning = (f"{study_name!r} was run from another definition of study {spec.name!r} (fingerprint {stored}, now "
               f"{current}); its runs are as stored, labels and comparisons follow today's definition"
               if stored and stored != current else "")
    plan = meta.get("sequential")
    thresholds = judged_at(asked or Asked(), plan)
    looks = design(plan, [int(s) for s in runs["seed"].unique()] if len(runs) else []) if plan else None
    report = write_report(folder, ReportInputs(study_name, spec, rows, meta, thresholds, looks,
                                               describe(plan) if plan else None), draw=draw)
    failed = int((trials["state"] == "FAIL").sum()) if len(trials) else 0
    return Rebuilt(spec, report, trials, runs, thresholds, plan, warning, failed)


def judged_at(asked: Asked, plan: dict | None) -> Thresholds:
    """The thresholds a report judges at: a --sequential plan's alpha, and its min_effect and
    power_effect where none is asked; else what is asked, DEFAULTS for the rest."""
    alpha, min_effect, power_effect = asked.alpha, asked.min_effect, asked.power_effect
    if plan:
        alpha = float(plan.get("alpha", alpha))
        min_effect = plan["min_effect"] if min_effect is None else min_effect
        power_effect = plan["power_effect"] if power_effect is None else power_effect
    return Thresholds(alpha=alpha, min_effect=DEFAULTS.min_effect if min_effect is None else min_effect,
                      power_effect=DEFAULTS.power_effect if power_effect is None else power_effect)


def _asked_scenario(spec: StudySpec, setup: dict) -> str | None:
    """A study with no runs yet: the scenario its manifest's setup asked for (--scenario, --set
    scenario=), composed as its runs' configs are; None (its own) when that cannot be composed."""
    from ..config import ConfigError
    from ..orchestration import Setup, make_config

    asked = Setup(study=spec.name, study_name="", storage_url="", results_dir="", dataset=setup.get("dataset"),
                  scenario=setup.get("scenario"), n_tasks=setup.get("n_tasks"), sets=tuple(setup.get("sets") or ()))
    try:
        return make_config(spec, asked, [], 0).data.scenario
    except ConfigError:  # a plugin no longer importable, say: nothing ran, nothing to compare
        return None


__all__ = ["Asked", "Rebuilt", "judged_at", "rebuild"]
