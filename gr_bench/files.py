"""Writing outputs safely: whole files or nothing, inside the results folder only."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path


class ResultsError(ValueError):
    """A results folder that cannot be used; the message is one line for the user."""


def writable_dir(path: str | Path) -> Path:
    """Create `path` if needed and check that files can be written in it."""
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ResultsError(f"results folder {str(p)!r} is not writable: {e.strerror or e}") from None
    return p


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename: a kill leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_text(rows: list[dict[str, object]], columns: list[str] | None = None) -> str:
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: list[dict[str, object]], columns: list[str] | None = None) -> None:
    atomic_write_text(path, csv_text(rows, columns))


def write_json(path: Path, obj: object) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
