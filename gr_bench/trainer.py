"""The training loop: one continual-learning run over a Split benchmark.

For each task t:
  1. replay   - the strategy supplies a replay set (generated + labelled, or from a buffer);
  2. classify - the classifier trains on the new task's data plus the replay set for `epochs`
                epochs (or `iters` steps), and every task is evaluated after each pass (the seed's Figure 1);
  3. generate - if the strategy has a generator, it trains on the same data for `vae_epochs` (or `vae_iters`)
                (a closed-form generator is fitted once on the task's own data); every generator, a
                plugin's too, follows models.base.Generator;
  4. remember - the strategy updates its memory (frozen copies, buffer contents).
After the last epoch of task t, the evaluation is row t of the accuracy matrix R (with
eval_every=task that is the only evaluation of the task: R is the same, the per-pass curve shorter).
In per-batch replay mode, step 1 supplies nothing; instead every training step of 2 and 3 draws a
fresh replay batch and weighs it against the current batch (fitting.FreshReplay). One pass of a model
over its data, and the losses it minimises, are fitting.py's; this module runs the tasks through them.

Each phase is timed with perf_counter (a generator track's hashing, loading and saving are in no
phase: generator_tracks.py). A fixed seed fixes initialisation (torch.manual_seed),
and every random draw of the loop (data order, replay sampling, buffer selection) comes from one
torch.Generator seeded with it, so the same seed gives the same R on the same machine.

precision=bf16: every training forward pass (both models, per-batch replay included) and the
decoding and labelling of replay run under torch.autocast to bfloat16 (CPU autocast on cpu, CUDA
autocast on cuda); backward runs in the dtypes autocast recorded; weights, gradients and optimizer
state stay fp32, and the losses are reduced in fp32 (logits cast to float first). Evaluation stays
fp32: the accuracy of the fp32 master weights, comparable across precisions.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import defaultdict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigError, RunConfig, uses_plugins
from .data import SplitBenchmark, Task
from .fitting import (
    MASKED,
    Fit,
    FreshReplay,
    NonFiniteLoss,
    check_finite,
    classifier_loss,
    drawn,
    fit_epoch,
    generator_loss,
    passes,
    training_set,
)
from .generator_tracks import GeneratorTrack, Phase, Stopwatch
from .models import classifier_for, n_params, param_bytes, train_flops
from .optim import AnyOptimizer, make_optimizer, set_lr, within_task
from .plugins import plugin_provenance
from .provenance import native_bf16
from .resources import peak_rss_bytes, reset_peak_rss
from .result import RunResult
from .strategies import ReplaySet, Strategy, build_strategy, keeps_memory, matched_bytes
from .strategies.base import to_float

PHASES = ("generator", "replay", "classifier", "eval")


class PhaseTimer:
    """Seconds per phase. A phase entered inside another (per-batch replay drawn inside a
    classifier epoch) is counted in its own phase only, so the phases add up to the wall time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._open: list[list] = []  # [phase, time it last started counting]

    @contextmanager
    def __call__(self, phase: str):
        now = time.perf_counter()
        if self._open:  # pause the enclosing phase
            self.seconds[self._open[-1][0]] += now - self._open[-1][1]
        self._open.append([phase, now])
        try:
            yield
        finally:
            now = time.perf_counter()
            name, since = self._open.pop()
            self.seconds[name] += now - since
            if self._open:
                self._open[-1][1] = now


