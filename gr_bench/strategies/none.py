"""No replay: each task is trained on its own data only (the lower bound)."""

from __future__ import annotations

from .base import NoMemory


class NoReplay(NoMemory):
    name = "none"
