"""Plug-ins: a generator or a strategy from outside gr-bench, for both kinds alike.

A config names a plug-in as ``module:Class``, ``path/to/file.py:Class``, a module NAME.py in a
$GR_BENCH_PLUGINS folder, or an installed package's entry point. This module holds everything that
is the same for both kinds:

- discovery (:func:`plugin_source`): where the plug-in's source file is, found without running it;
- its sha256 (:func:`plugin_sha256`), which the config records, so an edited plug-in gets new run ids;
- loading (:func:`load`): that file imported, refused if it changed since the config was made, so the
  run id always names the code that ran; and the provenance a run records of it;
- the smoke check's frame (:class:`Smoke`, :func:`smoke_check`): the plug-in's own code called so that
  anything it raises is one ConfigError line, once per process, without touching a run's random draws.

What a plug-in must be, and the steps of its smoke check, belong to its kind's protocol: models/
(plugin_check.py) for generators, strategies/ (plugin_check.py) for strategies. Loading a plug-in runs
its code: that is what a plug-in is for, and nothing else in gr-bench loads code from files (studies
aside: $GR_BENCH_STUDIES). Base layer: torch is imported only inside the smoke check.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import numbers
import os
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import NoReturn, cast

from .errors import ConfigError

PLUGINS_ENV = "GR_BENCH_PLUGINS"  # folders of plugin modules, os.pathsep-separated (beside $GR_BENCH_STUDIES)
ENTRY_POINT_GROUPS = {"generator": "gr_bench.generators", "strategy": "gr_bench.strategies"}
# what a module NAME.py in a $GR_BENCH_PLUGINS folder names its plugin by, when used as plain NAME
FOLDER_ATTRIBUTES = {"generator": "GENERATOR", "strategy": "STRATEGY"}

# The built-in strategies' names: the keys of the strategy registry (strategies.STRATEGIES, which
# refuses to import when its classes' names differ from these). Here, in the base layer, so that a
# config tells a built-in from a plug-in without importing the strategies (and torch).
BUILTIN_STRATEGIES = ("none", "joint", "buffer", "generative")


@dataclass(frozen=True)
class PluginSource:
    """A plugin as found: ``module`` to import (None: load ``path`` itself), ``attribute`` in it,
    ``path`` the source file whose sha256 the config records, ``via`` how it was named."""

    kind: str  # generator or strategy
    name: str  # as configured
    module: str | None
    attribute: str
    path: Path
    via: str  # "import path", "file", "$GR_BENCH_PLUGINS" or "entry point"

    @property
    def target(self) -> str:
        """module:attribute, or file:attribute: what is imported."""
        return f"{self.module or self.path}:{self.attribute}"


# --- discovery: where a plug-in lives, found without running any of its code ------------------------

def plugin_folders() -> list[Path]:
    return [Path(f).expanduser() for f in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if f]


def is_name(text: object) -> bool:
    """Whether `text` can name a generator or a strategy at all: non-empty text without whitespace."""
    return isinstance(text, str) and text != "" and not any(c.isspace() for c in text)


def _dotted(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


@cache
def _entry_points(group: str) -> dict[str, str]:
    """name -> "module:attribute" of the installed packages' entry points in `group` (read once per process)."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=group)}


def find_module(name: str) -> Path | None:
    """The source file of module `name` (dotted) in a $GR_BENCH_PLUGINS folder or on sys.path (in
    that order), found without importing it or its packages; None when there is none."""
    from importlib.machinery import PathFinder

    search = [str(f) for f in plugin_folders()] + sys.path
    parts, spec = name.split("."), None
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            break
        if i < len(parts) - 1:
            if not spec.submodule_search_locations:
                return None
            search = list(spec.submodule_search_locations)
    origin = getattr(spec, "origin", None)
    if not (origin and Path(origin).is_file()):  # another finder's (an editable install's); imports its packages
        try:
            origin = getattr(importlib.util.find_spec(name), "origin", None)
        except (ImportError, ValueError, AttributeError):
            origin = None
    return Path(origin).resolve() if origin and Path(origin).is_file() else None