class Evaluator:
    """Accuracy on every task's evaluation split, in one batched pass over all tasks."""

    def __init__(self, bench: SplitBenchmark, split: str, device: torch.device) -> None:
        xs = [t.x_test if split == "test" else t.x_val for t in bench.tasks]
        ys = [t.y_test if split == "test" else t.y_val for t in bench.tasks]
        if any(len(y) == 0 for y in ys):
            raise ConfigError(f"the {split} split is empty for some task (val needs val_fraction > 0)")
        # Kept as uint8 and converted a chunk at a time: a float copy of Fashion-MNIST's test set
        # alone is 31 MB of the run's peak memory; converting costs about 1 ms per 8,192 images.
        self.x = torch.cat(xs).to(device)
        self.y = torch.cat(ys).to(device)
        self.task = torch.cat([torch.full((len(y),), i) for i, y in enumerate(ys)]).to(device)
        self.counts = torch.tensor([len(y) for y in ys], dtype=torch.float64)
        self.masks = bench.task_masks().to(device) if bench.scenario == "task" else None

    @torch.inference_mode()
    def __call__(self, model: nn.Module, chunk: int = 8192) -> list[float]:
        was_training = model.training
        model.eval()
        correct = []
        for i in range(0, len(self.y), chunk):
            logits = model(to_float(self.x[i : i + chunk]))
            if self.masks is not None:  # task identity given: predict among the task's classes
                logits = logits.masked_fill(~self.masks[self.task[i : i + chunk]], MASKED)
            correct.append(logits.argmax(1) == self.y[i : i + chunk])
        model.train(was_training)
        hits = torch.bincount(self.task.cpu(), weights=torch.cat(correct).cpu().double(), minlength=len(self.counts))
        return (hits / self.counts).tolist()


_said_not_native: set[str] = set()


def precision_context(precision: str, device: torch.device) -> Callable[[], AbstractContextManager]:
    """What a training forward pass runs in: nothing for fp32; for bf16, torch.autocast to
    bfloat16 on the device's type. Where the device has no native bf16 it says so once per
    process, in one line on stderr, and runs anyway."""
    if precision == "fp32":
        return nullcontext
    if device.type not in _said_not_native and not native_bf16(device.type):
        _said_not_native.add(device.type)
        what = "this GPU" if device.type == "cuda" else "this CPU (no avx512_bf16 or amx_bf16, or torch without oneDNN)"
        print(f"gr-bench: precision=bf16 on {what}: no native bf16, emulated (may be slower than fp32)",
              file=sys.stderr)
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


_warmed_up = False


def _warm_up(*optimizers: str) -> None:
    """Pay torch's one-time start-up costs (autograd engine, optimizer kernels: about 1.3 s here)
    once per process, before any run's timer starts, so the first run of a worker is not slower."""
    global _warmed_up
    if not _warmed_up:
        for kind in dict.fromkeys(optimizers):  # each kind once, in order
            model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
            opt = make_optimizer(kind, model, 1e-3)
            F.cross_entropy(model(torch.randn(4, 8)), torch.zeros(4, dtype=torch.long)).backward()
            opt.step()
        _warmed_up = True


