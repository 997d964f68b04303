"""What a study declares (StudySpec), and finding study modules: one module in studies/ (installed
as gr_bench.studies) or in a folder named by $GR_BENCH_STUDIES."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna

MAIN_STUDY = "replay_schedule"  # listed first: the main job
USER_STUDIES_ENV = "GR_BENCH_STUDIES"  # extra folders of study modules (os.pathsep-separated)


class StudyError(ValueError):
    """A study that cannot run as asked (unknown name, conflicting settings); one line."""


@dataclass(frozen=True)
class Section:
    """A section a study's answer adds to its report.md, right after the Answer: its markdown, from
    its "## " heading on, and the sentences the terminal prints with the verdicts."""

    markdown: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudySpec:
    """What a study module declares. Values are config overrides (see config.py field names)."""

    name: str
    summary: str  # one line for `gr-bench study --list`
    base: dict[str, object]  # overrides applied to every run of the study
    seeds: int = 3  # search: seeds per trial; grid: the seed axis
    trials: int = 30  # search budget (a grid's budget is its size)
    space: Callable[[optuna.Trial, int], dict[str, object]] | None = None  # search: (trial, n_tasks) -> overrides
    grid: dict[str, dict[str, dict[str, object]]] | None = None  # grid: axis -> {label: overrides}
    objective: str = "final_avg_acc"  # maximised; a run metric
    prune: bool = True  # search: successive halving on tasks completed (pruning.py)
    # search: the share of each task's training (classifier and generator epochs, or iters; rounded
    # up) that search trials run, a cheaper proxy that still sees every task; None = all of it. The
    # final stage always trains in full, and --no-prune searches in full too.
    search_fidelity: float | None = None
    start_points: tuple[dict[str, object], ...] = ()  # search: parameters of the first trials
    top: int = 3  # search: configurations re-evaluated on the test split
    eval_seeds: int = 5  # search: seeds of the final stage (disjoint from search seeds)
    # search: label -> overrides, also re-evaluated
    reference: dict[str, dict[str, object]] = field(default_factory=dict)
    multi_objective: bool = False  # supports --multi-objective (accuracy against training time)
    quick: dict[str, object] = field(default_factory=dict)  # field overrides for --quick ("base" is merged)
    # grid: the label every other is compared with (default: generative replay, else the best)
    anchor: str | None = None
    # label -> {"mean": points, "sem": points, "n": the paper's seeds, "source": citation}: published
    # figures to test the study's own against (report/published.py: an equivalence test)
    published: dict[str, dict[str, object]] | None = None
    # search: name -> config fields, splitting what the search changes into groups. The final stage
    # also runs, for the best configuration and each reference, the reference with one group taken
    # from the best ("best-schedule@<reference>-lr": the best's schedule at the reference's lr), so
    # each group's effect is measured alone (report: "attribution").
    attribution: dict[str, tuple[str, ...]] | None = None
    # search: the final stage also runs each reference with its classifier epochs scaled so that it
    # trains on as many samples as the best ("<reference>@best-samples"): a larger replay set also
    # means more training, and this control tells the two apart (report: "Replay set or extra
    # training?", stages.compute_matched_configs).
    compute_matched: bool = False
    # grid: an axis whose levels are compared only within themselves (task_scaling: accuracy with 2
    # tasks is not compared with accuracy with 10); the anchor is then a label of the other axis.
    compare_within: str | None = None
    # Holm families tested beside the primary one, on the study's objective, by name
    # (budgets.FAMILIES: "budgets", the best generator within each buffer's bytes against that
    # buffer); a --sequential study adds seeds for their undecided comparisons too
    families: tuple[str, ...] | None = None
    # scenario -> what differs when the study runs in that scenario (--scenario task|domain): its
    # "summary" (the question) and its "published" figures (that scenario's column of the paper). A
    # study runs in one scenario (its base's, else class) unless asked; in a scenario not named here it
    # has no published figures, since its own scenario's would be beside the wrong runs (in_scenario).
    scenarios: dict[str, dict[str, object]] | None = None
    # The study's own answer in report.md, beside the verdicts every study gets: called with the
    # analysed study (report.analysis.Analysis) and its runs (runs.csv's rows as a DataFrame), it
    # returns the Sections to add (none when they do not apply). It reads only what it is given; the
    # report layer renders whatever it returns (studies/_memory_answer.py: the answer at equal bytes).
    answer: Callable[..., Sequence[Section]] | None = None

    def own_scenario(self) -> str:
        """The scenario the study runs in unless --scenario (or --set scenario=) says otherwise."""
        from ..config import DataConfig

        return str(self.base.get("scenario", DataConfig().scenario))

    def in_scenario(self, scenario: str | None) -> StudySpec:
        """The study as it runs in `scenario` (None: its own): that scenario's summary and published
        figures (`scenarios`), none in a scenario it gives none for. In its own scenario only
        `scenarios` is dropped, so the fingerprint a run there records is the one it had before the
        study named other scenarios (a study stored then still resumes and reports unwarned)."""
        if scenario is None or scenario == self.own_scenario():
            return dataclasses.replace(self, scenarios=None)
        fields = {"published": None, **(self.scenarios or {}).get(scenario, {})}
        return dataclasses.replace(self, scenarios=None, **fields)  # type: ignore[arg-type]

    def compared_with(self) -> list[str]:
        """The labels the report compares the others with: search references, or the grid's anchor."""
        if self.kind == "search":
            return list(self.reference)
        return [self.anchor] if self.anchor else []

    @property
    def kind(self) -> str:
        return "search" if self.space is not None else "grid"

    def stored_grid(self) -> dict[str, dict[str, dict[str, object]]]:
        """The grid as its trials store it: each arm under the name it was first stored with
        (labels.first_label). Optuna refuses a categorical parameter whose choices change within a
        study, so a grid stored before a rename resumes only with its old names; reports show
        today's (labels.current_label)."""
        return _first_names(self.grid or {})

    def grid_pairs(self) -> list[tuple[str, str]] | None:
        """With compare_within: (label, anchor's label) within each level of that axis, as runs.csv
        labels them (the grid's levels joined by spaces, in axis order); else None."""
        if self.kind != "grid" or not self.compare_within or not self.anchor:
            return None
        axes = list(self.grid.items())  # type: ignore[union-attr]
        points: list[dict[str, str]] = [{}]
        for axis, labels in axes:
            points = [{**p, axis: label} for p in points for label in labels]

        def label(p: dict[str, str]) -> str:
            return " ".join(p[axis] for axis, _ in axes)

        def is_anchor(q: dict[str, str]) -> bool:
            return any(v == self.anchor for a, v in q.items() if a != self.compare_within)

        pairs = []
        for p in points:
            same = [q for q in points if q[self.compare_within] == p[self.compare_within]]
            anchor = next((q for q in same if is_anchor(q)), None)
            if anchor is not None and not is_anchor(p):
                pairs.append((label(p), label(anchor)))
        return pairs

    def quick_version(self) -> StudySpec:
        q = dict(self.quick)
        q["base"] = {**self.base, **q.get("base", {})}  # type: ignore[dict-item]
        return dataclasses.replace(self, **q)


