"""gr-bench reproduce: re-run some runs of a shipped study and say whether they match the shipped ones.

A shipped folder (report/shipped.py) holds every run's full record (records.jsonl.gz: its config,
seed included, its accuracy matrix and costs), so any run in runs.csv can be trained again as it
was. Each re-run gets one verdict against the shipped run of the same configuration and seed:

- **identical**: every measured value is equal (the accuracy matrix and every per-epoch curve,
  the initial accuracies, FLOPs, bytes kept, samples, replay and train sizes, parameter counts);
  times, CPU seconds and peak memory are the machine's and never compared. The same code (gr_bench's
  source and torch: provenance.cache_code_version) on the same kind of machine (CPU model, BLAS,
  device) repeats a run bit for bit (docs/reproducibility.md), so there nothing else passes;
- **within**: from other code or another kind of machine, the re-run's objective (final average
  accuracy) lies inside the range of the shipped seeds of that configuration; the difference from
  the shipped run of the same seed is given in points;
- **differs**: anything else.

Nothing is taken from the run cache unless asked (``reuse_cache``): a reproduction trains.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable
from pathlib import Path

from ..config import ConfigError, config_from_flat
from ..files import ResultsError
from ..result import RunResult
from .shipped import RECORDS, load

COMPARED = ("status", "accuracy", "initial_acc", "curves", "flops_train", "memory_bytes", "generator_bytes",
            "samples", "train_sizes", "replay_sizes", "params", "param_bytes", "generator_info")
MACHINE = ("cpu_model", "blas", "device")  # with the code, what a bit-for-bit repeat needs the same
SUMMARY = ("status", "final_avg_acc", "avg_forgetting", "bwt", "fwt", "flops_train", "memory_bytes", "generator_bytes",
           "params_classifier", "params_generator", "samples_classifier", "samples_generator", "train_sizes",
           "replay_sizes")  # runs.csv's measured columns: what is compared when a folder ships no records


@dataclasses.dataclass(frozen=True)
class Planned:
    """One run to train again: the shipped run's configuration, seed and record."""

    label: str
    stage: str
    seed: int
    dataset: str  # the dataset the shipped run used (never "auto")
    shipped: RunResult  # its full record; without records.jsonl.gz, its config and provenance only
    row: dict  # its runs.csv row, as written (text)
    seeds_values: tuple[float, ...]  # the objective of every shipped seed of this configuration


@dataclasses.dataclass(frozen=True)
class Outcome:
    planned: Planned
    result: RunResult
    verdict: str  # identical, within or differs
    same_code: bool
    same_machine: bool
    same_data: bool
    reused: bool
    objective: str

    @property
    def value(self) -> float:
        return self.result.metrics()[self.objective]

    @property
    def shipped_value(self) -> float:
        return float(self.planned.row[self.objective])

    def line(self) -> str:
        """One line: the configuration and seed, the verdict, the values and why."""
        from ..metrics import METRIC_SENSE

        sense = METRIC_SENSE[self.objective]
        unit = "%" if self.objective == "final_avg_acc" else f" {sense.unit}"

        def shown(v: float) -> str:
            return f"{sense.scale * v:.2f}{unit}"

        p = self.planned
        head = f"{p.label} seed {p.seed}: {self.verdict}"
        notes = [] if self.same_data else ["other data"]
        notes += [] if self.same_code else ["other code"]
        notes += [] if self.same_machine else ["another kind of machine"]
        notes += ["reused from the run cache"] if self.reused else []
        tail = f" ({', '.join(notes)})" if notes else ""
        if self.result.status != "ok":
            return f"{head}: the re-run failed: {self.result.reason}{tail}"
        if self.verdict == "identical":
            return f"{head}: {shown(self.value)}, every measured value equal{tail}"
        diff = sense.scale * (self.value - self.shipped_value)
        low, high = min(p.seeds_values), max(p.seeds_values)
        where = "inside" if low <= self.value <= high else "outside"
        return (f"{head}: {shown(self.value)} against {shown(self.shipped_value)} shipped ({diff:+.2f} "
                f"{'points' if self.objective == 'final_avg_acc' else sense.unit}), {where} the "
                f"{len(p.seeds_values)} shipped seeds' {shown(low)} to {shown(high)}"
                + ("; same code and machine, so it should have been identical" if self.verdict == "differs"
                   and self.same_code and self.same_machine and self.same_data else "") + tail)


