"""A study's report rebuilt from its rows and manifest: the one function behind `gr-bench report`,
`export` and the docs, whether the rows come from a storage (export.collect) or a shipped folder
(shipped.load). Nothing here prints; the CLI prints what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..study import StudySpec, get_spec, spec_fingerprint
from ..study.sequential import describe, design
from ..thresholds import DEFAULTS
from . import memory_answer
from .build import write_report
from .scenarios import one_scenario


@dataclass(frozen=True)
class Rebuilt:
    spec: StudySpec
    result: dict  # analysis.analyse's, with "published" (the published table or None)
    trials: pd.DataFrame
    runs: pd.DataFrame
    alpha: float  # the family-wise alpha (a --sequential study spends it over its looks)
    min_effect: float
    power_effect: float
    plan: dict | None  # the --sequential plan
    warning: str  # "" or one line: the study definition changed since the runs
    failed: int  # failed trials
    answer: list[str]  # a grid anchored on a bytes-matched buffer: the answer at equal bytes (memory_answer)


def rebuild(folder: Path, study_name: str, rows: dict[str, list[dict]], meta: dict, *, study: str | None = None,
            alpha: float = DEFAULTS.alpha, min_effect: float | None = None, power_effect: float | None = None,
            draw: bool = True) -> Rebuilt:
    """Write stats.csv, published.csv, plots/ (unless draw=False) and report.md into `folder`.

    ``power_effect``: the difference worth detecting (stored unit: 0.02 = two points), for power,
    the MDE statement and the seeds needed; ``min_effect`` the smallest that matters (0.01).
    A --sequential study is tested look by look under its plan's boundary, with the alpha and
    thresholds its looks used (the compared stage's plan, in the manifest), so the report gives the
    verdicts its looks gave."""
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
    looks = None
    if plan:
        alpha = float(plan.get("alpha", alpha))
        looks = design(plan, [int(s) for s in runs["seed"].unique()] if len(runs) else [])
        min_effect = plan["min_effect"] if min_effect is None else min_effect
        power_effect = plan["power_effect"] if power_effect is None else power_effect
    min_effect = DEFAULTS.min_effect if min_effect is None else min_effect
    power_effect = DEFAULTS.power_effect if power_effect is None else power_effect
    result = write_report(folder, study_name, spec.kind, spec.compared_with(), rows,
                          importances=meta.get("importances"), multi=bool(meta.get("multi_objective")),
                          alpha=alpha, min_effect=min_effect, power_effect=power_effect, primary=spec.objective,
                          manifest=meta, attribution=rows["attribution"], pairs=spec.grid_pairs(),
                          published=spec.published, sequential=describe(plan) if plan else None, draw=draw,
                          question=spec.summary, design=looks, families=spec.families or ())
    failed = int((trials["state"] == "FAIL").sum()) if len(trials) else 0
    # a grid anchored on a buffer of a generator's bytes (memory, generator_vs_buffer): the answer at
    # equal bytes, on the fronts and at what cost, in report.md after its Answer section
    section, answer = memory_answer.report_section(runs, folder / "stats.csv", spec.anchor) \
        if spec.kind == "grid" and len(runs) else ("", [])
    if section:
        memory_answer.add_section(folder / "report.md", section)
    return Rebuilt(spec, result, trials, runs, alpha, min_effect, power_effect, plan, warning, failed, answer)


def _asked_scenario(spec: StudySpec, setup: dict) -> str | None:
    """A study with no runs yet: the scenario its manifest's setup asked for (--scenario, --set
    scenario=), composed as its runs' configs are; None (its own) when that cannot be composed."""
    from ..config import ConfigError
    from ..study import Setup, make_config

    asked = Setup(study=spec.name, study_name="", storage_url="", results_dir="", dataset=setup.get("dataset"),
                  scenario=setup.get("scenario"), n_tasks=setup.get("n_tasks"), sets=tuple(setup.get("sets") or ()))
    try:
        return make_config(spec, asked, [], 0).data.scenario
    except ConfigError:  # a plugin no longer importable, say: nothing ran, nothing to compare
        return None


__all__ = ["Rebuilt", "rebuild"]
