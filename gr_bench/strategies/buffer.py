"""Experience replay from a fixed-size buffer of real images (stored as uint8).

Each stored example costs ``input_dim + 2`` bytes: the image, its label and its task id, one byte
each (786 B for MNIST). In per-task mode the whole buffer is mixed into the next task's training
data; in per-batch mode each training step draws a fresh random batch from it (experience replay).

Selection:
- ``class-balanced`` (default): after each task the buffer holds an equal share per class seen
  so far (per (task, label) in the domain scenario); a shrinking class keeps a random subset.
- ``reservoir``: reservoir sampling over the stream of training examples (Vitter's algorithm R),
  so each example seen so far is in the buffer with equal probability.
"""

from __future__ import annotations

import torch

from ..config import match_ratio
from ..models import kept_bytes
from .base import NoMemory, ReplaySet, to_float


def matched_bytes(cfg, bench) -> int:
    """buffer_bytes=match-generator[:R]: R times what generative replay would keep on this benchmark
    (gmm: one fitted group per class it will have seen), from the same models a generative run builds."""
    groups = bench.n_outputs * (bench.n_tasks if bench.scenario == "domain" else 1)
    gen = kept_bytes(cfg, input_dim=bench.input_dim, n_outputs=bench.n_outputs, n_groups=groups)
    return int(match_ratio(cfg.replay.buffer_bytes) * gen)


def capacity_images(*, buffer: int, buffer_mb: float | None, input_dim: int) -> int:
    """Capacity in examples: ``buffer``, or as many as fit in ``buffer_mb`` MiB."""
    if buffer_mb is None:
        return buffer
    return int(buffer_mb * 2**20) // (input_dim + 2)


class BufferReplay(NoMemory):
    name = "buffer"
    stores_samples = True

    @classmethod
    def build(cls, cfg, bench) -> BufferReplay:
        """The buffer of a run of `cfg` on `bench` (the registry builds it so): buffer_bytes's examples,
        else buffer_mb's or buffer's."""
        r = cfg.replay
        if r.buffer_bytes is not None:
            cap = matched_bytes(cfg, bench) // (bench.input_dim + 2)  # image + label + task id, one byte each
        else:
            cap = capacity_images(buffer=r.buffer, buffer_mb=r.buffer_mb, input_dim=bench.input_dim)
        return cls(cap, r.selection, bench.input_dim, per_batch=r.replay_mode == "per-batch")

    def __init__(self, capacity: int, selection: str, input_dim: int, per_batch: bool = False) -> None:
        self.capacity = capacity
        self.selection = selection
        self.per_batch = per_batch
        self.x = torch.empty(0, input_dim, dtype=torch.uint8)
        self.y = torch.empty(0, dtype=torch.uint8)
        self.task = torch.empty(0, dtype=torch.uint8)
        self.n_seen = 0  # examples streamed so far (reservoir sampling)

    def replay(self, task, rng):
        if len(self.y) == 0 or self.per_batch:
            return None
        return ReplaySet(to_float(self.x), self.y.long())

    def fresh_replay(self, n, rng, labels=True):  # stored labels cost nothing: always given
        if len(self.y) == 0 or not self.per_batch:
            return None
        idx = torch.randint(len(self.y), (n,), generator=rng)
        return ReplaySet(to_float(self.x[idx]), self.y[idx].long())

    def after_task(self, task, classifier, rng):
        n = len(task.y_train)
        order = torch.randperm(n, generator=rng)
        new_x, new_y = task.x_train[order], task.y_train[order].to(torch.uint8)
        new_t = torch.full((n,), task.index, dtype=torch.uint8)
        if self.selection == "reservoir":
            self._reservoir(new_x, new_y, new_t, rng)
        else:
            self._balanced(new_x, new_y, new_t)

    def _balanced(self, new_x, new_y, new_t) -> None:
        x = torch.cat([self.x, new_x])
        y = torch.cat([self.y, new_y])
        t = torch.cat([self.task, new_t])
        group = t.long() * 256 + y.long()  # one group per (task, label): per class in class/task scenarios
        groups = torch.unique(group)
        quota = self.capacity // len(groups)
        extra = self.capacity - quota * len(groups)  # the first `extra` groups keep one more
        keep = []
        for k, g in enumerate(groups.tolist()):
            idx = torch.nonzero(group == g).flatten()  # old examples first, then the shuffled new ones
            keep.append(idx[: quota + (1 if k < extra else 0)])
        keep_idx = torch.cat(keep)
        self.x, self.y, self.task = x[keep_idx], y[keep_idx], t[keep_idx]

    def _reservoir(self, new_x, new_y, new_t, rng) -> None:
        room = max(0, min(self.capacity - len(self.y), len(new_y)))
        self.x = torch.cat([self.x, new_x[:room]])
        self.y = torch.cat([self.y, new_y[:room]])
        self.task = torch.cat([self.task, new_t[:room]])
        self.n_seen += room
        # Example k (0-based over the whole stream) replaces slot j ~ U{0..k} when j < capacity.
        stream_pos = torch.arange(self.n_seen, self.n_seen + len(new_y) - room, dtype=torch.float64)
        slots = (torch.rand(len(stream_pos), generator=rng, dtype=torch.float64) * (stream_pos + 1)).long()
        last_writer: dict[int, int] = {}
        for i, j in enumerate(slots.tolist()):  # later examples overwrite earlier ones
            if j < self.capacity:
                last_writer[j] = room + i
        if last_writer:
            dst = torch.tensor(list(last_writer.keys()))
            src = torch.tensor(list(last_writer.values()))
            self.x[dst], self.y[dst], self.task[dst] = new_x[src], new_y[src], new_t[src]
        self.n_seen += len(new_y) - room

    def memory_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.x, self.y, self.task))
