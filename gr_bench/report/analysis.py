"""A study's statistics from its stored runs (no training): every metric's Holm family, and how a
person reads them.

Which pairs are compared, and each row's verdict, is paired_comparisons.py's (shared with a --sequential
study's looks). Added here: the secondary and cost families beside the primary one, a Friedman
test across all configurations of a grid, and for task_scaling a power-law fit of training time
against the number of tasks per schedule, against the seed report's predicted quadratic growth.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from .. import paired_comparisons, stats
from ..group_sequential import Design
from ..paired_comparisons import (  # also read as analysis.<name> by build.py and docs.py
    COSTS,
    PRIMARY,
    check_once,
    comparison_pairs,
    is_wall_clock,
    ok_runs,
    sense,
)
from ..thresholds import DEFAULTS, Thresholds
from . import frames

SECONDARY = ("avg_forgetting",)  # secondary quality metrics, each its own Holm family

# stats.csv: every column once. Differences a person reads are in accuracy points (*_points) for
# fraction metrics, relative (*_rel) for cost metrics; the first 19 columns keep their old names
# and the metric's stored unit (see `unit`).
STATS_COLUMNS = (
    *stats.FAMILY_KEYS[:19],
    "role", "family", "family_size", "unit", "wall_clock",
    "diff_points", "ci_low_points", "ci_high_points", "min_effect_points", "margin_points",
    "tost_p", "tost_p_holm", "equivalent", "sd_diff_points", "mde_points", "power_effect_points",
    "power_at_min_effect", "seeds_needed", "underpowered", "exact",
    "rel_diff", "min_rel_effect", "mde_rel",
    "paired_delta", "cliffs_delta", "min_p", "min_p_holm", "test_secondary", "p_secondary", "alpha",
    "confidence", "ci_level", "ci95_low", "ci95_high", "interleaved", "look", "looks", "alpha_nominal", "boundary",
)
_POINT_KEYS = ("diff", "ci_low", "ci_high", "min_effect", "margin", "sd_diff", "mde", "power_effect")


def stats_rows(rows: list[dict]) -> list[dict]:
    """The analysis rows as stats.csv writes them: STATS_COLUMNS only, each once."""
    return [{k: r.get(k) for k in STATS_COLUMNS} for r in rows]


def shown(row: dict) -> tuple[float, str]:
    """Scale and unit a person reads a stats row in: accuracy points for fractions, else the
    metric's display unit (GFLOP for flops_train, MiB for bytes), else the stored unit."""
    if row.get("unit") == "fraction":
        return 100.0, "pts"
    s = sense(row["metric"])
    return (s.scale, s.unit) if s.unit else (1.0, row.get("unit") or "")


def _text(value: object) -> str:
    if isinstance(value, float):
        return "(unset)" if value != value else f"{value:.4g}"  # NaN: a field this arm does not set
    if value is None or value == "":
        return "(unset)"
    return str(value)


def differing_fields(trials: pd.DataFrame, runs: pd.DataFrame, stage: str, a: str, b: str) -> list[tuple[str, str, str]]:
    """The config fields in which two arms differ, as (field, a's value, b's value).

    The candidates are the fields either arm's stored overrides set (trials.csv's overrides); each
    is compared at the value the runs actually used (runs.csv's config columns), so an override
    equal to the other arm's default is no difference."""
    def overrides(label: str) -> dict[str, str]:
        rows = trials[(trials["stage"] == stage) & (trials["label"] == label)] if len(trials) else trials
        text = next((str(o) for o in rows["overrides"] if isinstance(o, str) and o), "") if len(rows) else ""
        return dict(p.split("=", 1) for p in text.split() if "=" in p)

    def used(label: str) -> dict:
        rows = runs[(runs["stage"] == stage) & (runs["label"] == label)] if len(runs) else runs
        return rows.iloc[0].to_dict() if len(rows) else {}

    oa, ob, ua, ub = overrides(a), overrides(b), used(a), used(b)
    out = []
    for field in dict.fromkeys([*oa, *ob]):
        if field == "seed":
            continue
        va = ua[field] if field in ua else oa.get(field, "(default)")
        vb = ub[field] if field in ub else ob.get(field, "(default)")
        if _text(va) != _text(vb):
            out.append((field, _text(va), _text(vb)))
    return out


def metric_plan(data: pd.DataFrame, primary: str = PRIMARY) -> list[tuple[str, str]]:
    """(metric, role) for every metric these runs have: the study's objective as the one primary
    family, then the secondary quality metrics and the cost metrics present."""
    plan = [(primary, "primary")] if primary in data else []
    # A metric that no run measured (NaN throughout: cpu_s and flops_train of runs stored before
    # they were recorded) makes no family.
    plan += [(m, "secondary") for m in (*SECONDARY, *COSTS) if m in data and m != primary
             and pd.to_numeric(data[m], errors="coerce").notna().any()]
    return plan


