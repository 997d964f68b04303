"""Replay strategies, registered by name. Build one with :func:`build_strategy`."""

from __future__ import annotations

from .base import ReplaySet, Strategy
from .buffer import BufferReplay, capacity_images
from .generative import GenerativeReplay
from .joint import Joint
from .none import NoReplay


def matched_bytes(cfg, bench) -> int:
    """buffer_bytes=match-generator[:R]: R times what generative replay would keep on this benchmark
    (gmm: one fitted group per class it will have seen), from the same models a generative run builds."""
    from ..config import match_ratio
    from ..models import kept_bytes

    groups = bench.n_outputs * (bench.n_tasks if bench.scenario == "domain" else 1)
    gen = kept_bytes(cfg, input_dim=bench.input_dim, n_outputs=bench.n_outputs, n_groups=groups)
    return int(match_ratio(cfg.replay.buffer_bytes) * gen)


def _buffer(cfg, bench) -> BufferReplay:
    r = cfg.replay
    if r.buffer_bytes is not None:
        cap = matched_bytes(cfg, bench) // (bench.input_dim + 2)  # image + label + task id, one byte each
    else:
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


__all__ = ["STRATEGIES", "ReplaySet", "Strategy", "build_strategy", "capacity_images", "matched_bytes"]
