"""Plugins: a generator or a strategy from outside gr-bench, imported by the name its config gives
and checked before any training.

Loading a plugin runs its code: that is what a plugin is for, and nothing else in gr-bench loads
code from files (studies aside: $GR_BENCH_STUDIES). config.plugin_source finds the plugin's source
file (a module:Class import path, a path/to/file.py:Class, a module in a $GR_BENCH_PLUGINS folder,
or an installed package's entry point) and the config records its sha256; :func:`load` imports that
file, and refuses it if it changed since the config was made, so the run id always names the code
that ran. Every failure, whether importing, the protocol (models.base.Generator) or the smoke check
(:func:`check_generator`: build, train or fit on a few images, sample, count), is one ConfigError line.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import numbers
import sys
from pathlib import Path

import torch
from torch import nn

from ..config import ConfigError, PluginSource, file_sha256, plugin_folders, plugin_source
from .base import Generator

_loaded: dict[str, tuple[str, object]] = {}  # source file -> (its sha256 when imported, the module)


def one_line(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())


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


def load(kind: str, name: str, recorded: str | None) -> tuple[object, PluginSource] | None:
    """The object a plugin name configures (its class), imported; None when `name` is no plugin.
    `recorded`: the sha256 the config recorded, which the file must still have."""
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


def generator_plugin(name: str, recorded: str | None) -> type[Generator] | None:
    """A generator plugin's class, checked against the protocol (models.base.Generator); None when
    `name` is no plugin."""
    found = load("generator", name, recorded)
    if found is None:
        return None
    cls, source = found
    where = f"generator plugin {name!r}" + (f" ({source.target})" if source.target != name else "") \
        + " breaks the protocol"
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise ConfigError(f"{where}: it must be a class that subclasses gr_bench.models.Generator, "
                          f"got {type(cls).__name__} {getattr(cls, '__name__', '')}".rstrip())
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ConfigError(f"{where}: it does not define {missing}")
    if cls.feedback:
        raise ConfigError(f"{where}: feedback (the classifier as generator) is the built-in rtf's alone")
    if cls.closed_form and cls.fit is Generator.fit:
        raise ConfigError(f"{where}: closed_form is True but it defines no fit(x, y, rng)")
    if not cls.closed_form and not issubclass(cls, nn.Module):
        raise ConfigError(f"{where}: a generator trained by gradient (closed_form = False) must also subclass "
                          "torch.nn.Module")
    if not cls.closed_form and cls.loss is Generator.loss:
        raise ConfigError(f"{where}: trained by gradient (closed_form = False) but it defines no loss(x, y)")
    return cls


_smoke_checked: set = set()


def smoke_check(cls: type[Generator], cfg, *, input_dim: int, n_outputs: int) -> None:
    """Build a generator of `cls` for `cfg`, train one batch (or fit 2 classes of 16 random images),
    sample 5, and check what comes back: float32 pixels (5, input_dim), finite, in [0, 1]; int64
    labels among the seen classes when conditional; whole byte and FLOP counts. One ConfigError
    line on the first thing wrong. Each (class, model settings, sizes) is checked once per process."""
    key = (cls, cfg.model, cfg.threads, input_dim, n_outputs)
    if key in _smoke_checked:
        return
    with torch.random.fork_rng(devices=[]):  # a run's random draws never depend on whether it checked
        _smoke_check(cls, cfg, input_dim=input_dim, n_outputs=n_outputs)
    _smoke_checked.add(key)


def guarded_call(where: str, what: str, fn, *args, **kwargs):
    """fn(*args, **kwargs), a plugin's own code: anything it raises becomes one ConfigError line."""
    try:
        return fn(*args, **kwargs)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{where}: {what} raised {one_line(e)}") from None


def _smoke_check(cls: type[Generator], cfg, *, input_dim: int, n_outputs: int) -> None:
    where = f"generator plugin {cfg.model.generator!r}"

    def call(what: str, fn, *args, **kwargs):
        return guarded_call(where, what, fn, *args, **kwargs)

    def fail(what: str) -> None:
        raise ConfigError(f"{where}: {what}")

    gen = call("build()", cls.build, cfg, input_dim=input_dim, n_outputs=n_outputs)
    if not isinstance(gen, Generator):
        fail(f"build() returned {type(gen).__name__}, not a gr_bench.models.Generator")
    if not gen.closed_form and not isinstance(gen, nn.Module):
        fail(f"build() returned {type(gen).__name__}, not a torch.nn.Module (it is trained by gradient)")
    rng = torch.Generator().manual_seed(0)
    classes = list(range(min(2, n_outputs)))
    x = torch.rand(16 * len(classes), input_dim, generator=rng)
    y = torch.tensor(classes).repeat_interleave(16)
    if gen.closed_form:
        call("fit()", gen.fit, x, y, rng)
    else:
        loss = call("loss()", gen.loss, x, y)
        if not (torch.is_tensor(loss) and loss.numel() == 1 and loss.is_floating_point()):
            fail(f"loss() returned {_describe(loss)}; expected a scalar float tensor")
        if not bool(torch.isfinite(loss.detach()).all()):
            fail(f"loss() is {float(loss)} on 32 random images")
        if not loss.requires_grad:
            fail("loss() has no gradient: it must be computed from the module's parameters")
        call("loss().backward()", loss.backward)
    seen = torch.zeros(n_outputs, dtype=torch.bool)
    seen[classes] = True
    with torch.no_grad():
        out = call("sample()", gen.sample, 5, torch.Generator().manual_seed(0), seen)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(f"sample() returned {_describe(out)}; expected a tuple (pixels, labels or None)")
    xs, ys = out
    if not torch.is_tensor(xs) or xs.dtype != torch.float32 or tuple(xs.shape) != (5, input_dim):
        fail(f"sample(5) returned pixels {_describe(xs)}; expected float32 of shape (5, {input_dim})")
    if not bool(torch.isfinite(xs).all()):
        fail("sample() returned NaN or infinite pixels")
    if float(xs.min()) < 0 or float(xs.max()) > 1:
        fail(f"sample() returned pixels in [{float(xs.min()):.3g}, {float(xs.max()):.3g}]; they must lie in "
             "[0, 1] (clamp them)")
    if gen.conditional or ys is not None:
        if not torch.is_tensor(ys) or ys.dtype != torch.int64 or tuple(ys.shape) != (5,):
            fail(f"sample(5) returned labels {_describe(ys)}; expected int64 of shape (5,)"
                 + (" (it is conditional)" if gen.conditional else " or None"))
        if not bool(seen[ys.cpu().clamp(0, n_outputs - 1)].all()) or bool(((ys < 0) | (ys >= n_outputs)).any()):
            fail(f"sample() returned labels {sorted(set(ys.tolist()))}, not among the seen classes {classes}")
    for what, fn, args in (("memory_bytes()", gen.memory_bytes, ()), ("planned_bytes(10)", gen.planned_bytes, (10,)),
                           ("train_flops()", gen.train_flops, ()), ("sample_flops()", gen.sample_flops, ())):
        value = call(what, fn, *args)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            fail(f"{what} returned {value!r}; expected a whole number >= 0")
    if not isinstance(gen.flops, numbers.Integral) or gen.flops < 0:
        fail(f"flops is {gen.flops!r}; expected a whole number >= 0")
    call("copy.deepcopy() (generative replay keeps a frozen copy)", copy.deepcopy, gen)


def _describe(value: object) -> str:
    if torch.is_tensor(value):
        return f"{value.dtype} of shape {tuple(value.shape)}"
    return type(value).__name__ if value is not None else "None"