def _decorate(row: dict, role: str) -> dict:
    """stats.csv's display columns: role, unit, points or relative differences (the verdict is
    comparisons.settle's)."""
    metric = row["metric"]
    sn = sense(metric)
    fraction = sn.unit == "points"
    nan = float("nan")
    row.update(role=role, family=metric, unit="fraction" if fraction else sn.unit,
               wall_clock=is_wall_clock(metric))
    for k in _POINT_KEYS:
        row[f"{k}_points"] = 100.0 * row[k] if fraction else nan
    base = abs(row["mean_b"]) if metric in COSTS and row["mean_b"] else nan
    row["rel_diff"], row["mde_rel"] = row["diff"] / base, row["mde"] / base
    return row


@dataclass(frozen=True)
class Comparisons:
    """What a study compares, as its spec and its stored rows declare it."""

    kind: str  # "grid" or "search"
    reference: tuple[str, ...] = ()  # the labels the others are compared with (StudySpec.compared_with)
    primary: str = PRIMARY  # the study's objective: its Holm family is the primary one
    # explicit grid pairs (comparisons within a level, StudySpec.grid_pairs): no Friedman test across all
    pairs: tuple[tuple[str, str], ...] | None = None
    families: tuple[str, ...] = ()  # the study's own families on the primary metric (budgets.FAMILIES)
    attribution: tuple[dict, ...] = ()  # a search's final-stage attribution entries (export.attribution_entries)
    design: Design | None = None  # a --sequential study's looks: every family is tested look by look


@dataclass(frozen=True)
class Analysis:
    """analyse's result: the compared stage and pairs, every stats row (stats.csv), the Holm
    families, the Friedman test and the power-law fits, with what was compared and the thresholds
    the verdicts were judged against. A study with no runs has the defaults: nothing compared."""

    comparisons: Comparisons
    thresholds: Thresholds = DEFAULTS
    stage: str = "search"
    pairs: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    rows: list[dict] = dataclasses.field(default_factory=list)  # one per comparison and metric, STATS_COLUMNS and more
    families: list[dict] = dataclasses.field(default_factory=list)  # metric, role, size, wall_clock of each Holm family
    friedman: dict | None = None  # the test across all configurations, its post-hocs as stats rows
    fits: dict[str, dict] = dataclasses.field(default_factory=dict)  # time ~ T^k per schedule family (power_law_fits)

    @property
    def primary(self) -> str:
        return self.comparisons.primary

    @property
    def attribution(self) -> list[dict]:
        return list(self.comparisons.attribution)

    def stats_frame(self) -> pd.DataFrame:
        """The rows as stats.csv holds them (STATS_COLUMNS), as one frame: what a study's answer reads."""
        return pd.DataFrame(stats_rows(self.rows), columns=list(STATS_COLUMNS))


def analyse(study: str, runs: pd.DataFrame, compared: Comparisons, thresholds: Thresholds = DEFAULTS) -> Analysis:
    """stats.csv rows for every metric, the Friedman test (its post-hoc pairs read like stats rows,
    in the primary metric's sense; report.md shows them), and power-law fits where they apply.

    One Holm family per metric: the study's objective (``compared.primary``) is the primary
    family; every other metric is "secondary", adjusted within its own family. Accuracy-like metrics
    use ``min_effect`` (verdict), ``margin`` (TOST, default min_effect) and ``power_effect`` (power,
    MDE, seeds needed) of ``thresholds``; cost metrics (times, counts) use ``min_rel_effect`` of the
    other arm's mean for all three. Wall-clock rows (time_*) follow comparisons.wall_clock_rule.
    Attribution entries and explicit pairs: see comparison_pairs; explicit grid pairs
    (comparisons within a level) skip the Friedman test across all configurations. Under a design
    every family is tested look by look. Each declared family (budgets.FAMILIES) is on the primary
    metric, with role and family its name."""
    if not len(runs):
        return Analysis(compared, thresholds)
    c = compared
    stage, pairs = comparison_pairs(c.kind, runs, list(c.reference), attribution=list(c.attribution),
                                    pairs=None if c.pairs is None else list(c.pairs))
    data = ok_runs(runs, stage)
    check_once(data)
    rows: list[dict] = []
    families: list[dict] = []
    for metric, role in metric_plan(data, c.primary) if pairs else []:
        judged = paired_comparisons.family(data, pairs, metric, study=study, thresholds=thresholds, design=c.design)
        rows += [_decorate(r, role) for r in judged]
        families.append({"metric": metric, "role": role, "size": len(judged), "wall_clock": is_wall_clock(metric)})
    for name in c.families if pairs and c.primary in data else ():
        judged = paired_comparisons.named_family(data, name, c.primary, thresholds=thresholds, design=c.design)
        rows += [{**_decorate(r, name), "family": name} for r in judged]
        if judged:
            families.append({"metric": c.primary, "role": name, "size": len(judged), "wall_clock": False})
    return Analysis(c, thresholds, stage, pairs, rows, families, _friedman(study, data, c, thresholds), power_law_fits(runs))


