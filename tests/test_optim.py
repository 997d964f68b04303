"""gr_bench.optim against torch.optim: the same updates, bit for bit, and the same lr schedule;
and torch.optim itself where torch's private kernels are missing or changed."""

import math

import pytest
import torch

from gr_bench import optim
from gr_bench.optim import SGD, Adam, LambdaLR


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def _train(model, opt, sched=None, steps=25):
    g = torch.Generator().manual_seed(1)
    for k in range(steps):
        x = torch.randn(8, 6, generator=g)
        y = torch.randint(3, (8,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if k == 3:  # a parameter without a gradient for one step: no update, no state change
            model[2].bias.grad = None
        opt.step()
        if sched is not None:
            sched.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
@pytest.mark.parametrize("scheduled", [False, True])
def test_same_parameters_as_torch_optim(kind, scheduled):
    factor = lambda k: 0.5 * (1 + math.cos(math.pi * (k % 10) / 10))  # noqa: E731
    ours, theirs = _model(), _model()
    if kind == "adam":
        a, b = Adam(ours.parameters(), lr=1e-2), torch.optim.Adam(theirs.parameters(), lr=1e-2, fused=True)
    else:
        a = SGD(ours.parameters(), lr=1e-1)
        b = torch.optim.SGD(theirs.parameters(), lr=1e-1, momentum=0.9, foreach=True)
    sa = LambdaLR(a, factor) if scheduled else None
    sb = torch.optim.lr_scheduler.LambdaLR(b, factor) if scheduled else None
    for p, q in zip(_train(ours, a, sa), _train(theirs, b, sb)):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_the_kernels_work_here(kind, monkeypatch):
    """The probe passes on this torch, so the trainer gets our classes (the fast path)."""
    monkeypatch.setattr(optim, "_KERNELS", {})
    assert optim._kernels_work(kind)
    assert isinstance(optim.make_optimizer(kind, _model(), 1e-2), SGD if kind == "sgd" else Adam)


def _changed_signature(*args, **kwargs):
    raise TypeError("_fused_adam_() got an unexpected keyword argument 'grad_scale'")


@pytest.mark.parametrize("kind, breakage", [
    ("adam", "missing"), ("adam", "signature"), ("sgd", "missing"), ("sgd", "signature"),
])
def test_falls_back_to_torch_optim(kind, breakage, monkeypatch):
    """Without the private kernels (or with a new signature), make_optimizer and within_task
    return torch.optim's classes, and their steps are torch.optim's own."""
    monkeypatch.setattr(optim, "_KERNELS", {})  # forget this process's earlier probe
    name = "_fused_adam_" if kind == "adam" else "_foreach_mul_"
    if breakage == "missing":
        monkeypatch.delattr(torch, name)
    else:
        monkeypatch.setattr(torch, name, _changed_signature)
    ours, theirs = _model(), _model()
    opt = optim.make_optimizer(kind, ours, 1e-2)
    sched = optim.within_task("cosine", opt, steps_per_epoch=5, epochs=2)
    assert not optim._kernels_work(kind)
    assert type(opt) is (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)
    assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    if kind == "adam":
        ref = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    else:
        ref = torch.optim.SGD(theirs.parameters(), lr=1e-2, momentum=0.9)
    ref_sched = torch.optim.lr_scheduler.LambdaLR(ref, lambda k: 0.5 * (1 + math.cos(math.pi * (k % 10) / 10)))
    for p, q in zip(_train(ours, opt, sched, steps=1), _train(theirs, ref, ref_sched, steps=1)):
        assert torch.equal(p, q)
    assert opt.param_groups[0]["lr"] == ref.param_groups[0]["lr"]  # the schedule stepped alike


@pytest.mark.parametrize("breakage", ["missing", "signature"])
@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_fallback_matches_the_fast_path(kind, breakage, monkeypatch):
    """A torch without the private kernels (_fused_adam_ / _foreach_mul_ gone, or raising TypeError
    as a changed signature would) trains to the same numbers, within float tolerance, as the kernels do: torch.optim's
    default implementation against ours over 25 steps of a tiny model."""
    monkeypatch.setattr(optim, "_KERNELS", {})
    fast = optim.make_optimizer(kind, model := _model(), 1e-2)
    assert isinstance(fast, (Adam, SGD))
    with_kernels = _train(model, fast)
    monkeypatch.setattr(optim, "_KERNELS", {})
    name = "_fused_adam_" if kind == "adam" else "_foreach_mul_"
    if breakage == "missing":
        monkeypatch.delattr(torch, name)
    else:
        monkeypatch.setattr(torch, name, _changed_signature)
    slow = optim.make_optimizer(kind, model := _model(), 1e-2)
    assert type(slow) is (torch.optim.Adam if kind == "adam" else torch.optim.SGD)
    for p, q in zip(with_kernels, _train(model, slow)):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