def plugin_source(kind: str, name: str) -> PluginSource | None:
    """Where the plugin that `name` configures as a `kind` lives; None when `name` is no plugin
    (a built-in, or unknown: the registry says which). `name` is an import path, module:Class or
    path/to/file.py:Class (a ConfigError when there is no such module or file), or a plain name: a
    module NAME.py in a $GR_BENCH_PLUGINS folder (its attribute GENERATOR or STRATEGY), else an
    installed package's entry point of that name."""
    if ":" in name:
        return _named_source(kind, name)
    if not _dotted(name):
        return None
    for folder in plugin_folders():
        if (folder / f"{name}.py").is_file():
            return PluginSource(kind, name, None, FOLDER_ATTRIBUTES[kind], (folder / f"{name}.py").resolve(),
                                f"${PLUGINS_ENV}")
    value = _entry_points(ENTRY_POINT_GROUPS[kind]).get(name)
    if value is None:
        return None
    module, _, attribute = value.partition(":")
    entry_path = find_module(module.strip()) if _dotted(module.strip()) else None
    if entry_path is None or not _dotted(attribute.strip()):
        raise ConfigError(f"{kind} {name!r}: its entry point names {value!r}, which cannot be entry_path")
    return PluginSource(kind, name, module.strip(), attribute.strip(), entry_path, "entry point")


def _named_source(kind: str, name: str) -> PluginSource:
    """module:Class or path/to/file.py:Class."""
    left, _, attribute = name.rpartition(":")
    if not _dotted(attribute):
        raise ConfigError(f"{kind} {name!r}: after the ':' comes the class's name, got {attribute!r}")
    if left.endswith(".py") or "/" in left or os.sep in left:
        try:
            path = Path(left).expanduser().resolve()
            found = path.is_file()
        except (OSError, ValueError, RuntimeError):
            found = False
        if not found:
            raise ConfigError(f"{kind} {name!r}: no file {left!r}")
        return PluginSource(kind, name, None, attribute, path, "file")
    module_path = find_module(left) if _dotted(left) else None
    if module_path is None:
        raise ConfigError(f"{kind} {name!r}: no module {left!r} on sys.path or in ${PLUGINS_ENV}")
    return PluginSource(kind, name, left, attribute, module_path, "import path")


# --- the sha256 of a plug-in's source, which its config records --------------------------------------

def file_sha256(path: Path) -> str:
    st = path.stat()
    return _file_sha256(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=256)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def plugin_sha256(kind: str, name: str, recorded: str | None) -> str | None:
    """The sha256 a config records for its `kind` plugin: the recorded one (a config read back with
    its run), else that of the plugin's source file now; None when `name` is no plugin."""
    if recorded is not None:
        if not (isinstance(recorded, str) and len(recorded) == 64 and all(c in "0123456789abcdef" for c in recorded)):
            raise ConfigError(f"{kind}_sha256 must be 64 hex digits, got {recorded!r}")
        return recorded
    source = plugin_source(kind, name)
    if source is None:
        return None
    try:
        return file_sha256(source.path)
    except OSError as e:
        raise ConfigError(f"{kind} {name!r}: cannot read {source.path} ({e.strerror or e})") from None


# --- loading: the file whose sha256 the config recorded, imported -------------------------------------

_loaded: dict[str, tuple[str, object]] = {}  # source file -> (its sha256 when imported, the module)


def one_line(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())


def load(kind: str, name: str, recorded: str | None) -> tuple[object, PluginSource] | None:
    """The object a plugin name configures (its class), imported; None when `name` is no plugin.
    `recorded`: the sha256 the config recorded, which the file must still have (None: not checked)."""
    source = plugin_source(kind, name)
    if source is None:
        return None
    where = f"{kind} plugin {name!r}"
    try:
        sha = file_sha256(source.path)
    except OSError as e:
        raise ConfigError(f"{where}: cannot read {source.path} ({e.strerror or e})") from None
    if recorded is not None and recorded != sha:
        raise ConfigError(f"{where} changed since this configuration was made (its source {source.path} had "
                          f"sha256 {recorded[:12]}..., now {sha[:12]}...): run the command again")
    try:
        module = _import(source, sha)
    except ConfigError:
        raise
    except (Exception, SystemExit) as e:  # the plugin's own code failed: one line, no traceback
        raise ConfigError(f"{where}: importing {source.target} failed ({one_line(e)})") from None
    obj: object = module
    for part in source.attribute.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{where}: {source.path} defines no {source.attribute!r}")
        obj = getattr(obj, part)
    return obj, source


