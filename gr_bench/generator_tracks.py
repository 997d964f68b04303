"""Generator tracks: a generator trained once for runs that differ only in the classifier's learning rate.

Generative replay's generator never sees the classifier's learning rate: it trains on the new
task's images and on replay drawn from its own previous copy, with draws from the run's random
streams, whose use does not depend on that rate either. So two runs of the same seed whose
configurations differ only in ``lr``, ``lr_decay`` or ``lr_schedule`` train bit-identical
generators, as long as the generator ignores the labels the old classifier gives its replay (the
seed's unconditional VAE; a cvae labelled by itself). The main job's final stage has two such
pairs per seed (the best and its schedule at the reference's lr; the reference and its schedule at
the best's lr), and the VAE is about 90% of such a run's time on full MNIST.

This rests on one assumption about the trainer: per-batch replay during the generator's training
draws only from the frozen old models (the previous task's generator copy, and for labels the old
classifier, which a shareable generator never reads), never from a model being trained in the
current task, whose weights would depend on the classifier's learning rate. A change that lets the
generator's training read the current classifier must make ``shareable`` false for it.

A track is one folder per (configuration without those three fields, seed, split, dataset content,
code version, CPU model, BLAS): "bit-identical" holds for one kind of CPU and one BLAS only (the
thread count is part of the configuration), so a results folder on a shared filesystem never
restores a generator trained on another machine's kind of CPU or with another BLAS. After each
task the run that trains the generator keeps there its weights (and the optimizer's state when it
is kept across tasks), both random streams' states, what the phase cost (seconds, CPU seconds) and
its sample counts. Another run restores them instead of training, but
only when the fingerprint of everything the training would read - the generator's weights and the
optimizer's state before it, the images it trains on (and their labels, for a conditional
generator), both random streams' states - equals the fingerprint recorded before the kept training.
Anything else trains as usual: a track can save time, never change a result.

A phase's seconds and CPU seconds are its training only: the track's own work (hashing the
inputs, loading or keeping the phase) happens outside the generator's timer (``train_or_restore``),
and counts in the run's total and CPU seconds but in no phase. A run that restored a phase reports
the seconds and CPU seconds the phase took where it was trained (in its generator time, its total
and its CPU seconds; plus the restore, in the total and CPU seconds only), so its costs stay the
costs of its method; its ``generator_from`` names the run that trained it, and reports judge no
wall-clock difference for it. Only CPU runs share (a GPU's kernels need not be bit-reproducible),
and only where a study asks for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import flatten
from .optim import AnyOptimizer
from .provenance import blas, cpu_model

CLASSIFIER_ONLY = ("lr", "lr_decay", "lr_schedule")  # fields the generator's training never reads
FOLDER = "generator_tracks"  # in the study folder; removed when the study is done


def shareable(cfg) -> bool:
    """Can this run's generator be shared with runs that differ from it only in CLASSIFIER_ONLY?
    The generator says (models.base.Generator.shareable: the seed's vae always, a cvae labelled by
    itself; no other, plugins included, unless it declares so)."""
    if cfg.strategy != "generative" or cfg.device != "cpu":
        return False
    from .models import generator_class

    return generator_class(cfg).shareable(cfg)


def generator_key(cfg, *, seed: bool = True) -> str:
    """The configuration as the generator sees it (without CLASSIFIER_ONLY; without the seed when
    ``seed`` is False, to find the configurations that could share)."""
    flat = {k: v for k, v in flatten(cfg).items() if k not in CLASSIFIER_ONLY and (seed or k != "seed")}
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Phase:
    """One task's generator phase: what it cost where it was trained, and what it consumed."""

    seconds: float
    cpu_s: float
    samples: int  # training samples seen (epochs x data)
    replayed: int  # per-batch replay drawn during it
    run_id: str = ""  # the run that trained it


class Stopwatch:
    """Wall and CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def phase(self, samples: int, replayed: int, run_id: str) -> Phase:
        return Phase(time.perf_counter() - self.wall, time.process_time() - self.cpu, samples, replayed, run_id)


def _tensor_bytes(t: torch.Tensor):
    """The tensor's bytes as a buffer, without a copy for a contiguous CPU tensor (hashing the
    training images must not add their size to the run's peak memory)."""
    return t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy()


