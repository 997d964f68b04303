"""A generator plug-in checked: against the protocol (models.base.Generator) as a class, then by its
smoke check (:func:`check_generator_plugin`: build, train or fit on a few images, sample, count).

Finding, hashing and importing a plug-in, and the smoke check's frame (one ConfigError line for
anything the plug-in's code raises, once per process), are the same for strategies: gr_bench/plugins.py.
"""

from __future__ import annotations

import copy
import inspect
import numbers

import torch
from torch import nn

from ..errors import ConfigError
from ..plugins import Smoke, describe, load, smoke_check
from .base import Generator


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


def check_generator_plugin(cls: type[Generator], cfg, *, input_dim: int, n_outputs: int) -> None:
    """Build a generator of `cls` for `cfg`, train one batch (or fit 2 classes of 16 random images),
    sample 5, and check what comes back: float32 pixels (5, input_dim), finite, in [0, 1]; int64
    labels among the seen classes when conditional; whole byte and FLOP counts. One ConfigError
    line on the first thing wrong. Each (class, model settings, sizes) is checked once per process."""
    smoke = Smoke(f"generator plugin {cfg.model.generator!r}")
    smoke_check((cls, cfg.model, cfg.threads, input_dim, n_outputs),
                lambda: _smoke_check(smoke, cls, cfg, input_dim=input_dim, n_outputs=n_outputs))


def _smoke_check(smoke: Smoke, cls: type[Generator], cfg, *, input_dim: int, n_outputs: int) -> None:
    call, fail = smoke.call, smoke.fail
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
        _check_loss(smoke, call("loss()", gen.loss, x, y))
    seen = torch.zeros(n_outputs, dtype=torch.bool)
    seen[classes] = True
    with torch.no_grad():
        out = call("sample()", gen.sample, 5, torch.Generator().manual_seed(0), seen)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(f"sample() returned {describe(out)}; expected a tuple (pixels, labels or None)")
    _check_sample(smoke, gen, out, input_dim=input_dim, seen=seen)
    for what, fn, args in (("memory_bytes()", gen.memory_bytes, ()), ("planned_bytes(10)", gen.planned_bytes, (10,)),
                           ("train_flops()", gen.train_flops, ()), ("sample_flops()", gen.sample_flops, ())):
        smoke.count(what, call(what, fn, *args))
    if not isinstance(gen.flops, numbers.Integral) or gen.flops < 0:
        fail(f"flops is {gen.flops!r}; expected a whole number >= 0")
    call("copy.deepcopy() (generative replay keeps a frozen copy)", copy.deepcopy, gen)


def _check_loss(smoke: Smoke, loss) -> None:
    """A generator trained by gradient: loss() on 32 random images is a finite scalar with a gradient."""
    if not (torch.is_tensor(loss) and loss.numel() == 1 and loss.is_floating_point()):
        smoke.fail(f"loss() returned {describe(loss)}; expected a scalar float tensor")
    if not bool(torch.isfinite(loss.detach()).all()):
        smoke.fail(f"loss() is {float(loss)} on 32 random images")
    if not loss.requires_grad:
        smoke.fail("loss() has no gradient: it must be computed from the module's parameters")
    smoke.call("loss().backward()", loss.backward)


def _check_sample(smoke: Smoke, gen: Generator, out: tuple, *, input_dim: int, seen: torch.Tensor) -> None:
    """sample(5)'s (pixels, labels): float32 (5, input_dim) in [0, 1]; int64 (5,) among the seen classes
    when the generator is conditional (or gives labels at all)."""
    xs, ys = out
    fail, n_outputs, classes = smoke.fail, len(seen), seen.nonzero().flatten().tolist()
    if not torch.is_tensor(xs) or xs.dtype != torch.float32 or tuple(xs.shape) != (5, input_dim):
        fail(f"sample(5) returned pixels {describe(xs)}; expected float32 of shape (5, {input_dim})")
    if not bool(torch.isfinite(xs).all()):
        fail("sample() returned NaN or infinite pixels")
    if float(xs.min()) < 0 or float(xs.max()) > 1:
        fail(f"sample() returned pixels in [{float(xs.min()):.3g}, {float(xs.max()):.3g}]; they must lie in "
             "[0, 1] (clamp them)")
    if gen.conditional or ys is not None:
        if not torch.is_tensor(ys) or ys.dtype != torch.int64 or tuple(ys.shape) != (5,):
            fail(f"sample(5) returned labels {describe(ys)}; expected int64 of shape (5,)"
                 + (" (it is conditional)" if gen.conditional else " or None"))
        if not bool(seen[ys.cpu().clamp(0, n_outputs - 1)].all()) or bool(((ys < 0) | (ys >= n_outputs)).any()):
            fail(f"sample() returned labels {sorted(set(ys.tolist()))}, not among the seen classes {classes}")
