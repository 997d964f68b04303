"""gr_bench.optim against torch.optim: the same updates, bit for bit, and the same lr schedule."""

import math

import pytest
import torch

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
        a, b = SGD(ours.parameters(), lr=1e-1), torch.optim.SGD(theirs.parameters(), lr=1e-1, momentum=0.9, foreach=True)
    sa = LambdaLR(a, factor) if scheduled else None
    sb = torch.optim.lr_scheduler.LambdaLR(b, factor) if scheduled else None
    for p, q in zip(_train(ours, a, sa), _train(theirs, b, sb)):
        assert torch.equal(p, q)