def _hash_into(h, obj) -> None:
    """Feed a nested state (dicts in key order, lists, tensors, numbers) into hash h."""
    if isinstance(obj, dict):
        for key in sorted(obj, key=str):
            h.update(f"<{key}>".encode())
            _hash_into(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _hash_into(h, item)
    elif torch.is_tensor(obj):
        h.update(_tensor_bytes(obj))
    else:
        h.update(repr(obj).encode())


class GeneratorTrack:
    """One run's view of its track folder: ``restore`` a task's kept phase, or ``keep`` its own."""

    def __init__(self, folder: str | Path, run_id: str) -> None:
        self.folder, self.run_id = Path(folder), run_id
        self.source = ""  # the other run whose phases this run restored ("" if none)

    @classmethod
    def for_run(cls, study_folder: str | Path, cfg, split: str, dataset_sha256: str,
                code: str) -> GeneratorTrack | None:
        """The track of this run's generator in a study folder; None where it cannot be shared."""
        if not shareable(cfg) or not dataset_sha256:
            return None
        where = f"{generator_key(cfg)}:{split}:{dataset_sha256}:{code}:{cpu_model()}:{blas()}"
        key = hashlib.sha256(where.encode()).hexdigest()[:24]
        return cls(Path(study_folder) / FOLDER / key, cfg.run_id())

    @staticmethod
    def fingerprint(generator: nn.Module, optimizer: AnyOptimizer | None, x: torch.Tensor,
                    y: torch.Tensor | None, rng: torch.Generator) -> str:
        """A hash of everything the generator's training reads (y only where the generator reads it)."""
        h = hashlib.sha256()
        for name, t in generator.state_dict().items():
            h.update(name.encode())
            h.update(_tensor_bytes(t))
        if optimizer is not None:
            _hash_into(h, optimizer.state_dict())
        h.update(_tensor_bytes(x))
        if y is not None and bool(getattr(generator, "n_classes", False)):
            h.update(_tensor_bytes(y))
        h.update(_tensor_bytes(rng.get_state()))
        h.update(_tensor_bytes(torch.get_rng_state()))
        return h.hexdigest()

    def train_or_restore(self, task: int, generator: nn.Module, optimizer: AnyOptimizer | None,
                         x: torch.Tensor, y: torch.Tensor | None, rng: torch.Generator,
                         train: Callable[[], Phase]) -> tuple[Phase, bool]:
        """Task `task`'s generator phase, and whether it was restored: the kept phase where it was
        trained from the same inputs, else ``train()``'s, then kept. Only ``train()`` is the phase's
        time: the fingerprint, the load and the save happen outside it."""
        inputs = self.fingerprint(generator, optimizer, x, y, rng)
        phase = self.restore(task, inputs, generator, optimizer, rng)
        if phase is not None:
            return phase, True
        phase = train()
        self.keep(task, inputs, generator, optimizer, rng, phase)
        return phase, False

    def _path(self, task: int) -> Path:
        return self.folder / f"task{task}.pt"

    def restore(self, task: int, fingerprint: str, generator: nn.Module, optimizer: AnyOptimizer | None,
                rng: torch.Generator) -> Phase | None:
        """Load the kept phase of `task` into the run's models and streams if it was trained from
        the same inputs (equal fingerprints); None otherwise, and nothing is changed."""
        try:
            kept = torch.load(self._path(task), weights_only=True)
        except (OSError, RuntimeError, EOFError):  # not kept (yet), or removed meanwhile
            return None
        if kept.get("fingerprint") != fingerprint:
            return None
        generator.load_state_dict(kept["generator"])
        if optimizer is not None and kept["optimizer"] is not None:
            optimizer.load_state_dict(kept["optimizer"])
        rng.set_state(kept["rng"])
        torch.set_rng_state(kept["torch_rng"])
        phase = Phase(**kept["phase"])
        if phase.run_id != self.run_id:
            self.source = phase.run_id
        return phase

    def keep(self, task: int, fingerprint: str, generator: nn.Module, optimizer: AnyOptimizer | None,
             rng: torch.Generator, phase: Phase) -> None:
        """Keep this task's trained phase (the first run to keep a task's phase wins)."""
        path = self._path(task)
        if path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save({"fingerprint": fingerprint,
                    "generator": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
                    "optimizer": None if optimizer is None else optimizer.state_dict(),
                    "rng": rng.get_state(), "torch_rng": torch.get_rng_state(),
                    "phase": {"seconds": phase.seconds, "cpu_s": phase.cpu_s, "samples": phase.samples,
                              "replayed": phase.replayed, "run_id": phase.run_id}}, tmp)
        os.replace(tmp, path)  # readers see the whole file or none


def sharing(configs: dict) -> dict[str, str]:
    """For configurations (label -> RunConfig) that would share a generator with another one: label
    -> the first label of its group, in the given order (that one's runs train it). Labels that
    share with nobody are left out."""
    groups: dict[str, list[str]] = {}
    for label, cfg in configs.items():
        if shareable(cfg):
            groups.setdefault(generator_key(cfg, seed=False), []).append(label)
    return {label: group[0] for group in groups.values() if len(group) > 1 for label in group}