def _friedman(study: str, data: pd.DataFrame, c: Comparisons, t: Thresholds) -> dict | None:
    """The Friedman test across every configuration of a grid (three or more, no explicit pairs);
    its post-hocs judged at the primary family's thresholds."""
    labels = list(dict.fromkeys(data["label"])) if len(data) else []
    if len(labels) < 3 or c.primary not in data or c.pairs is not None:
        return None
    fried = stats.friedman(data, metric=c.primary, labels=labels, study=study, thresholds=t,
                           relative=c.primary in COSTS)
    fried["posthoc"] = [_decorate(paired_comparisons.settle(r, data), "post-hoc") for r in fried["posthoc"]]
    return fried


def power_law_fits(runs: pd.DataFrame, expected: float = 2.0) -> dict[str, dict]:
    """Per schedule family (frames.schedule_family, the series of plots.time_vs_tasks):
    time_total_s ~ c * n_tasks**k, when the runs vary n_tasks."""
    data = ok_runs(runs, "search")
    if data.empty or "n_tasks" not in data or data["n_tasks"].nunique() < 3:
        return {}
    fits = {}
    for family, g in data.groupby(data["schedule"].map(frames.schedule_family)):
        fits[family] = stats.power_law_fit(g["n_tasks"].astype(float), g["time_total_s"].astype(float),
                                           expected=expected)
    return fits


def cost_metric(result: Analysis) -> str | None:
    """The cost metric the headline speaks of: a machine-independent count when the runs have one,
    else wall-clock time."""
    have = {f["metric"] for f in result.families}
    return next((m for m in COSTS if m in have), None)


_ANSWERS = {  # does a beat b? one word or phrase per verdict; the numbers follow it
    "better": "yes",
    "worse": "no, it is worse",
    "inconclusive": "can't tell: a real difference below the practical minimum, not shown to be within the margin",
    "no evidence": "no evidence either way (powered for the minimum effect, none found, none ruled out)",
    "underpowered": "can't tell (underpowered)",
}


def verdict_sentence(row: dict, *, lead: str = "", aside: str = "", more_seeds: bool = True) -> str:
    """The one sentence a comparison row is read in, in report.md, on the terminal and by
    `gr-bench compare`: '{lead}does {a} beat {b} on {metric}{aside}? {answer}: {numbers}', e.g.
    'does generative beat buffer-equal-bytes on final_avg_acc (primary, higher is better)? no, it
    is worse: diff -1.2 points, 99% CI [...], ...' (numbers: stats.details, in the metric's shown
    unit). The verdict is stated once, as the answer. ``lead`` and ``aside`` say where the row
    comes from (an attribution group, the stage and split); with ``more_seeds`` an underpowered row
    ends with what more seeds would take: the seeds needed for 80% power, or, where the design
    cannot reach alpha at all, that it cannot."""
    sn = sense(row["metric"])
    v = row["verdict"]
    if v.startswith("equivalent"):  # "equivalent within ±1 point" (a bare "equivalent" gets its margin)
        answer = f"no, {stats.verdict_label(row, scale=sn.scale, unit=sn.unit)}"
    elif v == "negligible":
        answer = f"no, the difference is real but within {stats.margin_text(row, scale=sn.scale, unit=sn.unit)}"
    else:  # any other verdict as it is: "not judged (wall clock)" (comparisons.WALL_CLOCK_VERDICT)
        answer = _ANSWERS.get(v, v)
    numbers = stats.details(row, scale=sn.scale, unit=sn.unit)
    if v == "underpowered" and more_seeds:
        numbers += _more_seeds(row)
    return f"{lead}does {row['a']} beat {row['b']} on {row['metric']}{aside}? {answer}: {numbers}"


