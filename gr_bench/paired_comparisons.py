"""Which comparisons a study asks, and their verdicts, from its runs' rows (runs.csv's columns).

Comparisons are paired by seed: every configuration of a study runs on the same seeds. Each study
states its question as pairs against an anchor (comparison_pairs):
- grids: every configuration against the study's declared anchor (the generator study: the seed's
  VAE), else generative replay (the method under test), else the best configuration;
- searches: each re-evaluated best configuration against the reference on the test split.

A pair of runs is one seed's runs of the two configurations that ran the same code (their run code,
provenance.run_code: the modules a run executes; for rows without one, their commit): a seed whose
two runs ran different code is left out of that comparison. A metric's pairs are one Holm family
(stats.compare_family); its rows read in the metric's sense
(settle), and a wall-clock row (time_*) gets no verdict (wall_clock_rule: machines are shared and
their load swings; cpu_s and flops_train are the judged costs). The report (report.analysis, all
metrics and tables) and a --sequential study's looks (study.sequential, the primary family's
verdicts) both decide here, so they agree by construction.
Pure functions over pandas and stats: no storage, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from . import stats
from .budgets import FAMILIES
from .files import ResultsError
from .group_sequential import Design
from .metrics import METRIC_SENSE, MetricSense
from .provenance import row_run_code
from .thresholds import DEFAULTS, Thresholds

PRIMARY = "final_avg_acc"  # a study's objective unless it declares another
# Cost metrics, lower is better, each its own Holm family with a relative minimum effect. In order
# of preference for the headline cost verdict: counts do not depend on the machine, wall clock does.
COSTS = ("flops_train", "cpu_s", "time_total_s")
JUDGED_COSTS = ("cpu_s", "flops_train")  # what a reader compares instead of wall clock
# stats.csv's `interleaved` for a wall-clock row (blank on other rows): interleaved()'s answer
INTERLEAVED_TEXT = {True: "yes", False: "no", None: "unknown (no start times)"}
# The verdict of every wall-clock row: its numbers are shown for reading, never judged
WALL_CLOCK_VERDICT = stats.WALL_CLOCK_VERDICT


def sense(metric: str) -> MetricSense:
    """Which way a metric improves and how it is shown (metrics.METRIC_SENSE, plus cost counts)."""
    return METRIC_SENSE.get(metric) or MetricSense("higher", "", 1.0)


def is_wall_clock(metric: str) -> bool:
    return metric.startswith("time_")


def with_code(data: pd.DataFrame) -> pd.DataFrame:
    """The rows with a "code" column naming the code each run executed: provenance.row_run_code
    (runs.csv's run_code, else the run code of its clean commit), else its code_version; one value
    for all when the rows say nothing of their code."""
    def code(run_code, version) -> str:
        run_code, version = ("" if pd.isna(v) else str(v) for v in (run_code, version))
        return row_run_code({"run_code": run_code, "code_version": version}) or version

    run_codes = data["run_code"] if "run_code" in data.columns else pd.Series("", index=data.index)
    versions = data["code_version"] if "code_version" in data.columns else pd.Series("", index=data.index)
    return data.assign(code=[code(r, v) for r, v in zip(run_codes, versions)])


def ok_runs(runs: pd.DataFrame, stage: str) -> pd.DataFrame:
    if runs.empty:
        return runs
    return runs[(runs["stage"] == stage) & (runs["status"] == "ok")]


def _anchor(runs: pd.DataFrame) -> str:
    labels = list(dict.fromkeys(runs["label"]))
    gen = [lab for lab in labels if lab == "generative"] or [lab for lab in labels if "generative" in lab]
    if gen:
        return gen[0]
    return str(runs.groupby("label")["final_avg_acc"].mean().idxmax())


def comparison_pairs(kind: str, runs: pd.DataFrame, reference: list[str], *, attribution: list[dict] | None = None,
                     pairs: list[tuple[str, str]] | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The stage whose runs are compared, and the (a, b) pairs: a is the configuration in question.

    ``attribution`` (a search's final-stage entries, study.attribution_configs): each swap is
    compared with its own reference only, so that the pair differs in one group of fields.
    ``pairs`` (a grid's explicit comparisons, StudySpec.grid_pairs) replaces the anchor rule."""
    if kind == "search":
        final = ok_runs(runs, "final")
        labels = list(dict.fromkeys(final["label"])) if len(final) else []
        refs = [r for r in reference if r in labels]
        entries = [e for e in attribution or [] if e.get("a") in labels and e.get("b") in labels]
        swaps = {e["a"] for e in entries} - {e["best"] for e in entries} - set(refs)
        out = [(lab, r) for r in refs for lab in labels if lab not in refs and lab not in swaps]
        out += [(e["a"], e["b"]) for e in entries if (e["a"], e["b"]) not in out]
        return "final", list(dict.fromkeys(out))
    search = ok_runs(runs, "search")
    if search.empty:
        return "search", []
    labels = list(dict.fromkeys(search["label"]))
    if pairs is not None:
        return "search", [(a, b) for a, b in pairs if a in labels and b in labels]
    declared = next((r for r in reference if r in labels), None)
    if declared:  # a reference: each other configuration is the one in question
        return "search", [(lab, declared) for lab in labels if lab != declared]
    anchor = _anchor(search)
    return "search", [(anchor, lab) for lab in labels if lab != anchor]


def check_once(runs: pd.DataFrame) -> None:
    """Each (configuration, seed) may count once in a paired comparison; a duplicate is refused with
    one line naming it (export.collect keeps only a retried trial's newest attempt, so this only
    fires on results merged by hand or stored by an older gr-bench)."""
    if runs.empty or not {"label", "seed"} <= set(runs.columns):
        return
    dup = runs[runs.duplicated(["label", "seed"], keep=False)][["label", "seed"]].drop_duplicates()
    if len(dup):
        named = ", ".join(f"{r.label} seed {r.seed}" for r in dup.head(5).itertuples())
        raise ResultsError(f"{len(dup)} (configuration, seed) pair(s) have more than one result ({named}"
                           f"{', ...' if len(dup) > 5 else ''}); a paired comparison needs each once")


# --- wall-clock comparisons: shown, never judged; whether their arms ran interleaved is recorded --

def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def restored_generator(runs: pd.DataFrame) -> pd.Series:
    """Per run: did it restore its generator's training from another run (runs.csv's generator_from,
    generator_tracks.py)? All False for a runs.csv written before that column existed."""
    if "generator_from" not in runs.columns:
        return pd.Series(False, index=runs.index)
    return runs["generator_from"].fillna("").astype(str).str.strip().ne("")


def interleaved(runs, a: str, b: str) -> bool | None:
    """Did configurations a and b run interleaved, seed by seed? For every seed both ran, no run of
    a or b with another seed started between the starts of a's and b's runs of that seed: the runs
    of each paired seed are adjacent in the pair's start order (runs.csv's started_at; other
    configurations' runs in between do not count). stats.csv's `interleaved` records it beside a
    wall-clock comparison, which is never judged (wall_clock_rule).

    None: not known, some run of the pair has no start time (a runs.csv from before started_at was
    recorded), or there are no runs. False when the arms share no seed, when a run was reused from
    the run cache (``reused`` true): its times were measured when it first ran, and when a run
    restored its generator from another's (``generator_from``, generator_tracks.py)."""
    df = runs if isinstance(runs, pd.DataFrame) else pd.DataFrame(list(runs or []))
    if df.empty or not {"label", "seed", "started_at"} <= set(df.columns):
        return None
    pair = df[df["label"].astype(str).isin([a, b])]
    start = pd.to_datetime(pair["started_at"], utc=True, errors="coerce", format="ISO8601")
    if pair.empty or start.isna().any():
        return None
    if "reused" in pair.columns and pair["reused"].map(_truthy).any():
        return False
    if restored_generator(pair).any():
        return False  # its generator's seconds were measured in the run that trained it
    seeds = pair.assign(_start=start).sort_values(["_start", "seed"], kind="stable")["seed"].tolist()
    labels = pair["label"].astype(str)
    both = set(pair.loc[labels == a, "seed"]) & set(pair.loc[labels == b, "seed"])
    if not both:  # no seed in common: nothing ran side by side
        return False
    for s in both:
        at = [i for i, x in enumerate(seeds) if x == s]
        if at[-1] - at[0] + 1 != len(at):
            return False
    return True


def wall_clock_rule(row: dict, runs: pd.DataFrame) -> dict:
    """A wall-clock comparison (time_*) is never judged: machines are shared and their load swings
    between and within runs, even when the arms ran interleaved, so its verdict is
    WALL_CLOCK_VERDICT and its numbers (diff, CI, p) stay for reading; cpu_s and flops_train are
    the judged costs. stats.csv's `interleaved` still says whether the arms ran seed by seed (a
    reader's context). Other metrics pass unchanged."""
    if not is_wall_clock(row["metric"]):
        row["interleaved"] = ""
        return row
    row["interleaved"] = INTERLEAVED_TEXT[interleaved(runs, row["a"], row["b"])]
    row["verdict"] = WALL_CLOCK_VERDICT
    return row


# --- verdicts --------------------------------------------------------------------------------------

def settle(row: dict, runs: pd.DataFrame) -> dict:
    """A stats.compare_family row's verdict as it is read, in place: in the metric's sense (less
    forgetting, less cost: a negative difference is the better one), "equivalent" with its margin,
    and wall_clock_rule (no verdict on wall clock)."""
    sn = sense(row["metric"])
    stats.orient(row, sn.better)
    if row["verdict"] == "equivalent":
        row["verdict"] = stats.verdict_label(row, scale=sn.scale, unit=sn.unit)
    return wall_clock_rule(row, runs)


def family(data: pd.DataFrame, pairs: list[tuple[str, str]], metric: str, *, study: str = "",
           thresholds: Thresholds = DEFAULTS, design: Design | None = None) -> list[dict]:
    """One metric's Holm family over ``pairs`` of ``data`` (runs of one stage, label / seed / metric
    columns, paired by seed), each row settled. Accuracy-like metrics use the thresholds'
    ``min_effect`` (verdict), ``margin`` (TOST, default min_effect) and ``power_effect`` (power,
    MDE, seeds needed); cost metrics (COSTS) use ``min_rel_effect`` of the other arm's mean for all
    three. ``design``: a --sequential study's looks (stats.compare_family tests each pair at each of
    them)."""
    rows = stats.compare_family(with_code(data)[["label", "seed", metric, "code"]], pairs, metric=metric, study=study,
                                paired=True, thresholds=thresholds, relative=metric in COSTS, design=design)
    return [settle(r, data) for r in rows]


@dataclass(frozen=True)
class Question:
    """What a study compares: comparison_pairs' arguments, which always travel together (its kind,
    the reference configurations, a search's attribution entries, a grid's explicit pairs)."""

    kind: str  # "grid" or "search"
    reference: Sequence[str] = ()
    attribution: Sequence[dict] | None = None
    pairs: Sequence[tuple[str, str]] | None = None

    def compared(self, runs: pd.DataFrame) -> tuple[str, list[tuple[str, str]]]:
        """comparison_pairs on ``runs``: the compared stage and its (a, b) pairs."""
        return comparison_pairs(self.kind, runs, list(self.reference),
                                attribution=None if self.attribution is None else list(self.attribution),
                                pairs=None if self.pairs is None else list(self.pairs))


def primary_verdicts(runs: pd.DataFrame, question: Question, *, primary: str = PRIMARY,
                     thresholds: Thresholds = DEFAULTS, design: Design | None = None,
                     families: tuple[str, ...] = ()) -> list[dict]:
    """The primary family's rows (``primary``: the study's objective) of the compared stage's runs,
    as report.analysis.analyse gives them for that metric: the same pairs, thresholds and verdicts,
    then the rows of each declared family (``families``: budgets.FAMILIES names, each row's
    "family" its name). [] when there is nothing to compare."""
    stage, pairs = question.compared(runs)
    data = ok_runs(runs, stage)
    check_once(data)
    if not pairs or primary not in data:
        return []
    rows = family(data, pairs, primary, thresholds=thresholds, design=design)
    for name in families:
        rows += named_family(data, name, primary, thresholds=thresholds, design=design)
    return rows


def named_family(data: pd.DataFrame, name: str, metric: str, *, thresholds: Thresholds = DEFAULTS,
                 design: Design | None = None) -> list[dict]:
    """A declared family (budgets.FAMILIES[name]) on ``metric``: its pairs picked on the first look's
    seeds (every seed without a design), tested as one Holm family; each row's "family" is ``name``."""
    if name not in FAMILIES:
        raise ResultsError(f"unknown comparison family {name!r}; known: {', '.join(FAMILIES)}")
    pairs = FAMILIES[name](data, design.seeds[0] if design is not None else None)
    if not pairs:
        return []
    return [{**r, "family": name} for r in family(data, pairs, metric, thresholds=thresholds, design=design)]
