"""What every gr-bench command shares: the console, the --set option, config building (sizes checked
by input_checks, plugins smoke-checked), the errors that end a command with one line and exit code 2,
and CommandFailed (exit code 1)."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from ..config import ConfigError, RunConfig, with_overrides
from ..config import preset as load_preset
from ..errors import DataError, UnavailableError
from ..files import ResultsError
from ..input_checks import check_sizes
from ..schedule import ScheduleError

UNLIMITED = 1_000_000  # columns: "no limit" for a console that writes to a file or a pipe


def _width(stream=None) -> int | None:
    """$COLUMNS when it is a number; a terminal its own width (None: rich asks it); a file or a pipe
    (CI logs, `> log`, `| tee`) no limit at all, so that no sentence is broken across lines and no
    table cell is cut: a log is read whole, later, in any viewer."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return None if isatty is not None and isatty() else UNLIMITED


console = Console(width=_width())


def user_errors() -> tuple[type[Exception], ...]:
    """The errors that end a command with one line and exit code 2. StorageError and StudyError live
    in modules that import optuna and torch; they are named only once those modules were imported (an
    error of theirs cannot be raised before), so `gr-bench --help` and bad flags start fast."""
    found: list[type[Exception]] = [ConfigError, DataError, ResultsError, ScheduleError, UnavailableError]
    package = __name__.rsplit(".", 2)[0]  # gr_bench
    for module, name in (("storage", "StorageError"), ("orchestration.spec", "StudyError")):
        loaded = sys.modules.get(f"{package}.{module}")
        if loaded is not None and hasattr(loaded, name):
            found.append(getattr(loaded, name))
    return tuple(found)


def build_config(preset: str, sets: list[str] | None = None, **flags: object) -> RunConfig:
    """The preset, then the explicit flags that were given, then --set pairs (last wins); sizes
    checked (check_sizes)."""
    cfg = load_preset(preset)
    given = {k: v for k, v in flags.items() if v is not None}
    cfg = with_overrides(cfg, given)
    return check_sizes(with_overrides(cfg, sets or []))


SetOpt = typer.Option(None, "--set", help="Override any config field: --set lr=0.01 --set hidden=100,100. "
                                          "--set generator=module:Class (or path/to/file.py:Class, or a plugin's "
                                          "name) loads a plugin generator, and --set strategy=module:Class a plugin "
                                          "strategy: loading a plugin runs its code (docs/plugins.md)")


def check_plugins(cfg: RunConfig, *, input_dim: int = 784, n_outputs: int = 10) -> None:
    """The config's generator and strategy are known, or plugins that import, follow their protocol
    and pass a smoke check at this input size (build, train or fit a batch, sample a few): else one
    line and exit code 2, before any training. Imports torch."""
    from ..models import check_generator
    from ..strategies import check_strategy

    check_generator(cfg, input_dim=input_dim, n_outputs=n_outputs)
    check_strategy(cfg, input_dim=input_dim, n_outputs=n_outputs)


class CommandFailed(Exception):
    """The command ran and failed (a run whose loss diverged, a study whose workers died): exit code 1,
    the message on stderr as one line."""
