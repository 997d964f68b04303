"""Replay strategies, registered by name. Build one with :func:`build_strategy`.

STRATEGIES maps each built-in strategy's name to its factory, (cfg, bench) -> Strategy. A plugin
strategy (``--set strategy=module:Class``, ``path/to/file.py:Class``, an entry point in
`gr_bench.strategies`, a module in $GR_BENCH_PLUGINS: config.plugin_source) is a class called the
same way; :func:`check_strategy` imports it and smoke-checks it on a tiny benchmark before any run.
"""

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


def strategy_class(cfg):
    """The factory of cfg's strategy: a built-in's, or a plugin's class, imported (one ConfigError line if not)."""
    if cfg.strategy in STRATEGIES:
        return STRATEGIES[cfg.strategy]
    from ..config import ConfigError
    from ..models.plugins import load

    found = load("strategy", cfg.strategy, cfg.strategy_sha256)
    if found is None:
        raise ConfigError(f"unknown strategy {cfg.strategy!r}; choose from {', '.join(STRATEGIES)}, or give a plugin "
                          "as module:Class or path/to/file.py:Class")
    factory, source = found
    if not callable(factory):
        raise ConfigError(f"strategy plugin {cfg.strategy!r} ({source.target}) breaks the protocol: it must be a "
                          "class called with (cfg, bench)")
    return factory


def build_strategy(cfg, bench) -> Strategy:
    return strategy_class(cfg)(cfg, bench)


def check_strategy(cfg, *, input_dim: int = 784, n_outputs: int = 10) -> None:
    """A plugin strategy imported and smoke-checked (one ConfigError line if anything is wrong); a built-in: nothing."""
    if cfg.strategy in STRATEGIES:
        return
    import torch

    factory = strategy_class(cfg)
    key = (factory, cfg, input_dim, n_outputs)
    if key not in _smoke_checked:
        with torch.random.fork_rng(devices=[]):  # a run's random draws never depend on whether it checked
            _smoke_check(factory, cfg, input_dim=input_dim, n_outputs=n_outputs)
        _smoke_checked.add(key)


_smoke_checked: set = set()
_METHODS = ("replay", "fresh_replay", "fit_generator", "after_task", "sample_flops", "memory_bytes")


def _smoke_check(factory, cfg, *, input_dim: int, n_outputs: int) -> None:
    """Build the strategy on a tiny benchmark (2 tasks of 2 classes, 16 random images each), end the
    first task, and check the replay it gives the second (per-task and per-batch) and its byte and
    FLOP counts."""
    import torch

    from ..config import ConfigError
    from ..data import SplitBenchmark, Task
    from ..models import Generator, build_classifier
    from ..models.plugins import guarded_call

    where = f"strategy plugin {cfg.strategy!r}"

    def call(what: str, fn, *args):
        return guarded_call(where, what, fn, *args)

    def fail(what: str) -> None:
        raise ConfigError(f"{where}: {what}")

    rng = torch.Generator().manual_seed(0)
    k = max(1, min(2, n_outputs // 2))

    def task(i: int) -> Task:
        x = torch.randint(256, (16 * k, input_dim), generator=rng, dtype=torch.uint8)
        y = torch.arange(i * k, (i + 1) * k).repeat_interleave(16)
        empty = torch.empty(0, input_dim, dtype=torch.uint8)
        return Task(i, tuple(range(i * k, (i + 1) * k)), x, y, empty, y[:0], x, y)

    bench = SplitBenchmark("smoke-check", "class", tuple(range(n_outputs)), (task(0), task(1)), n_outputs,
                           input_dim)
    strategy = call("building it with (cfg, bench)", factory, cfg, bench)
    missing = [m for m in _METHODS if not callable(getattr(strategy, m, None))]
    if missing:
        fail(f"breaks the protocol (strategies.base.Strategy): it defines no {', '.join(missing)} "
             "(subclass gr_bench.strategies.base.NoMemory for defaults)")
    generator = getattr(strategy, "generator", None)
    if generator is not None and not isinstance(generator, Generator):
        fail(f"its generator is a {type(generator).__name__}, not a gr_bench.models.Generator (or None)")
    classifier = build_classifier(input_dim=input_dim, hidden=(8,), n_outputs=n_outputs)
    t0, t1 = bench.tasks
    call("replay(task 0)", strategy.replay, t0, rng)
    call("after_task(task 0)", strategy.after_task, t0, classifier, rng)
    for what, replay, n in (("replay(task 1)", call("replay(task 1)", strategy.replay, t1, rng), None),
                            ("fresh_replay(4)", call("fresh_replay(4)", strategy.fresh_replay, 4, rng), 4)):
        if replay is None:
            continue
        if not isinstance(replay, ReplaySet):
            fail(f"{what} returned {type(replay).__name__}; expected a ReplaySet or None")
        x, y = replay.x, replay.y
        if not torch.is_tensor(x) or x.dtype != torch.float32 or x.dim() != 2 or x.shape[1] != input_dim \
                or (n is not None and x.shape[0] != n):
            fail(f"{what} gave pixels {tuple(getattr(x, 'shape', ()))} {getattr(x, 'dtype', type(x).__name__)}; "
                 f"expected float32 of shape ({n if n is not None else 'N'}, {input_dim})")
        if x.numel() and (not bool(torch.isfinite(x).all()) or float(x.min()) < 0 or float(x.max()) > 1):
            fail(f"{what} gave pixels that are NaN, infinite or outside [0, 1]")
        if y is not None and (not torch.is_tensor(y) or y.dtype != torch.int64 or tuple(y.shape) != (len(x),)):
            fail(f"{what} gave labels {getattr(y, 'dtype', type(y).__name__)} {tuple(getattr(y, 'shape', ()))}; "
                 f"expected int64 of shape ({len(x)},)")
    for what, fn in (("memory_bytes()", strategy.memory_bytes), ("sample_flops()", strategy.sample_flops)):
        value = call(what, fn)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            fail(f"{what} returned {value!r}; expected a whole number >= 0")


__all__ = ["STRATEGIES", "ReplaySet", "Strategy", "build_strategy", "capacity_images", "check_strategy",
           "matched_bytes", "strategy_class"]