def check_device(device: str) -> None:
    """A one-line ConfigError when `device` cannot be used here (cuda without a GPU torch can see)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but torch sees no CUDA GPU")


@dataclass
class _Loop:
    """What the loop carries from task to task: the run's models, random stream, timer, result,
    optimizers (kept across tasks with optimizer_state=keep) and running totals."""

    cfg: RunConfig
    bench: SplitBenchmark
    device: torch.device
    rng: torch.Generator  # every random draw of the loop
    classifier: nn.Module
    strategy: Strategy
    generator: Any  # the strategy's models.Generator, or None
    trained: Any  # the generator when it is trained by gradient (not closed form), else None
    autocast: Callable[[], AbstractContextManager]
    evaluate: Evaluator
    heads: torch.Tensor | None  # task scenario: bool (tasks, outputs), the outputs of each task's head
    seen_outputs: torch.Tensor | None  # active_outputs=seen, row t: the classes of tasks 0..t
    timer: PhaseTimer
    result: RunResult
    track: GeneratorTrack | None
    opt: AnyOptimizer | None = None
    opt_g: AnyOptimizer | None = None
    replay_flops: int = 0
    borrowed_s: float = 0.0  # restored generator phases: what they cost where they were trained
    borrowed_cpu: float = 0.0

    @classmethod
    def start(cls, cfg: RunConfig, bench: SplitBenchmark, split: str, track: GeneratorTrack | None) -> _Loop:
        """Build the run's models (torch's global seed set: their initialisation draws from it)."""
        device = torch.device(cfg.device)
        rng = torch.Generator().manual_seed(cfg.seed)
        classifier = classifier_for(cfg, input_dim=bench.input_dim, n_outputs=bench.n_outputs)
        classifier.to(device)
        strategy = build_strategy(cfg, bench)
        generator: Any = strategy.generator
        if isinstance(generator, nn.Module):
            generator.to(device)  # a closed-form generator samples on the CPU; the samples are moved
        evaluate = Evaluator(bench, split, device)  # always fp32 (see the module docstring)
        heads = bench.task_masks().to(device) if bench.scenario == "task" else None
        seen_outputs = None
        if cfg.train.active_outputs == "seen" and bench.scenario == "class":
            seen_outputs = bench.task_masks().cumsum(0).bool().to(device)
        result = RunResult.start(cfg, bench, split)
        if uses_plugins(cfg):  # where each plugin's code came from, beside the sha256 its config records
            result.provenance["plugins"] = plugin_provenance(cfg)
        trained = generator if generator is not None and not generator.closed_form else None  # gmm: fitted
        result.params = {"classifier": n_params(classifier), "generator": n_params(trained) if trained else 0}
        result.param_bytes = {"classifier": param_bytes(classifier),
                              "generator": param_bytes(trained) if trained else 0}
        return cls(cfg, bench, device, rng, classifier, strategy, generator, trained,
                   precision_context(cfg.precision, device), evaluate, heads, seen_outputs, PhaseTimer(), result,
                   track)

    @property
    def generator_labels(self) -> bool:
        """Does the generator's own per-batch replay need labels? Only if it reads them (a conditional
        VAE): an unconditional one's replay batch is not labelled by the old classifier."""
        return bool(getattr(self.generator, "reads_labels", True))


def run(
    cfg: RunConfig,
    bench: SplitBenchmark,
    *,
    split: str = "test",
    on_epoch: Callable[[int, int, list[float]], None] | None = None,
    on_task_end: Callable[[int, list[float]], None] | None = None,
    track: GeneratorTrack | None = None,
) -> RunResult:
    """Train `cfg.strategy` over `bench`'s tasks and return every measurement of the run.

    `split` chooses what R is measured on: "test", or "val" when tuning. `on_epoch(task, epoch,
    accs)` (after each evaluated pass: every pass, or with eval_every=task each task's last) and
    `on_task_end(task, accs)` let a caller show progress or prune (by raising).
    `track`: where runs that differ only in the classifier's lr keep and restore the generator's
    training (generator_tracks.py); None trains it here.
    """
    check_device(cfg.device)
    torch.set_num_threads(cfg.threads)
    _warm_up(cfg.train.optimizer, cfg.train.generator_optimizer())
    rss_method = reset_peak_rss()
    torch.manual_seed(cfg.seed)
    loop = _Loop.start(cfg, bench, split, track)
    start, cpu_start = time.perf_counter(), time.process_time()
    with loop.timer("eval"):
        loop.result.initial_acc = loop.evaluate(loop.classifier)
    try:
        for task in bench.tasks:
            data, n_replay = _replay_phase(loop, task)
            loss_c, loss_g = _losses(loop, task)
            accs = _classifier_phase(loop, task, data, loss_c, on_epoch)
            phase = _generator_phase(loop, task, data, loss_g)
            loop.replay_flops += _replay_flops(loop, n_replay + drawn(loss_c), phase)  # before after_task
            loop.strategy.after_task(task, loop.classifier, loop.rng)  # may swap the models
            del data  # free this task's float copy before the next one is built
            loop.result.accuracy.append(accs)
            if on_task_end:
                on_task_end(task.index, accs)
    except NonFiniteLoss as e:
        loop.result.status, loop.result.reason = "failed", str(e)
    return _finish(loop, start, cpu_start, rss_method)


def _replay_phase(loop: _Loop, task: Task) -> tuple[tuple, int]:
    """Step 1: the task's training set, its new data plus the replay set the strategy supplies (none
    in per-batch mode), as (x, y, soft, tau); and the replay set's size."""
    with loop.timer("replay"), loop.autocast():
        replay = loop.strategy.replay(task, loop.rng)
    data = training_set(task, replay, loop.bench.n_outputs, loop.device)
    n_replay = 0 if replay is None else len(replay)
    loop.result.train_sizes.append(len(data[0]))
    loop.result.replay_sizes.append(n_replay)
    return data, n_replay


