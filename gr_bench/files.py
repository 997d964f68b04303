"""Writing outputs safely: whole files or nothing, inside the results folder only.

Temporary files and folders are created with the modes of ordinary ones (0o666 / 0o777 less the
user's umask: 0644 / 0755 under umask 022), not tempfile's private 0600 / 0700, because they are
renamed into place and become the outputs themselves.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
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


def temp_file(folder: str | Path, prefix: str, suffix: str = ".tmp") -> tuple[int, str]:
    """Like tempfile.mkstemp (a new file, opened for writing, never an existing one), but with the
    mode an ordinary file gets: 0o666 less the umask. Returns (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(folder, f"{prefix}{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def temp_dir(folder: str | Path, prefix: str) -> Path:
    """Like tempfile.mkdtemp, but with the mode an ordinary folder gets: 0o777 less the umask."""
    for _ in range(100):
        path = Path(folder) / f"{prefix}{secrets.token_hex(6)}"
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def atomic_write(path: Path, write, *, text: bool = False) -> None:
    """Call ``write(f)`` on a temporary file in path's folder (an ordinary file's mode), fsync it,
    then rename it over path: a kill or an error leaves the previous file."""
    fd, tmp = temp_file(path.parent, prefix=f".{path.name}.")
    try:
        with (os.fdopen(fd, "w", newline="") if text else os.fdopen(fd, "wb")) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename: a kill leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(text), text=True)


def csv_text(rows: list[dict[str, object]], columns: list[str] | None = None) -> str:
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: list[dict[str, object]], columns: list[str] | None = None) -> None:
    atomic_write_text(path, csv_text(rows, columns))


def append_csv(path: Path, rows: list[dict[str, object]], columns: list[str]) -> None:
    """Append rows to a CSV file that grows run by run (a timing log), writing the header when the
    file is new. Not atomic, by design: the rows already there stay, and each call adds whole rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        if new:
            w.writeheader()
        w.writerows(rows)


def write_json(path: Path, obj: object) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
