"""User-facing errors that must not drag heavy imports (torch) into the command line's start-up, and
the "did you mean" hint a one-line error about a mistyped name ends with (close_hint)."""

from __future__ import annotations

from collections.abc import Iterable


class DataError(ValueError):
    """One-line, user-facing data problem (missing dataset, corrupt file). The CLI prints str(e) and exits 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split("\n")))  # embedded library errors may be multi-line


class UnavailableError(ValueError):
    """Something a command needs that this machine does not offer: an optional package that is not
    installed, a port that is taken. One line; the CLI prints str(e) and exits 2."""


class ConfigError(ValueError):
    """An invalid configuration value, or a plug-in that cannot be used; the message is one line naming
    the field or the plug-in. Defined here, below config and the plug-in module, which both raise it
    (config re-exports it: ``from gr_bench.config import ConfigError`` is its usual spelling)."""


def close_hint(name: str, candidates: Iterable[str]) -> str:
    """" (did you mean 'x' or 'y'?)" for the candidates closest to a mistyped name (difflib), else ""."""
    import difflib

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