def _losses(loop: _Loop, task: Task) -> tuple[Callable, Callable]:
    """The task's classifier and generator losses; in per-batch mode each also draws fresh replay
    every step, the t-th task's own data weighing 1/t and the replay the rest."""
    loss_c = classifier_loss(loop.heads, None if loop.seen_outputs is None else loop.seen_outputs[task.index])
    if loop.cfg.replay.replay_mode != "per-batch":
        return loss_c, generator_loss
    strategy, rng, labels, weight = loop.strategy, loop.rng, loop.generator_labels, 1.0 / (task.index + 1)

    def draw(n: int) -> ReplaySet | None:
        return strategy.fresh_replay(n, rng)

    def draw_g(n: int) -> ReplaySet | None:  # the same random draws as `draw`
        return strategy.fresh_replay(n, rng, labels=labels)

    return (FreshReplay(loss_c, draw, weight, loop.timer),
            FreshReplay(generator_loss, draw_g, weight, loop.timer, generator=True))


def _classifier_phase(loop: _Loop, task: Task, data: tuple, loss: Callable,
                      on_epoch: Callable[[int, int, list[float]], None] | None) -> list[float]:
    """Step 2: train the classifier on `data` for the task's passes, evaluating every task after each
    (eval_every=pass) or after the last; returns the last evaluation, row t of R."""
    t_cfg = loop.cfg.train
    lr_t = t_cfg.lr * t_cfg.lr_decay**task.index
    if loop.opt is None or t_cfg.optimizer_state == "reset":
        loop.opt = make_optimizer(t_cfg.optimizer, loop.classifier, lr_t)
    else:
        set_lr(loop.opt, lr_t)
    steps_per_pass = passes(len(data[0]), t_cfg.batch_size, t_cfg.epochs, t_cfg.iters)
    # cosine spans the task's steps, restarts one full pass (see optim.within_task)
    period = steps_per_pass[0] if t_cfg.lr_schedule == "restarts" else sum(steps_per_pass)
    fit = Fit(loop.classifier, loss, loop.opt, t_cfg.batch_size, within_task(t_cfg.lr_schedule, loop.opt, period, 1),
              loop.autocast)
    seen = 0
    for epoch, steps in enumerate(steps_per_pass, start=1):
        with loop.timer("classifier"):
            seen += fit_epoch(fit, data, loop.rng, f"classifier, task {task.index}, epoch {epoch}", steps)
        # eval_every=task: only after the task's last pass (evaluation draws nothing random and
        # changes no weights, so R is the same; the curve has one pass per task)
        if t_cfg.eval_every == "pass" or epoch == len(steps_per_pass):
            with loop.timer("eval"):
                accs = loop.evaluate(loop.classifier)
            loop.result.curves.extend((task.index, epoch, j, a) for j, a in enumerate(accs))
            if on_epoch:
                on_epoch(task.index, epoch, accs)
    check_finite(loop.classifier, f"classifier, task {task.index}")
    loop.result.samples["classifier"] += seen + drawn(loss)
    return accs


def _generator_phase(loop: _Loop, task: Task, data: tuple, loss: Callable) -> Phase | None:
    """Step 3: train the generator on the task's (x, y) - or restore that training from the run's
    generator track, outside the generator's timer - and return its phase; a closed-form generator
    (gmm) is fitted once on the task's own data instead (Generator.fit), and returns None."""
    if loop.trained is None:
        if loop.generator is not None:
            with loop.timer("generator"):
                loop.strategy.fit_generator(task, to_float(task.x_train), task.y_train, loop.rng)
        return None
    t_cfg = loop.cfg.train
    if loop.opt_g is None or t_cfg.optimizer_state == "reset":
        loop.opt_g = make_optimizer(t_cfg.generator_optimizer(), loop.trained, t_cfg.vae_lr)

    def train() -> Phase:
        return _train_generator(loop, task, data, loss)

    if loop.track is None:
        phase = train()
    else:  # a run differing only in the classifier's lr may have trained it from the same inputs already
        kept_opt = loop.opt_g if t_cfg.optimizer_state == "keep" else None
        phase, restored = loop.track.train_or_restore(task.index, loop.trained, kept_opt, data[0], data[1],
                                                      loop.rng, train)
        if restored:  # its cost is what it cost where it was trained
            loop.borrowed_s, loop.borrowed_cpu = loop.borrowed_s + phase.seconds, loop.borrowed_cpu + phase.cpu_s
    loop.result.samples["generator"] += phase.samples + phase.replayed
    return phase


