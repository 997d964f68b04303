"""Comparisons at equal bytes: at every buffer budget of a study, the best generator that fits.

A buffer sized to a generator's bytes (buffer_bytes=match-generator:R) has the budget R x those
bytes, which its whole examples fill to within one example (or less, when the data run out): that
budget is what a generator must fit in. For each such buffer, the generative arm with the highest
mean accuracy among those keeping at most its budget is compared with it, paired by seed: one
Holm family over the budgets (FAMILIES["budgets"], which a study names in StudySpec.families; the
analysis tests it like the primary family, in stats.csv under family "budgets").

The pick is made on the first look's seeds (all seeds without a sequential design) and then kept,
so that a sequential study tests one fixed hypothesis per budget at every look. Picking the best
on the seeds it is tested on favours the generator: a "worse" verdict survives that, a "better"
one is optimistic; the seeds added after the first look are free of the pick.

Pure functions over runs.csv's rows (pandas); no storage, no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import pandas as pd

from .config import ConfigError, match_ratio


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"].astype(str) == "ok"] if "status" in runs.columns else runs


def buffer_budgets(runs: pd.DataFrame) -> dict[str, float]:
    """label -> the bytes a buffer_bytes=match-generator:R arm was given: R x its generator_bytes."""
    df = _ok(runs) if len(runs) and "label" in runs else runs
    if not len(df) or not {"buffer_bytes", "generator_bytes", "strategy"} <= set(df.columns):
        return {}
    out = {}
    for label, rows in df[df["strategy"] == "buffer"].groupby("label", sort=False):
        spec = rows["buffer_bytes"].iloc[0]
        try:
            out[str(label)] = match_ratio(str(spec)) * float(rows["generator_bytes"].astype(float).mean())
        except ConfigError:  # a buffer of a fixed size
            continue
    return out


def arms(runs: pd.DataFrame, seeds: Collection[int] | None = None) -> pd.DataFrame:
    """Per arm: label, strategy, acc (mean final_avg_acc on ``seeds``, all when None) and mem (its
    kept bytes; a bytes-matched buffer: its budget)."""
    df = _ok(runs)
    if df.empty or not {"label", "strategy", "final_avg_acc", "memory_bytes"} <= set(df.columns):
        return pd.DataFrame(columns=["label", "strategy", "acc", "mem"])
    if seeds is not None:
        df = df[df["seed"].isin(seeds)]
    df = df.assign(final_avg_acc=pd.to_numeric(df["final_avg_acc"], errors="coerce"),
                   memory_bytes=pd.to_numeric(df["memory_bytes"], errors="coerce"))
    g = df.groupby("label", sort=False).agg(strategy=("strategy", "first"), acc=("final_avg_acc", "mean"),
                                            mem=("memory_bytes", "mean")).reset_index()
    given = buffer_budgets(runs)
    g["mem"] = [max(m, given.get(lab, m)) for lab, m in zip(g["label"], g["mem"])]
    return g


def budget_pairs(runs: pd.DataFrame, seeds: Collection[int] | None = None) -> list[tuple[str, str]]:
    """(best generator within a buffer's budget, that buffer), buffers by budget, for every budget
    some generator fits."""
    g = arms(runs, seeds)
    generators = g[g["strategy"] == "generative"]
    pairs = []
    for b in g[g["strategy"] == "buffer"].sort_values("mem").itertuples():
        fits = generators[generators["mem"] <= b.mem]
        if not fits.empty:
            pairs.append((str(fits.sort_values("acc", ascending=False).iloc[0]["label"]), str(b.label)))
    return pairs


# name -> pairs of the compared stage's runs (the pick on ``seeds``): the families a study may
# declare beside its primary one (StudySpec.families), tested on the primary metric
FAMILIES: dict[str, Callable[..., list[tuple[str, str]]]] = {"budgets": budget_pairs}
