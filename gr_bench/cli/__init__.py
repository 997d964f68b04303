"""The `gr-bench` command line. Each command parses, calls one plain function, prints.

The commands live in runs.py (run, memory, datasets, bench) and studies.py (study, report,
compare, export); each module fills its own Typer and this one merges them, so nothing imports
back from here. Bad input of any kind ends with one line on stderr and exit code 2 (:func:`main`).
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from . import runs, studies
from .common import USER_ERRORS, console

__all__ = ["app", "console", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Does generative replay pay off in continual learning, and how should it be set?")
for _module in (runs, studies):
    app.registered_commands.extend(_module.commands.registered_commands)
    app.registered_groups.extend(_module.commands.registered_groups)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv if argv is not None else sys.argv[1:], prog_name="gr-bench", standalone_mode=False)
    except USER_ERRORS as e:
        print(f"gr-bench: error: {e}", file=sys.stderr)
        return 2
    except TyperException as e:  # the command-line parser's own errors (bad option, bad value: exit 2)
        print(f"gr-bench: error: {' '.join(e.format_message().split())}", file=sys.stderr)
        return e.exit_code
    except typer.Exit as e:
        return e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("gr-bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
