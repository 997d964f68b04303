"""Adam and SGD with momentum as the trainer uses them, on torch's own fused and foreach kernels.

Why not torch.optim: building or stepping any torch.optim optimizer (or LR scheduler) imports
torch._dynamo, and with it sympy and triton: about 170 MiB more peak resident memory (733 -> 903 MiB)
and 1.2 to 1.8 s more start-up in every process (measured here, torch 2.14.1 CUDA build on CPU, one
Adam step on a tiny model), for nothing this package uses. These classes make the same kernel
calls with the same arguments as ``torch.optim.Adam(fused=True)`` and
``torch.optim.SGD(momentum=0.9, foreach=True)``, so the updates are bit-for-bit the same;
tests/test_optim.py checks that against torch.optim.

Those kernels are private (``torch._fused_adam_``, ``torch._foreach_*``): a torch release may drop
them or change their arguments. So the first optimizer of each kind in a process tries its kernels
once on a tiny tensor (`_kernels_work`); where that fails, `make_optimizer` and `within_task` return
torch.optim's Adam, SGD and LambdaLR instead: the same algorithm, at torch.optim's start-up cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch


class _Optimizer:
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def _live(self) -> list[int]:
        """Indices of the parameters with a gradient this step (torch.optim skips the others)."""
        return [i for i, p in enumerate(self.params) if p.grad is not None]

    def _grads(self, live: list[int]) -> list[torch.Tensor]:
        """The gradients of the parameters `live` lists (each has one)."""
        return [g for i in live if (g := self.params[i].grad) is not None]


class Adam(_Optimizer):
    """Adam (betas 0.9, 0.999, eps 1e-8, no weight decay), one fused kernel over all parameters:
    Adam's step is memory-bound and runs once per batch, so one pass instead of one per tensor
    took it from 8.6 to 2.2 ms for the seed's VAE at batch 64 on one core."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.betas, self.eps = betas, eps
        # State is made on first use, per parameter, as torch.optim does.
        self.state: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @torch.no_grad()
    def step(self) -> None:
        live = self._live()
        if not live:
            return
        for i in live:
            if i not in self.state:
                p = self.params[i]
                self.state[i] = (torch.zeros_like(p, memory_format=torch.preserve_format),
                                 torch.zeros_like(p, memory_format=torch.preserve_format),
                                 torch.zeros((), dtype=torch.float32, device=p.device))
        exp_avgs, exp_avg_sqs, steps = (list(t) for t in zip(*(self.state[i] for i in live)))
        torch._foreach_add_(steps, 1)
        torch._fused_adam_([self.params[i] for i in live], self._grads(live), exp_avgs,
                           exp_avg_sqs, [], steps, amsgrad=False, lr=self.lr, beta1=self.betas[0],
                           beta2=self.betas[1], weight_decay=0.0, eps=self.eps, maximize=False,
                           grad_scale=None, found_inf=None)

    def state_dict(self) -> dict:
        """The lr and the moments, by parameter index (for generator_tracks to keep and restore)."""
        return {"lr": self.lr, "state": {i: list(t) for i, t in self.state.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        self.state = {int(i): tuple(t.clone().to(self.params[int(i)].device) for t in v)
                      for i, v in state["state"].items()}


class SGD(_Optimizer):
    """SGD with heavy-ball momentum (no dampening, not Nesterov), foreach kernels."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.9) -> None:
        super().__init__(params, lr)
        self.momentum = momentum
        self.buffers: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def step(self) -> None:
        live = self._live()
        if not live:
            return
        grads = self._grads(live)
        if all(i in self.buffers for i in live):
            bufs = [self.buffers[i] for i in live]
            torch._foreach_mul_(bufs, self.momentum)
            torch._foreach_add_(bufs, grads, alpha=1.0)
        else:  # the first step: the buffer starts as the gradient itself
            for i, g in zip(live, grads):
                if i in self.buffers:
                    self.buffers[i].mul_(self.momentum).add_(g, alpha=1.0)
                else:
                    self.buffers[i] = g.detach().clone()
            bufs = [self.buffers[i] for i in live]
        torch._foreach_add_([self.params[i] for i in live], bufs, alpha=-self.lr)

    def state_dict(self) -> dict:
        """The lr and the momentum buffers, by parameter index."""
        return {"lr": self.lr, "buffers": dict(self.buffers)}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        self.buffers = {int(i): b.clone().to(self.params[int(i)].device) for i, b in state["buffers"].items()}


# What make_optimizer returns: ours, or torch.optim's on the fallback path (naming torch.optim's
# classes imports nothing more; building one does).
AnyOptimizer = Adam | SGD | torch.optim.Optimizer

# kind -> whether our class's private kernels work in this torch; filled on first use of each kind.
_KERNELS: dict[str, bool] = {}


def _kernels_work(kind: str) -> bool:
    """Whether `kind`'s private kernels exist, accept our arguments and compute the update we
    expect: two steps of our class on a one-element parameter against the same steps written
    out. Tried once per kind and process (well under a millisecond); any failure means fallback."""
    if kind not in _KERNELS:
        try:
            p = torch.nn.Parameter(torch.tensor([1.0]))
            opt: Adam | SGD = SGD([p], 0.1) if kind == "sgd" else Adam([p], 0.1)
            for g in (0.5, -0.25):
                p.grad = torch.tensor([g])
                opt.step()
            if kind == "sgd":  # buffers 0.5, then 0.9 * 0.5 - 0.25 = 0.2
                expected = 1.0 - 0.1 * 0.5 - 0.1 * 0.2
            else:  # Adam, bias-corrected, betas 0.9 and 0.999, eps 1e-8
                m = v = 0.0
                expected = 1.0
                for k, g in enumerate((0.5, -0.25), start=1):
                    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
                    expected -= 0.1 * (m / (1 - 0.9**k)) / (math.sqrt(v / (1 - 0.999**k)) + 1e-8)
            _KERNELS[kind] = math.isclose(p.item(), expected, rel_tol=1e-5, abs_tol=1e-6)
        except Exception:  # missing (AttributeError), new signature (TypeError, RuntimeError), ...
            _KERNELS[kind] = False
    return _KERNELS[kind]


def make_optimizer(kind: str, model: torch.nn.Module, lr: float) -> AnyOptimizer:
    """Our SGD (momentum 0.9) for "sgd", else our Adam; torch.optim's where the kernels fail."""
    kind = "sgd" if kind == "sgd" else "adam"
    if _kernels_work(kind):
        return SGD(model.parameters(), lr) if kind == "sgd" else Adam(model.parameters(), lr)
    # The fallback: torch.optim's default (per-tensor or foreach) implementations, not fused=True,
    # since the fused kernel is the one most likely to be missing.
    if kind == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=lr)


def set_lr(opt: AnyOptimizer, lr: float) -> None:
    """A new base learning rate for an optimizer kept from one task to the next (its moments carry
    over); a scheduler made after this starts from it."""
    if isinstance(opt, (Adam, SGD)):
        opt.lr = lr
        return
    for group in opt.param_groups:
        group["lr"] = lr
        group.pop("initial_lr", None)  # else a new torch LambdaLR would start from the old base lr


class LambdaLR:
    """lr = base_lr * factor(k) for the k-th step (k from 0), the semantics of torch's LambdaLR
    when ``step()`` is called after each optimizer step."""

    def __init__(self, opt: Adam | SGD, factor: Callable[[int], float]) -> None:
        self.opt, self.factor, self.base_lr, self.k = opt, factor, opt.lr, 0
        opt.lr = self.base_lr * factor(0)

    def step(self) -> None:
        self.k += 1
        self.opt.lr = self.base_lr * self.factor(self.k)


def within_task(kind: str, opt: AnyOptimizer, steps_per_epoch: int,
                epochs: int) -> LambdaLR | torch.optim.lr_scheduler.LambdaLR | None:
    """A per-batch scheduler for the classifier's learning rate inside one task, or None.

    cosine: lr_t * (1 + cos(pi * step / steps)) / 2 over the task's steps, reaching 0 at its end;
    restarts: the same cosine over each epoch, restarting from lr_t (SGDR with a period of one epoch).
    """
    if kind == "constant":
        return None
    period = steps_per_epoch * (epochs if kind == "cosine" else 1)

    def factor(step: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * (step % period) / period))

    if isinstance(opt, (Adam, SGD)):
        return LambdaLR(opt, factor)
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)  # the fallback path's optimizer
