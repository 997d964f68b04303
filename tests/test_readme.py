"""The README works as typed: every program its shell blocks name exists once the project is installed."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def _commands(markdown: str) -> list[list[str]]:
    """Each simple command of each ```bash block: lines joined, split on && ; |, comments dropped."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            cmd: list[str] = []
            for w in [*words, "&&"]:
                if w in ("&&", ";", "|", "||"):
                    if cmd:
                        out.append(cmd)
                    cmd = []
                else:
                    cmd.append(w)
    return out


def _exists(program: str) -> bool:
    if "/" in program:
        return (ROOT / program).exists() or Path(program).exists()
    return bool(shutil.which(program) or (VENV_BIN / program).exists())


def test_every_program_the_readme_names_exists():
    commands = _commands((ROOT / "README.md").read_text())
    assert len(commands) >= 8
    for cmd in commands:
        program = cmd[1] if cmd[0] in ("source", ".") else cmd[0]
        assert _exists(program), f"README names {program!r}, which does not exist after install: {shlex.join(cmd)}"
    named = {Path(c[0]).name for c in commands}
    assert {"gr-bench", "bash", "python3"} <= named
