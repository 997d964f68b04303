"""Replay strategies, registered by name. Build one with :func:`build_strategy`."""

from __future__ import annotations

from .base import ReplaySet, Strategy
from .buffer import BufferReplay, capacity_images
from .generative import GenerativeReplay
from .joint import Joint
from .none import NoReplay


def _buffer(cfg, bench) -> BufferReplay:
    r = cfg.replay
    cap = capacity_images(buffer=r.buffer, buffer_mb=r.buffer_mb, input_dim=bench.input_dim)
    return BufferReplay(cap, r.selection, bench.input_dim, per_batch=r.replay_mode == "per-batch")


STRATEGIES = {
    "none": lambda cfg, bench: NoReplay(),
    "joint": lambda cfg, bench: Joint(),
    "buffer": _buffer,
    "generative": GenerativeReplay,
}


def build_strategy(cfg, bench) -> Strategy:
    return STRATEGIES[cfg.strategy](cfg, bench)


__all__ = ["STRATEGIES", "ReplaySet", "Strategy", "build_strategy", "capacity_images"]