def _records(folder: Path) -> dict[tuple[str, str], dict]:
    """(run_id, split) -> the shipped run's full record."""
    path = folder / RECORDS
    if not path.is_file():
        return {}
    out = {}
    for line in gzip.decompress(path.read_bytes()).decode().splitlines():
        if line:
            d = json.loads(line)
            out[(config_from_flat(d["config"]).run_id(), str(d["split"]))] = d
    return out


def _raw_rows(folder: Path) -> dict[tuple[str, str], dict]:
    """(run_id, split) -> runs.csv's row as written (every field text, blanks ""), which rebuilds a
    config exactly (shipped.load's numbers would turn an int column with blanks into floats)."""
    import csv

    with open(folder / "runs.csv", newline="") as f:
        return {(r["run_id"], r["split"]): r for r in csv.DictReader(f)}


def _shipped_run(row: dict, records: dict[tuple[str, str], dict], folder: Path) -> RunResult:
    """The shipped run of a runs.csv row (as written): its record, else its config rebuilt from the
    row's columns (checked against the row's run_id), with the row's provenance."""
    record = records.get((row["run_id"], row["split"]))
    if record is not None:
        return RunResult.from_dict(record)
    from ..config import FIELDS

    flat = {k: v for k, v in row.items() if k in FIELDS and v != ""}
    flat["dataset"] = row.get("dataset_requested") or row["dataset"]  # the config's own ("auto"), as hashed
    try:
        cfg = config_from_flat(flat)
    except ConfigError as e:
        raise ResultsError(f"{folder}: run {row['run_id']}'s config cannot be rebuilt from runs.csv ({e})") from None
    if cfg.run_id() != row["run_id"]:
        raise ResultsError(f"{folder}: run {row['run_id']}'s config cannot be rebuilt from runs.csv (it hashes to "
                           f"{cfg.run_id()}) and {RECORDS} is missing")
    return RunResult(config=cfg, dataset=row["dataset"], scenario=row["scenario"], split=row["split"],
                     dataset_sha256=row.get("dataset_sha256", ""),
                     provenance={k: row.get(k, "") for k in ("code_version", *MACHINE)})


def _objective(manifest: dict) -> str:
    from ..orchestration import StudyError, get_spec

    try:
        return get_spec(str(manifest.get("setup", {}).get("study", ""))).objective
    except StudyError:  # a study this checkout does not have: the default objective
        return "final_avg_acc"


