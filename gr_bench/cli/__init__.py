"""The `gr-bench` command line. Each command parses, calls one plain function, prints.

The commands live in run_commands.py (run, memory, datasets, bench) and study_commands.py (study,
report, compare, export, dashboard, reproduce); each module fills its own Typer and this one merges
them, so nothing imports back from here. Bad input of any kind ends with one line on stderr and exit
code 2, a run or study that failed with exit code 1, an interrupt with 130 (:func:`main`).
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from . import run_commands, study_commands
from .common import CommandFailed, console, user_errors

__all__ = ["app", "console", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Does generative replay pay off in continual learning, and how should it be set?")
for _module in (run_commands, study_commands):
    app.registered_commands.extend(_module.commands.registered_commands)
    app.registered_groups.extend(_module.commands.registered_groups)


def main(argv: list[str] | None = None) -> int:
    """Entry point, returning the exit code: 0 success; 1 a run or study that failed (CommandFailed),
    its reason on stderr; 2 bad input of any kind, one line on stderr and never a traceback; 130 an
    interrupt (Ctrl-C), "interrupted" on stderr.

    With standalone_mode=False click *returns* the code of a typer.Exit raised by a command (and
    typer turns a KeyboardInterrupt into Exit(130)) instead of raising it: the returned value is the
    exit code, not something to ignore."""
    try:
        command = typer.main.get_command(app)
        code = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="gr-bench",
                            standalone_mode=False)
    except user_errors() as e:  # evaluated only when an exception reaches it
        print(f"gr-bench: error: {e}", file=sys.stderr)
        return 2
    except CommandFailed as e:
        print(f"gr-bench: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except TyperException as e:  # the command-line parser's own errors (bad option, bad value: exit 2)
        message = " ".join(e.format_message().split())
        if message:  # none when bare `gr-bench` printed its help
            print(f"gr-bench: error: {message}", file=sys.stderr)
        return e.exit_code
    except typer.Exit as e:
        code = e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    # A command returns None; an int here is the code of an Exit (a command's, --help's, an interrupt's).
    code = code if isinstance(code, int) and not isinstance(code, bool) else 0
    if code == 130:
        print("gr-bench: interrupted", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
