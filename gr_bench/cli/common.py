"""What every gr-bench command shares: the console, the --set option, config building, and the
errors that end a command with one line and exit code 2."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from ..config import ConfigError, RunConfig, with_overrides
from ..config import preset as load_preset
from ..errors import DataError
from ..files import ResultsError
from ..schedule import ScheduleError
from ..storage import StorageError
from ..study import StudyError


def _width() -> int | None:
    """$COLUMNS when it is a number; piped output (CI logs, files) gets 120 columns instead of
    rich's 80 so tables stay readable."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if sys.stdout.isatty() else 120


console = Console(width=_width())

USER_ERRORS = (ConfigError, DataError, ResultsError, ScheduleError, StorageError, StudyError)


def build_config(preset: str, sets: list[str] | None = None, **flags: object) -> RunConfig:
    """The preset, then the explicit flags that were given, then --set pairs (last wins)."""
    cfg = load_preset(preset)
    given = {k: v for k, v in flags.items() if v is not None}
    cfg = with_overrides(cfg, given)
    return with_overrides(cfg, sets or [])


SetOpt = typer.Option(None, "--set", help="Override any config field: --set lr=0.01 --set hidden=100,100")