def plan(folder: Path, labels: list[str] | None = None, seeds: int = 1) -> tuple[list[Planned], dict]:
    """The runs `gr-bench reproduce FOLDER` trains again, and the folder's manifest: the first
    ``seeds`` shipped seeds of each configuration named (default: every configuration of the
    compared stage, a search's final stage or a grid). Bad input raises ResultsError or ConfigError
    (one line, exit code 2): no such folder, no manifest, an unknown label, more seeds than shipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"no such folder: {folder}")
    if not (folder / "manifest.json").is_file():
        raise ResultsError(f"{folder} has no manifest.json: not a shipped study (gr-bench export STUDY --ship DIR "
                           "writes one)")
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    rows, manifest = load(folder)
    runs = [r for r in rows["runs"] if r.get("status") == "ok"]
    if not runs:
        raise ResultsError(f"{folder}/runs.csv holds no complete run")
    compared = "final" if any(r["stage"] == "final" for r in runs) else "search"
    known: dict[str, str] = {}  # label -> its stage (the compared stage's first)
    for r in sorted(runs, key=lambda r: r["stage"] != compared):
        known.setdefault(str(r["label"]), str(r["stage"]))
    wanted = list(dict.fromkeys(labels)) if labels else [k for k, s in known.items() if s == compared]
    for label in wanted:
        if label not in known:
            raise ResultsError(f"no configuration labelled {label!r} in {folder}/runs.csv{_hint(label, known)}")
    objective = _objective(manifest)
    records, raw = _records(folder), _raw_rows(folder)
    out = []
    for label in wanted:
        mine = sorted((r for r in runs if str(r["label"]) == label and r["stage"] == known[label]),
                      key=lambda r: int(r["seed"]))
        if seeds > len(mine):
            raise ConfigError(f"--seeds {seeds}: {label!r} ships {len(mine)} seed(s)")
        values = tuple(float(r[objective]) for r in mine)
        for r in mine[:seeds]:
            row = raw[(str(r["run_id"]), str(r["split"]))]
            out.append(Planned(label=label, stage=known[label], seed=int(r["seed"]), dataset=row["dataset"],
                               shipped=_shipped_run(row, records, folder), row=row, seeds_values=values))
    return out, {**manifest, "objective": objective}


def _hint(label: str, known: dict[str, str]) -> str:
    import difflib

    close = difflib.get_close_matches(label, list(known), n=3)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else f"; it has {', '.join(known)}"


def _measured(result: RunResult) -> str:
    """What a run measured, as text to compare: every COMPARED field, as its record stores it."""
    d = json.loads(json.dumps(result.to_dict(), default=str))  # as records.jsonl.gz has it
    return json.dumps({k: d.get(k) for k in COMPARED}, sort_keys=True)


def _summary(row: dict) -> tuple[str, ...]:
    """What a runs.csv row says a run measured (SUMMARY), each as text a float would print."""
    out = []
    for k in SUMMARY:
        v = str(row.get(k, ""))
        try:
            out.append(repr(float(v)))
        except ValueError:
            out.append(v)
    return tuple(out)


def _equal(planned: Planned, result: RunResult) -> bool:
    """Every measured value equal: the full records where the folder ships them, else runs.csv's
    summary of each (its metrics, costs and sizes)."""
    if planned.shipped.accuracy:
        return _measured(planned.shipped) == _measured(result)
    return _summary(planned.row) == _summary(result.summary_row())


def verdict(planned: Planned, result: RunResult, objective: str = "final_avg_acc") -> tuple[str, dict[str, bool]]:
    """identical, within or differs (the module's docstring), and what was the same: code, machine, data."""
    a, b = planned.shipped.provenance, result.provenance
    same = {"code": bool(a.get("cache_code_version")) and a.get("cache_code_version") == b.get("cache_code_version"),
            "machine": all(a.get(k) == b.get(k) for k in MACHINE),
            "data": planned.shipped.dataset_sha256 == result.dataset_sha256}
    if result.status != "ok":
        return "differs", same
    if _equal(planned, result):
        return "identical", same
    if all(same.values()):
        return "differs", same  # this repeats bit for bit, or not at all
    value = result.metrics()[objective]
    inside = min(planned.seeds_values) <= value <= max(planned.seeds_values)
    return ("within" if inside else "differs"), same


def reproduce(planned: list[Planned], objective: str = "final_avg_acc", *, data_dir: str | None = None,
              cache_from: Path | None = None, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Train every planned run again, one after another, each judged as it ends (``on_outcome``).
    ``cache_from``: the shipped folder whose --results run cache (run_cache.db beside it, the one
    studies there share) may give a run instead of training it; None: every run trains."""
    from ..orchestration import Setup
    from ..orchestration.trials import BenchCache
    from ..storage import default_url
    from ..trainer import run

    benches = BenchCache(data_dir)
    out = []
    for p in planned:
        cfg = p.shipped.config
        # the shipped run's own data: "auto" is loaded as the dataset it stood for there
        bench = benches(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset=p.dataset)))
        if cache_from is None:
            result, reused = run(cfg, bench, split=p.shipped.split), False
        else:
            from .. import runcache

            setup = Setup(study="", study_name="", storage_url=default_url(Path(cache_from)),
                          results_dir=str(cache_from))
            result, reused = runcache.run_or_reuse(setup, cfg, bench, p.shipped.split)
        name, same = verdict(p, result, objective)
        outcome = Outcome(planned=p, result=result, verdict=name, same_code=same["code"], same_machine=same["machine"],
                          same_data=same["data"], reused=reused, objective=objective)
        if on_outcome is not None:
            on_outcome(outcome)
        out.append(outcome)
    return out


def summary(outcomes: list[Outcome]) -> str:
    """'3 runs re-run: 2 identical, 1 within, 0 differ'."""
    n = {v: sum(o.verdict == v for o in outcomes) for v in ("identical", "within", "differs")}
    return (f"{len(outcomes)} run{'s' if len(outcomes) != 1 else ''} re-run: {n['identical']} identical, "
            f"{n['within']} within, {n['differs']} differ{'s' if n['differs'] == 1 else ''}")


__all__ = ["Outcome", "Planned", "plan", "reproduce", "summary", "verdict"]