# --- discovery: a study is one module in studies/ (installed as gr_bench.studies) or in a folder
# named by $GR_BENCH_STUDIES; no list of names anywhere else. A module with LISTED = False runs but
# is not listed (bench_workers, used by `gr-bench bench`).

def _study_sources() -> dict[str, Path | None]:
    """name -> its file in a user folder, or None for a study shipped with gr-bench."""
    from .. import studies

    found: dict[str, Path | None] = {m.name: None for m in pkgutil.iter_modules(studies.__path__)
                                     if not m.name.startswith("_")}
    for folder in filter(None, os.environ.get(USER_STUDIES_ENV, "").split(os.pathsep)):
        for path in sorted(Path(folder).expanduser().glob("*.py")):
            if path.stem.startswith("_"):
                continue
            if path.stem in found:
                raise StudyError(f"{path}: a study named {path.stem!r} already exists; rename the file")
            found[path.stem] = path
    return found


def _module(name: str, source: Path | None):
    if source is None:
        return importlib.import_module(f"gr_bench.studies.{name}")  # studies/, installed under gr_bench
    qualified = f"gr_bench_user_studies.{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, source)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[qualified] = module
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception as e:
            del sys.modules[qualified]
            raise StudyError(f"{source}: cannot load the study ({type(e).__name__}: {e})") from None
    return sys.modules[qualified]