def _import(source: PluginSource, sha: str):
    """The plugin's module, imported from its source file (again when that file changed since)."""
    key = str(source.path)
    held = _loaded.get(key)
    if held is not None and held[0] == sha:
        return held[1]
    for folder in map(str, plugin_folders()):  # plugin modules import their neighbours
        if folder not in sys.path:
            sys.path.append(folder)
    # The file found, executed as that module (a file path: as a module of its own, named after its
    # content), so that the code that runs is the code whose sha256 the config recorded; a module
    # imported already from that file (not by a plugin load) is used as it is, and one imported from
    # another file is never replaced.
    name = source.module or f"_gr_bench_plugin_{source.path.stem}_{sha[:12]}"
    current = sys.modules.get(name)
    if current is not None and not any(current is m for _, m in _loaded.values()):
        if _file(current) != source.path:
            raise ConfigError(f"{source.kind} {source.name!r}: a module {name!r} is already imported from "
                              f"{_file(current) or 'elsewhere'}, not {source.path}; rename the plugin's module")
        _loaded[key] = (sha, current)
        return current
    if "." in name:  # its package first
        importlib.import_module(name.rpartition(".")[0])
    package = [str(source.path.parent)] if source.path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(name, source.path, submodule_search_locations=package)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{source.kind} {source.name!r}: {source.path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if current is not None:
            sys.modules[name] = current
        else:
            del sys.modules[name]
        raise
    _loaded[key] = (sha, module)
    return module


def _file(module) -> Path | None:
    f = getattr(module, "__file__", None)
    return Path(f).resolve() if f else None


def plugin_provenance(cfg) -> dict[str, dict[str, str]]:
    """kind -> {name, source file, sha256} of each plugin a run of `cfg` uses (its generator, its strategy)."""
    out = {}
    for kind, name, sha in (("generator", cfg.model.generator, cfg.model.generator_sha256),
                            ("strategy", cfg.strategy, cfg.strategy_sha256)):
        source = plugin_source(kind, name) if sha is not None else None
        if source is not None:
            out[kind] = {"name": name, "target": source.target, "path": str(source.path), "sha256": sha,
                         "via": source.via}
    return out


# --- the smoke check's frame: a plug-in's code called, its failures one line -------------------------

@dataclass(frozen=True)
class Smoke:
    """One plug-in's smoke check under way: `where` names it ("generator plugin 'x:G'") at the head of
    every line it raises."""

    where: str

    def call(self, what: str, fn: Callable, *args, **kwargs):
        """fn(*args, **kwargs), the plug-in's own code: anything it raises becomes one ConfigError line."""
        try:
            return fn(*args, **kwargs)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(f"{self.where}: {what} raised {one_line(e)}") from None

    def fail(self, what: str) -> NoReturn:
        raise ConfigError(f"{self.where}: {what}")

    def count(self, what: str, value: object, whole: type = numbers.Integral) -> None:
        """A byte or FLOP count that the plug-in returned: a whole number (an instance of `whole`) >= 0."""
        if not isinstance(value, whole) or isinstance(value, bool) or cast(int, value) < 0:
            self.fail(f"{what} returned {value!r}; expected a whole number >= 0")


_smoke_checked: set = set()


def smoke_check(key: Hashable, check: Callable[[], None]) -> None:
    """Run `check` (a plug-in's smoke check) once per process for each `key` (what the check depends on:
    the class, the settings, the sizes), with torch's global random state put back afterwards, so a
    run's random draws never depend on whether it checked."""
    if key in _smoke_checked:
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        check()
    _smoke_checked.add(key)


def describe(value: object) -> str:
    """A returned value in a line: a tensor's dtype and shape, else its type."""
    import torch

    if torch.is_tensor(value):
        return f"{value.dtype} of shape {tuple(value.shape)}"
    return type(value).__name__ if value is not None else "None"
