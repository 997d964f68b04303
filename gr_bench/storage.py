"""Opening a study's storage from a URL: one SQLite file by default, PostgreSQL for many machines.

The storage is the single source of truth: every trial's parameters and every per-seed run
result live there, and every CSV, table and plot is rebuilt from it. Heartbeats let a re-run
detect trials whose worker died (kill -9, lost machine) and run them again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import warnings
from pathlib import Path
from typing import Iterator

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

# Optuna's per-trial INFO lines would interleave with our progress display and tables.
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _seconds(var: str, default: int) -> int:
    """Heartbeat timing, overridable from the environment (the kill/resume tests shorten it)."""
    try:
        return max(1, int(os.environ.get(var, default)))
    except ValueError:
        return default


HEARTBEAT_S = _seconds("GR_BENCH_HEARTBEAT_S", 5)  # a running trial's worker writes a heartbeat this often
GRACE_S = _seconds("GR_BENCH_GRACE_S", 20)  # a running trial without heartbeat this long is failed and queued again
MAX_RETRY = 3  # times a trial failed for a stale heartbeat is queued again
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class StorageError(ValueError):
    """A storage URL or study name that cannot be used; one line, password never shown."""


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def without_password(url: str) -> str:
    """A URL as redact() recorded it (a manifest's "storage"), with its *** password left out, so
    that the PostgreSQL driver reads the password where libpq keeps it ($PGPASSWORD, ~/.pgpass)."""
    return re.sub(r"(://[^:/@]+):\*\*\*@", r"\1@", url)


def check_study_name(name: str) -> str:
    """Study names become folder names under results/: no separators, no '..', no leading dot."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise StorageError(f"study name {name!r} must be 1-100 letters, digits, '_', '-' or '.', "
                           "not start with '.' and not contain '..'")
    return name


def default_url(folder: Path) -> str:
    return f"sqlite:///{(folder / 'study.db').resolve()}"


def check_url(url: str) -> tuple[str, dict]:
    """Validate a storage URL's form; return the URL for SQLAlchemy and its engine options."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("sqlite", "postgresql", "postgresql+psycopg2"):
        raise StorageError(f"storage URL {redact(url)!r} must start with sqlite:/// or postgresql://")
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or not url[len("sqlite:///"):]:
            raise StorageError(f"storage URL {url!r} must look like sqlite:///path/to/study.db")
        # Wait for a busy database instead of failing with "database is locked" (several workers).
        return url, {"connect_args": {"timeout": 120}}
    if scheme == "postgresql":  # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; we ship psycopg2
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url, {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}


def open_storage(url: str) -> RDBStorage:
    """An Optuna RDB storage with heartbeats; unusable URLs raise StorageError (exit code 2)."""
    shown = redact(url)  # messages show the URL as the user wrote it, without its password
    url, kwargs = check_url(url)
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna; we rely on them on purpose
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=kwargs,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
                )
        except ImportError:
            raise StorageError(f"storage {shown!r} needs its driver: pip install 'gr-bench[postgres]'") from None
        except Exception as e:  # sqlalchemy's errors carry multi-line SQL and may echo the URL
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            # Two processes creating Optuna's tables in a fresh database at once: the loser sees a
            # duplicate type/table (PostgreSQL) or a duplicate alembic_version row (SQLite); once
            # the winner has committed, opening again succeeds.
            if attempt < 4 and ("duplicate key" in first or "already exists" in first
                                or "UNIQUE constraint failed: alembic_version" in first):
                time.sleep(0.5 + attempt)
                continue
            raise StorageError(f"cannot open storage {shown!r}: {redact(first)}") from None
    raise AssertionError("unreachable")


@contextlib.contextmanager
def claim_lock(url: str) -> Iterator[None]:
    """Serialise claiming a WAITING trial among the processes sharing one SQLite file.

    Optuna's claim (set_trial_state_values to RUNNING) reads the state with SELECT ... FOR UPDATE
    and writes it back; SQLite ignores FOR UPDATE, so two workers could both read WAITING and
    both run the same trial (seen with 4 workers on 2 cores: the slower one then failed with
    UpdateFinishedTrialError). An flock on the database file closes that window. flock and the
    fcntl byte-range locks SQLite uses are independent on Linux, so this never blocks SQLite
    itself, and no extra file appears. PostgreSQL honours FOR UPDATE: nothing to do there.
    """
    if not url.startswith("sqlite:///"):
        yield
        return
    with open(url[len("sqlite:///"):], "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_study(storage: RDBStorage, name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None