def study_names(listed_only: bool = True) -> list[str]:
    """Every discovered study (the main job first), without the unlisted ones unless asked."""
    sources = _study_sources()
    names = sorted(sources, key=lambda n: (n != MAIN_STUDY, n))
    if listed_only:
        names = [n for n in names if getattr(_module(n, sources[n]), "LISTED", True)]
    return names


def get_spec(name: str, quick: bool = False) -> StudySpec:
    sources = _study_sources()
    if name not in sources:
        raise StudyError(f"unknown study {name!r}; choose from {', '.join(study_names())} (gr-bench study --list)")
    spec = getattr(_module(name, sources[name]), "STUDY", None)
    if not isinstance(spec, StudySpec) or spec.name != name:
        raise StudyError(f"study module {name!r} must define STUDY = StudySpec(name={name!r}, ...)")
    from ..metrics import METRIC_SENSE

    if spec.objective not in METRIC_SENSE:
        raise StudyError(f"study {name!r}: objective {spec.objective!r} is not a run metric; "
                         f"choose from {', '.join(METRIC_SENSE)}")
    share = spec.search_fidelity
    if share is not None and not (isinstance(share, (int, float)) and 0 < share <= 1):
        raise StudyError(f"study {name!r}: search_fidelity must be in (0, 1], got {share!r}")
    _check_one_scenario(spec)
    return spec.quick_version() if quick else spec


SCENARIO_FIELDS = ("summary", "published")  # what StudySpec.scenarios may set per scenario


def _check_one_scenario(spec: StudySpec) -> None:
    """A study runs in one scenario: no grid arm may set it (a report would set the arms of two
    scenarios beside each other), and `scenarios` names scenarios and only SCENARIO_FIELDS."""
    from ..config import SCENARIOS

    for grid in (spec.grid, spec.quick.get("grid")):
        for arms in (grid or {}).values():  # type: ignore[union-attr]
            for label, overrides in arms.items():
                if "scenario" in overrides:
                    raise StudyError(f"study {spec.name!r}: grid arm {label!r} sets scenario; a study runs in one "
                                     "scenario (run it once per scenario with --scenario)")
    for scenario, fields in (spec.scenarios or {}).items():
        extra = sorted(set(fields) - set(SCENARIO_FIELDS))
        if scenario not in SCENARIOS or extra:
            raise StudyError(f"study {spec.name!r}: scenarios[{scenario!r}] must be one of {', '.join(SCENARIOS)} "
                             f"setting only {', '.join(SCENARIO_FIELDS)}"
                             + (f" (not {', '.join(extra)})" if extra else ""))


def _first_names(grid: dict[str, dict[str, dict[str, object]]]) -> dict:
    """A grid with its arms under the names they were first stored with (labels.first_label)."""
    from ..labels import first_label

    return {axis: {first_label(k): v for k, v in arms.items()} for axis, arms in grid.items()}


def spec_fingerprint(spec: StudySpec) -> str:
    """A hash of a study's definition, its search space's source code included, so that a study
    created from another version of its module is refused on resume instead of silently continued.
    A renamed label (labels.RENAMED: a reference, a grid's arm, the anchor) is hashed under its
    first name: a rename changes no science, so a study stored before it resumes and reports as the
    same study."""
    from ..labels import first_label

    parts = []
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.default is None and value is None:  # a field added later, left unset, changes no fingerprint
            continue
        if f.name == "answer":  # how the report words the answer: no run or comparison depends on it
            continue
        if f.name == "reference":
            value = {first_label(k): v for k, v in value.items()}
        elif f.name == "grid":  # arms are named like references: {axis: {label: overrides}}
            value = _first_names(value)
        elif f.name == "quick" and "grid" in value:
            value = {**value, "grid": _first_names(value["grid"])}
        elif f.name == "anchor" and isinstance(value, str):
            value = first_label(value)
        if callable(value):
            try:
                value = inspect.getsource(value)
            except (OSError, TypeError):
                value = getattr(value, "__qualname__", repr(value))
        parts.append(f"{f.name}={value!r}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