def _more_seeds(row: dict) -> str:
    """What more seeds would take, for an underpowered row: '; about 16 seeds needed for 80% power',
    or, when no p at these seeds can reach alpha, '; n=1 paired seeds cannot give p below 1 with
    paired-t: run more seeds'."""
    holm = int(row.get("family_size", 1)) > 1 and "p_holm" in row
    floor = row.get("min_p_holm", row["min_p"]) if holm else row["min_p"]
    if floor > row.get("alpha", DEFAULTS.alpha):
        n = f"n={row['n_a']} paired seeds" if row.get("test") in stats.PAIRED_TESTS else \
            f"n={row['n_a']}+{row['n_b']} seeds"
        after = " after Holm across the family" if floor > row["min_p"] else ""
        return (f"; {n} cannot give {'p_holm' if holm else 'p'} below {floor:.3g} with {row['test']}{after}: "
                "run more seeds")
    return f"; about {row['seeds_needed']} seeds needed for 80% power" if row.get("seeds_needed") else ""


def headline_rows(result: Analysis) -> list[tuple[str, dict]]:
    """The rows report.md and the terminal give a verdict for: the primary metric's and the headline
    cost's, each with what it is ('primary', 'cost', or 'wall-clock, machine-dependent')."""
    primary, cost = result.primary, cost_metric(result)
    return [("primary" if row["metric"] == primary else "wall-clock, machine-dependent" if row["wall_clock"]
             else "cost", row) for row in result.rows if row["metric"] in (primary, cost)]


def verdict_lines(result: Analysis) -> list[str]:
    """Plain answers for the primary metric and the headline cost (verdict_sentence), e.g.
    'does generative beat buffer-equal-bytes on final_avg_acc (primary, higher is better)? no, it
    is worse: diff -1.2 points, ...'."""
    return [verdict_sentence(row, aside=f" ({what}, {sense(row['metric']).better} is better)")
            for what, row in headline_rows(result)]


@dataclass(frozen=True)
class GroupRow:
    """One attribution or compute-control comparison on the primary metric, as report.md's tables
    and the terminal's sentences both render it."""

    group: str  # the group of fields taken from the best, or what the control measures
    lead: str  # the sentence's lead: the group with what it compares
    detail: str  # the fields that differ, or the classifier training sample counts
    row: dict | None  # its stats row; None when it was not measured
    note: str  # attribution: why there is no row; compute control: 'a against b'


def attribution_rows(result: Analysis) -> list[GroupRow]:
    """Per attribution group, on the primary metric: the reference with only that group taken
    from the search's best, against the reference: nothing else differs."""
    rows = {(r["a"], r["b"]): r for r in result.rows if r["metric"] == result.primary}
    out: list[GroupRow] = []
    for e in result.attribution:
        if e.get("kind") == "compute":  # compute_rows
            continue
        fields = ", ".join(e["fields"])
        lead = f"{e['group']} effect ({fields}: the best, {e['best']}, against {e['b']})"
        if not e.get("a"):
            out.append(GroupRow(e["group"], lead, fields, None, f"none to measure, the best has {e['b']}'s {fields}"))
            continue
        row = rows.get((e["a"], e["b"]))
        out.append(GroupRow(e["group"], lead, fields, row, "" if row is not None else
                            f"not measured ({e['a']} or {e['b']} has no successful final runs)"))
    return out


def attribution_lines(result: Analysis) -> list[str]:
    """One verdict sentence per attribution group (attribution_rows)."""
    return [f"{g.lead}: {g.note}" if g.row is None else
            verdict_sentence(g.row, lead=f"{g.lead}: ", aside=f", only {g.detail} differing", more_seeds=False)
            for g in attribution_rows(result)]


def compute_rows(result: Analysis) -> tuple[list[GroupRow], str | None]:
    """The compute-matched control (stages.compute_matched_configs) on the primary metric: the
    training length alone (the control against its reference), then the larger replay set at equal
    training samples (the best's schedule at the reference's lr against the control); and what the
    two verdicts together say. ([], None) when the study ran no such control."""
    rows = {(r["a"], r["b"]): r for r in result.rows if r["metric"] == result.primary}
    out: list[GroupRow] = []
    found: dict[str, str] = {}
    more = True
    for e in result.attribution:
        if e.get("kind") != "compute":
            continue
        alone = e["group"] == "training samples alone"
        more = e["samples_control"] >= e["samples_reference"]
        samples = _samples_text(e, alone)
        row = rows.get((e["a"], e["b"]))
        out.append(GroupRow(e["group"], f"{e['group']} ({samples})", samples, row, f"{e['a']} against {e['b']}"))
        if row is not None:
            found["training" if alone else "replay"] = row["verdict"]
    return out, (_compute_conclusion(found.get("replay"), found.get("training"), more) if found else None)


