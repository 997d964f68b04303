"""Replay strategies, registered by name. Build one with :func:`build_strategy`.

STRATEGIES maps each built-in strategy's name to its class; a class is built with (cfg, bench), or by
its classmethod ``build(cfg, bench)`` when it has one (the buffer sizes itself from the config). A
plugin strategy (``--set strategy=module:Class``, ``path/to/file.py:Class``, an entry point in
`gr_bench.strategies`, a module in $GR_BENCH_PLUGINS: gr_bench/plugins.py) is a class built the same
way; :func:`check_strategy` imports it and smoke-checks it on a tiny benchmark before any run.
:func:`strategy_class` looks a class up by name, for what its attributes say (base.NoMemory's).
"""

from __future__ import annotations

from ..errors import ConfigError
from ..plugins import BUILTIN_STRATEGIES, load
from .base import NoMemory, ReplaySet, Strategy, keeps_memory
from .buffer import BufferReplay, capacity_images, matched_bytes
from .generative import GenerativeReplay
from .joint import Joint
from .none import NoReplay
from .plugin_check import check_strategy_plugin

STRATEGIES: dict[str, type] = {cls.name: cls for cls in (NoReplay, Joint, BufferReplay, GenerativeReplay)}
if tuple(STRATEGIES) != BUILTIN_STRATEGIES:  # the config's list of built-ins (plugins.py) is this registry's keys
    raise ImportError(f"strategies.STRATEGIES {tuple(STRATEGIES)} differs from plugins.BUILTIN_STRATEGIES")


def strategy_class(name: str, recorded: str | None = None):
    """The class (or factory) a strategy name configures: a built-in's, or a plugin's, imported (its
    source must still have the sha256 `recorded`, when given). One ConfigError line if there is none."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    found = load("strategy", name, recorded)
    if found is None:
        raise ConfigError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}, or give a plugin "
                          "as module:Class or path/to/file.py:Class")
    factory, source = found
    if not callable(factory):
        raise ConfigError(f"strategy plugin {name!r} ({source.target}) breaks the protocol: it must be a "
                          "class called with (cfg, bench)")
    return factory


def build_strategy(cfg, bench) -> Strategy:
    factory = strategy_class(cfg.strategy, cfg.strategy_sha256)
    return getattr(factory, "build", factory)(cfg, bench)


def check_strategy(cfg, *, input_dim: int = 784, n_outputs: int = 10) -> None:
    """A plugin strategy imported and smoke-checked (one ConfigError line if anything is wrong); a built-in: nothing."""
    if cfg.strategy not in STRATEGIES:
        factory = strategy_class(cfg.strategy, cfg.strategy_sha256)
        check_strategy_plugin(factory, cfg, input_dim=input_dim, n_outputs=n_outputs)


__all__ = ["STRATEGIES", "BufferReplay", "GenerativeReplay", "Joint", "NoMemory", "NoReplay", "ReplaySet", "Strategy",
           "build_strategy", "capacity_images", "check_strategy", "keeps_memory", "matched_bytes", "strategy_class"]
