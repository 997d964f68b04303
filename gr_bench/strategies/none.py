"""No replay: each task is trained on its own data only (the lower bound)."""

from __future__ import annotations


class NoReplay:
    name = "none"
    generator = None

    def replay(self, task, rng):
        return None

    def after_task(self, task, classifier, rng):
        pass

    def memory_bytes(self) -> int:
        return 0