def _samples_text(e: dict, alone: bool) -> str:
    """'1,610,000 classifier and 1,610,000 generator training samples against 700,000 and 700,000':
    the training each side of a compute comparison saw (the generator's only where the entry has it:
    a control stored before it matched the generator too gives the classifier's alone)."""
    keys = ("control", "reference") if alone else ("best", "control")
    c = [e[f"samples_{k}"] for k in keys]
    g = [e.get(f"generator_samples_{k}") for k in keys]
    if all(g):
        return (f"{c[0]:,} classifier and {g[0]:,} generator training samples against {c[1]:,} and {g[1]:,}")
    return f"{c[0]:,} classifier training samples against {c[1]:,}"


def compute_lines(result: Analysis) -> list[str]:
    """compute_rows as sentences, the conclusion last. [] when the study ran no such control."""
    rows, conclusion = compute_rows(result)
    lines = [verdict_sentence(g.row, lead=f"{g.lead}: ", more_seeds=False) if g.row is not None
             else f"{g.group} ({g.note}, {g.detail}): not measured" for g in rows]
    return lines + ([conclusion] if conclusion else [])


def _shown(verdict: str | None, what: str) -> str:
    """What one compute verdict shows about ``what``, in words; only a decided verdict shows anything."""
    v = verdict or "not measured"
    if v == "better":
        return f"{what} helps"
    if v == "worse":
        return f"{what} hurts"
    if v.startswith("equivalent") or v == "negligible":
        return f"{what} changes accuracy by less than the margin"
    return f"whether {what} helps is not decided ({v})"


def _compute_conclusion(replay: str | None, training: str | None, more: bool) -> str:
    """What the two compute-matched verdicts say together, each only as far as it is decided
    (better, worse, equivalent or negligible): an undecided verdict is said to be undecided, never
    read as "no effect"."""
    length = "training on more samples alone" if more else "training on fewer samples alone"
    return (f"so, of the schedule's gain: {_shown(replay, 'the larger replay set at equal training samples')}; "
            f"{_shown(training, length)}")


def power_table(result: Analysis, target_effect: float) -> pd.DataFrame:
    """Per comparison of the primary family: its seeds, the observed sd of the paired differences,
    the minimum detectable effect at 80% power after Holm (alpha / family size) and the seeds
    needed to detect ``target_effect`` (stored unit) there (stats.min_detectable_effect,
    stats.seeds_needed). Values in the shown unit (points for accuracies)."""
    primary = result.primary
    sn, alpha = sense(primary), result.thresholds.alpha
    out = []
    for r in result.rows:
        if r["metric"] != primary:
            continue
        k, n, sd = int(r["family_size"]), int(r["n_a"]), float(r["sd_diff"])
        mde = stats.min_detectable_effect(sd, n, paired=True, alpha=alpha, family=k)
        need = stats.seeds_needed(sd, effect=target_effect, alpha=alpha, family=k, paired=True)
        out.append({"a": r["a"], "b": r["b"], "seeds": n, "family": k, "sd_diff": sn.scale * sd,
                    "mde": sn.scale * mde, "seeds_needed": need})
    return pd.DataFrame(out, columns=["a", "b", "seeds", "family", "sd_diff", "mde", "seeds_needed"])


def power_summary(result: Analysis, target_effect: float) -> str | None:
    """One sentence: the primary family's MDE at its seed count and size, and the seeds a
    ``target_effect`` (stored unit) would take at the observed sd. None without comparisons."""
    table = power_table(result, target_effect)
    if table.empty:
        return None
    sn = sense(result.primary)
    unit = f" {sn.unit}" if sn.unit else ""
    k, n = int(table["family"].iloc[0]), int(table["seeds"].min())
    mde = table["mde"].dropna()
    mde_text = (f"{mde.min():.1f}{unit}" if len(mde) and mde.min() == mde.max() else
                f"{mde.min():.1f} to {mde.max():.1f}{unit}" if len(mde) else f"unknown (under {stats.MIN_N} seeds)")
    need = table["seeds_needed"].dropna()
    target = f"{sn.scale * target_effect:g}{unit}"
    need_text = (f"about {int(need.max())} seeds per configuration would detect {target} in every comparison"
                 if len(need) else f"the seeds needed for {target} are unknown until {stats.MIN_N} seeds have run")
    return (f"power ({result.primary}, {k} comparison{'s' if k != 1 else ''} under Holm, "
            f"{n} paired seeds): minimum detectable effect at 80% power {mde_text} at the observed sd; {need_text}")
