"""A shipped study folder: a study's evidence as files alone, no storage and no training.

`gr-bench export STUDY --ship DIR` writes one (ship): runs.csv (one row per run and seed),
trials.csv, accuracy.csv and manifest.json, without machine paths and with every configuration
under today's name (labels.RENAMED); `gr-bench report DIR` then
rebuilds stats.csv, published.csv, plots/ and report.md from them (load). The manifest carries what
a report needs beyond the rows (export.report_inputs): the final stage's attribution entries, the
--sequential plan, parameter importances, the study's wall time and its runs' CPU seconds.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import shlex
from pathlib import Path

import pandas as pd

from ..files import ResultsError, atomic_write, atomic_write_text, csv_text, write_json
from ..labels import current_manifest, current_row

ROWS = {"runs": "runs.csv", "trials": "trials.csv", "accuracy": "accuracy.csv"}
RECORDS = "records.jsonl.gz"  # export.RECORDS: every run's full record, what `study --reuse` imports
SHIPPED = (*ROWS.values(), "manifest.json")  # what a shipped folder holds before its report is rebuilt
# Options whose values name this machine's folders (runs.csv's `reused` says which runs --reuse brought)
PATH_OPTIONS = ("--results", "--storage", "--data-dir", "--reuse")
DROPPED_KEYS = ("storage", "hosts")  # manifest keys that name this machine


def is_shipped(folder: Path) -> bool:
    """A folder of shipped rows (no study database beside them)."""
    return all((folder / name).is_file() for name in SHIPPED) and not (folder / "study.db").exists()


def _records(path: Path) -> list[dict]:
    """A CSV's rows as dicts, blanks as "" (as export wrote them) and numbers as numbers."""
    if path.stat().st_size == 0:
        return []
    df = pd.read_csv(path, low_memory=False)
    rows = df.to_dict("records")
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and math.isnan(v):
                r[k] = ""  # export writes None and "" alike as a blank field
    return rows


def load(folder: Path) -> tuple[dict[str, list[dict]], dict]:
    """(rows, manifest) of a shipped folder: rows as export.collect returns them, every configuration
    name as today's studies spell it (labels.current_row, current_manifest: a folder shipped before a
    rename reads under the new names)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        rows = {key: _records(folder / name) for key, name in ROWS.items()}
    except (OSError, ValueError) as e:
        raise ResultsError(f"{folder} is not a readable shipped study folder: {e}") from None
    for key in ("runs", "trials"):  # accuracy.csv names no configuration
        rows[key] = [current_row(r) for r in rows[key]]
    manifest = current_manifest(manifest)
    manifest["attribution"] = list(manifest.get("attribution") or [])
    rows["attribution"] = list(manifest["attribution"])
    return rows, manifest


def portable_command(command: str) -> str:
    """The command as run, without the options that name this machine's folders or storage."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
            continue
        if w in PATH_OPTIONS:
            skip = True
            continue
        if any(w.startswith(o + "=") for o in PATH_OPTIONS):
            continue
        out.append(w)
    return shlex.join(out)


def portable_manifest(manifest: dict) -> dict:
    """The manifest without what names this machine, every configuration by today's name."""
    out = current_manifest({k: v for k, v in manifest.items() if k not in DROPPED_KEYS})
    out["command"] = portable_command(str(manifest.get("command", "")))
    return out


def named_for(manifest: dict, folder: str) -> dict:
    """A manifest shipped under a folder name that is not its study's: its ``command`` gains
    ``--study-name FOLDER``, so that running it again writes into (and with --reuse, reuses) that
    folder; the command as run is kept as ``command_as_run``. Unchanged when the names agree."""
    name, command = str(manifest.get("study_name", "")), str(manifest.get("command", ""))
    try:
        words = shlex.split(command)
    except ValueError:
        return manifest
    if not name or name == folder or not command.startswith("gr-bench study ") or any(
            w == "--study-name" or w.startswith("--study-name=") for w in words):
        return manifest
    return {**manifest, "command": shlex.join([*words, "--study-name", folder]), "command_as_run": command}


_ABSOLUTE = re.compile(r"(?<![\w.~:/])/(?:[^/\s,;:()\"']+/)+([^/\s,;:()\"']+)")


def portable_text(value: str) -> str:
    """Absolute paths (a dataset's folder in dataset_source) reduced to their last component."""
    return _ABSOLUTE.sub(lambda m: m.group(1), value)


def portable_csv(text: str) -> str:
    """A CSV whose fields name no absolute path and every configuration by today's name
    (labels.current_row), written as export writes it (files.csv_text)."""
    reader = csv.DictReader(io.StringIO(text))
    rows = [current_row({k: portable_text(v) if isinstance(v, str) and "/" in v else v for k, v in r.items()})
            for r in reader]
    return csv_text(rows, list(reader.fieldnames or []))


def _portable(value):
    if isinstance(value, str):
        return portable_text(value) if "/" in value else value
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    return value


def portable_records(data: bytes) -> bytes:
    """records.jsonl.gz (export.write_records) with every string's absolute paths reduced, the same
    fixed gzip header; sys.argv is not in a run's record."""
    lines = gzip.decompress(data).decode().splitlines()
    text = "".join(json.dumps(_portable(json.loads(line)), sort_keys=True) + "\n" for line in lines if line)
    return gzip.compress(text.encode(), mtime=0)


def ship(src: Path, dest: Path) -> list[str]:
    """Copy a study folder's rows and manifest to `dest`, without machine paths. Returns the files
    written. Nothing in `dest` is touched unless every source file could be read."""
    missing = [name for name in SHIPPED if not (src / name).is_file()]
    if missing:
        raise ResultsError(f"{src} has no {', '.join(missing)}: export the study first")
    texts = {name: portable_csv((src / name).read_text()) for name in ROWS.values()}
    manifest = named_for(portable_manifest(json.loads((src / "manifest.json").read_text())), dest.name)
    records = portable_records((src / RECORDS).read_bytes()) if (src / RECORDS).is_file() else None
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        atomic_write_text(dest / name, text)
    write_json(dest / "manifest.json", manifest)
    if records is not None:
        atomic_write(dest / RECORDS, lambda f: f.write(records))
    return [*texts, "manifest.json", *([RECORDS] if records is not None else [])]


__all__ = ["is_shipped", "load", "named_for", "portable_command", "portable_manifest", "ship"]
