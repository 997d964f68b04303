"""A strategy plug-in checked: it follows strategies.base.Strategy, shown by a smoke check on a tiny
benchmark before any run (:func:`check_strategy_plugin`).

Finding, hashing and importing a plug-in, and the smoke check's frame (one ConfigError line for
anything the plug-in's code raises, once per process), are the same for generators: gr_bench/plugins.py.
"""

from __future__ import annotations

import torch

from ..data import SplitBenchmark, Task
from ..models import Generator, build_classifier
from ..plugins import Smoke, smoke_check
from .base import ReplaySet

_METHODS = ("replay", "fresh_replay", "fit_generator", "after_task", "sample_flops", "memory_bytes")


def check_strategy_plugin(factory, cfg, *, input_dim: int, n_outputs: int) -> None:
    """Build the strategy on a tiny benchmark (2 tasks of 2 classes, 16 random images each), end the
    first task, and check the replay it gives the second (per-task and per-batch) and its byte and
    FLOP counts. One ConfigError line on the first thing wrong; each (factory, config, sizes) is
    checked once per process."""
    smoke = Smoke(f"strategy plugin {cfg.strategy!r}")
    smoke_check((factory, cfg, input_dim, n_outputs),
                lambda: _smoke_check(smoke, factory, cfg, input_dim=input_dim, n_outputs=n_outputs))


def _tiny_benchmark(input_dim: int, n_outputs: int, rng: torch.Generator) -> SplitBenchmark:
    k = max(1, min(2, n_outputs // 2))

    def task(i: int) -> Task:
        x = torch.randint(256, (16 * k, input_dim), generator=rng, dtype=torch.uint8)
        y = torch.arange(i * k, (i + 1) * k).repeat_interleave(16)
        empty = torch.empty(0, input_dim, dtype=torch.uint8)
        return Task(i, tuple(range(i * k, (i + 1) * k)), x, y, empty, y[:0], x, y)

    return SplitBenchmark("smoke-check", "class", tuple(range(n_outputs)), (task(0), task(1)), n_outputs, input_dim)


def _smoke_check(smoke: Smoke, factory, cfg, *, input_dim: int, n_outputs: int) -> None:
    call, fail = smoke.call, smoke.fail
    rng = torch.Generator().manual_seed(0)
    bench = _tiny_benchmark(input_dim, n_outputs, rng)
    strategy = call("building it with (cfg, bench)", getattr(factory, "build", factory), cfg, bench)
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
        if replay is not None:
            _check_replay(smoke, what, replay, n, input_dim)
    for what, fn in (("memory_bytes()", strategy.memory_bytes), ("sample_flops()", strategy.sample_flops)):
        smoke.count(what, call(what, fn), whole=int)


def _check_replay(smoke: Smoke, what: str, replay, n: int | None, input_dim: int) -> None:
    """A replay set the strategy gave: float32 pixels (n or any number, input_dim) in [0, 1]; int64 labels
    (or None), one per image."""
    fail = smoke.fail
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