def _train_generator(loop: _Loop, task: Task, data: tuple, loss: Callable) -> Phase:
    """The generator's training on the task's (x, y), timed: the generator phase, and its Phase."""
    t_cfg = loop.cfg.train
    batch = t_cfg.vae_batch_size or t_cfg.batch_size
    fit = Fit(loop.trained, loss, loop.opt_g, batch, autocast=loop.autocast)
    with loop.timer("generator"):
        watch, seen = Stopwatch(), 0
        for epoch, steps in enumerate(passes(len(data[0]), batch, t_cfg.vae_epochs, t_cfg.vae_iters), 1):
            seen += fit_epoch(fit, data[:2], loop.rng, f"generator, task {task.index}, epoch {epoch}", steps)
        check_finite(loop.trained, f"generator, task {task.index}")
        return watch.phase(seen, drawn(loss), loop.cfg.run_id())


def _replay_flops(loop: _Loop, labelled: int, phase: Phase | None) -> int:
    """FLOPs of producing (decoding, and labelling where it is read) the task's replayed samples:
    `labelled` for the classifier (the per-task set or its per-batch draws), plus the generator's own
    per-batch draws, unlabelled where the generator reads no labels."""
    unlabelled = 0
    if phase is not None:
        if loop.generator_labels:
            labelled += phase.replayed
        else:
            unlabelled += phase.replayed
    return labelled * loop.strategy.sample_flops() + (
        unlabelled * loop.strategy.sample_flops(labelled=False) if unlabelled else 0)


def _finish(loop: _Loop, start: float, cpu_start: float, rss_method: str) -> RunResult:
    """The run's costs and sizes, added to its result once the loop is done (or failed)."""
    result, generator, trained, timer = loop.result, loop.generator, loop.trained, loop.timer
    result.times = {p: timer.seconds.get(p, 0.0) for p in PHASES}
    result.times["total"] = time.perf_counter() - start
    result.times["generator"] += loop.borrowed_s
    result.times["total"] += loop.borrowed_s
    result.generator_from = loop.track.source if loop.track else ""
    # Cost that machine load does not change: process CPU seconds, and the matmul FLOPs of training
    # both models (Generator.train_flops per sample; a closed-form generator: its fits, which it
    # counts in `flops`) plus producing (decoding and labelling) every replayed sample.
    result.cpu_s = time.process_time() - cpu_start + loop.borrowed_cpu
    fitted = generator is not None and trained is None  # gmm
    result.flops_train = result.samples["classifier"] * train_flops(loop.classifier) + (
        result.samples["generator"] * trained.train_flops() if trained is not None else 0) + loop.replay_flops + (
        generator.flops if fitted else 0)
    if fitted:  # gmm: its fitted numbers count as its parameters
        result.param_bytes["generator"] = generator.memory_bytes()
        result.params["generator"] = result.param_bytes["generator"] // 4
    if generator is not None:
        result.generator_info = generator.info()
    result.memory_bytes = loop.strategy.memory_bytes()
    cfg = loop.cfg
    if keeps_memory(loop.strategy):  # a buffer or a generator: the bytes it is compared at (strategies.base)
        result.generator_bytes = matched_bytes(dataclasses.replace(cfg, replay=dataclasses.replace(
            cfg.replay, buffer_bytes="match-generator")), loop.bench)
    result.peak_rss_bytes, result.peak_rss_method = peak_rss_bytes(), rss_method
    return result
