"""Frozen, validated run configuration.

A run is fully described by a :class:`RunConfig`: four small sections (data, model, train,
replay) plus the strategy, seed, threads, device and precision. Field names are unique across sections, so
a user can override any of them as ``--set lr=0.01`` and CSV columns stay flat. An invalid
value raises :class:`ConfigError` naming the field. Change a config with ``with_overrides`` or
``dataclasses.replace``; a run id is a hash of the whole config.

A generator or a strategy may come from outside gr-bench (a plugin: ``module:Class``,
``path/to/file.py:Class``, an installed package's entry point, or a module in a $GR_BENCH_PLUGINS
folder). The config names it and records the sha256 of its source file (``generator_sha256``,
``strategy_sha256``), so a changed plugin gets new run ids; the plug-in module (plugins.py) finds that
file without running it. What a name means is the registries' business (models/, strategies/).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field

from .errors import ConfigError
from .plugins import BUILTIN_STRATEGIES, is_name, plugin_sha256
from .schedule import ScheduleError, parse_schedule

SCENARIOS = ("class", "task", "domain")
OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("constant", "cosine", "restarts")
SELECTIONS = ("class-balanced", "reservoir")
LABEL_MODES = ("auto", "hard", "soft", "generator")
REPLAY_MODES = ("per-task", "per-batch")
DEVICES = ("cpu", "cuda")
ACTIVE_OUTPUTS = ("all", "seen")
OPTIMIZER_STATES = ("reset", "keep")
GMM_SELECTIONS = ("fixed", "heldout")
PRECISIONS = ("fp32", "bf16")
EVAL_EVERY = ("pass", "task")


def _check(ok: bool, name: str, why: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"{name} {why}, got {value!r}")


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    _check(value in choices, name, f"must be one of {', '.join(choices)}", value)


def _positive(name: str, value: object, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    ok = (isinstance(value, kind) and not isinstance(value, bool)
          and (isinstance(value, int) or math.isfinite(value)) and value > 0)  # isfinite overflows on a huge int
    _check(ok, name, "must be a positive " + ("whole number" if integer else "number"), value)


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "auto"  # auto = full mnist when on disk or downloadable, else the bundled mnist-5k
    scenario: str = "class"  # class-incremental (one head, the seed's setting), task, or domain
    n_tasks: int = 5  # tasks the classes are split into (must divide 10)
    class_order: str = "default"  # default = 0..9; permuted = a permutation drawn from the seed
    val_fraction: float = 0.0  # share of each task's training data held out for tuning (studies use 0.1)

    def __post_init__(self) -> None:
        _check(isinstance(self.dataset, str) and self.dataset != "", "dataset", "must be a name", self.dataset)
        _choice("scenario", self.scenario, SCENARIOS)
        _positive("n_tasks", self.n_tasks, integer=True)
        _choice("class_order", self.class_order, ("default", "permuted"))
        _check(isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 1,
               "val_fraction", "must be in [0, 1)", self.val_fraction)


@dataclass(frozen=True)
class ModelConfig:
    hidden: tuple[int, ...] = (50, 50, 50)  # classifier hidden widths (seed: 784-50-50-50-10)
    vae_hidden: tuple[int, ...] = (512, 256)  # VAE encoder widths; the decoder mirrors them
    latent: int = 2  # VAE latent size (seed: 2)
    # Generative replay's generator, a name in the generator registry (models/): vae (the seed's), cvae
    # (class-conditional VAE), gmm (per-class Gaussian mixture in a per-class PCA space, fitted in
    # closed form), rtf (replay-through-feedback: the classifier is the VAE's encoder, one model; it
    # uses vae_hidden and latent), or a plugin's (an installed package's `gr_bench.generators` entry
    # point, or a module NAME.py in a $GR_BENCH_PLUGINS folder); or a plugin's import path,
    # module:Class (a module on sys.path or in a $GR_BENCH_PLUGINS folder) or path/to/file.py:Class.
    # Loading a plugin runs its code (docs/plugins.md).
    generator: str = "vae"
    pca_dim: int = 32  # gmm: PCA components per class (with gmm_select=heldout, the most tried)
    gmm_components: int = 3  # gmm: Gaussians per class, full covariance in the PCA space (heldout: the most)
    # gmm: fixed = every class gets pca_dim and gmm_components; heldout = per class, the sizes (PCA
    # in 8, 16, 32, 64 up to pca_dim; Gaussians in 1, 2, 3, 5, 8 up to gmm_components) with the best
    # pixel-space log-likelihood on a seeded 20% of the class's images, refitted on all of them
    gmm_select: str = "fixed"
    # A plugin generator's source file, sha256 (hex): computed from `generator`, never set; none for
    # a built-in. Part of the run id, so an edited plugin gets new run ids and no stale cached runs.
    generator_sha256: str | None = None

    def __post_init__(self) -> None:
        _check(is_name(self.generator), "generator",
               "must be a generator's name or a plugin's module:Class or path/to/file.py:Class", self.generator)
        object.__setattr__(self, "generator_sha256", plugin_sha256("generator", self.generator, self.generator_sha256))
        for name in ("hidden", "vae_hidden"):
            widths = getattr(self, name)
            _check(isinstance(widths, tuple) and len(widths) > 0, name, "must be one or more widths", widths)
            for w in widths:
                _positive(name, w, integer=True)
        _positive("latent", self.latent, integer=True)
        _positive("pca_dim", self.pca_dim, integer=True)
        _positive("gmm_components", self.gmm_components, integer=True)
        _choice("gmm_select", self.gmm_select, GMM_SELECTIONS)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10  # classifier epochs per task
    lr: float = 1e-3  # classifier learning rate on the first task
    lr_decay: float = 1.0  # classifier lr on task t is lr * lr_decay**t (seed's proposed improvement)
    lr_schedule: str = "constant"  # within a task: constant, cosine (to 0 by the task's end), restarts (cosine each epoch)
    batch_size: int = 64  # for both classifier and generator (mnist-5k tasks have 800 images: 13 steps an epoch)
    optimizer: str = "adam"  # classifier optimizer: adam or sgd (momentum 0.9)
    # Both models' optimizers (classifier and trained generator). reset: fresh optimizer state
    # (Adam's moments, SGD's momentum) at each task; keep: one optimizer per model for the whole
    # sequence, as van de Ven's code does (the lr is still set per task)
    optimizer_state: str = "reset"
    vae_epochs: int = 10  # generator epochs per task (generative strategy only)
    vae_lr: float = 1e-3  # generator learning rate
    # Generator optimizer (vae, cvae): adam or sgd; none = the same as `optimizer`. rtf trains its one
    # model with `optimizer` and `lr`; gmm is fitted in closed form.
    vae_optimizer: str | None = None
    # Generator batch size; none = batch_size (the seed's setting). Larger batches spread Adam's
    # memory-bound step (one pass over 4 MB of VAE weights, moments and gradients per batch) over
    # more samples: an algorithmic choice for the studies, since it changes the results.
    vae_batch_size: int | None = None
    # Training length in optimizer steps per task instead of epochs (van de Ven & Tolias 2019 train
    # 2,000 iterations of batch 128 per task); none = `epochs` / `vae_epochs` full passes. The last
    # pass is cut short where the steps run out.
    iters: int | None = None
    vae_iters: int | None = None
    # Class-incremental training loss over `all` outputs, or only the `seen` ones (classes of this
    # and earlier tasks: the "active classes" of van de Ven's code). Evaluation always uses all.
    active_outputs: str = "all"
    # When every task's test accuracy is measured: after every classifier pass (epoch or cut-short
    # pass: the per-pass curves of the seed report's Figure 1), or only after each task's last pass
    # (task: the accuracy matrix R and nothing more, which is all most studies read). R is the same.
    eval_every: str = "pass"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "vae_epochs"):
            _positive(name, getattr(self, name), integer=True)
        for name in ("vae_batch_size", "iters", "vae_iters"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name), integer=True)
        _choice("active_outputs", self.active_outputs, ACTIVE_OUTPUTS)
        _choice("eval_every", self.eval_every, EVAL_EVERY)
        _choice("optimizer_state", self.optimizer_state, OPTIMIZER_STATES)
        for name in ("lr", "vae_lr", "lr_decay"):
            _positive(name, getattr(self, name))
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.vae_optimizer is not None:
            _choice("vae_optimizer", self.vae_optimizer, OPTIMIZERS)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)

    def generator_optimizer(self) -> str:
        """The generator's optimizer in effect: `vae_optimizer`, or `optimizer` when it is none."""
        return self.vae_optimizer if self.vae_optimizer is not None else self.optimizer


@dataclass(frozen=True)
class ReplayConfig:
    schedule: str = "linear:1000"  # generative replay set size per task, see schedule.py
    buffer: int = 1000  # buffer strategy capacity in images (uint8)
    buffer_mb: float | None = None  # if set, capacity in MiB instead (wins over buffer)
    # match-generator[:R]: as many examples as fit in R times (default 1) the bytes generative replay
    # would keep with this config's generator (its float32 parameters, plus the classifier copy when
    # labels come from it), computed at run time from the same models; wins over buffer and buffer_mb.
    buffer_bytes: str | None = None
    selection: str = "class-balanced"  # buffer selection: class-balanced or reservoir
    # Replay labels: hard (the old classifier's argmax), soft (its softmax at `temperature`, for
    # distillation), generator (the class a conditional generator drew the sample for; no old
    # classifier is kept), auto (generator for cvae and gmm, hard otherwise).
    labels: str = "auto"
    temperature: float = 2.0  # distillation temperature for soft labels
    # per-task: one replay set before each task, sized by `schedule` (the seed); per-batch: fresh
    # replay of batch_size samples at every step, loss = current/t + replay*(t-1)/t on task t
    # (Shin et al. 2017; van de Ven et al. 2020). `schedule` is unused in per-batch mode.
    replay_mode: str = "per-task"

    def __post_init__(self) -> None:
        try:
            parse_schedule(self.schedule)
        except ScheduleError as e:
            raise ConfigError(str(e)) from None
        except OverflowError:  # a size past float's range
            raise ConfigError(f"schedule {self.schedule!r}: a size is too large") from None
        _positive("buffer", self.buffer, integer=True)
        if self.buffer_mb is not None:
            _positive("buffer_mb", self.buffer_mb)
        if self.buffer_bytes is not None:
            match_ratio(self.buffer_bytes)
        _choice("selection", self.selection, SELECTIONS)
        _choice("labels", self.labels, LABEL_MODES)
        _positive("temperature", self.temperature)
        _choice("replay_mode", self.replay_mode, REPLAY_MODES)


def match_ratio(text: str) -> float:
    """The R of buffer_bytes = match-generator[:R]."""
    name, sep, ratio = str(text).partition(":")
    try:
        r = float(ratio) if sep else 1.0
    except ValueError:
        r = math.nan
    _check(name == "match-generator" and math.isfinite(r) and r > 0, "buffer_bytes",
           "must be match-generator or match-generator:R with R > 0", text)
    return r


@dataclass(frozen=True)
class RunConfig:
    strategy: str = "generative"  # none, joint, buffer or generative
    seed: int = 0  # fixes class order, data order, initialisation and replay sampling
    threads: int = 1  # torch intra-op threads; one per worker process avoids OpenMP contention
    device: str = "cpu"
    # Arithmetic of training: fp32, or bf16 = the classifier's and the trained generator's forward
    # and backward passes (and replay decoding and labelling) under torch.autocast to bfloat16, with
    # fp32 master weights and optimizer state and losses (cross-entropy, the VAE's reconstruction
    # likelihood and KL) reduced in fp32; evaluation stays fp32. A gmm generator is fitted in closed
    # form with numpy: precision does not apply to its fit.
    precision: str = "fp32"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    # A plugin strategy's source file, sha256 (hex), as generator_sha256: computed from `strategy`, never set.
    strategy_sha256: str | None = None

    def __post_init__(self) -> None:
        builtin = self.strategy in BUILTIN_STRATEGIES
        sha = None if builtin or not is_name(self.strategy) else plugin_sha256("strategy", self.strategy,
                                                                               self.strategy_sha256)
        _check(builtin or sha is not None, "strategy",
               f"must be one of {', '.join(BUILTIN_STRATEGIES)}, or a plugin's module:Class or path/to/file.py:Class",
               self.strategy)
        object.__setattr__(self, "strategy_sha256", sha)
        _check(isinstance(self.seed, int) and not isinstance(self.seed, bool) and self.seed >= 0,
               "seed", "must be a whole number >= 0", self.seed)
        _positive("threads", self.threads, integer=True)
        _choice("device", self.device, DEVICES)
        _choice("precision", self.precision, PRECISIONS)
        sched = parse_schedule(self.replay.schedule)
        if sched.kind == "manual":
            need = self.data.n_tasks - 1
            _check(len(sched.values) == need, "schedule",
                   f"manual needs {need} sizes (one per task after the first) for {self.data.n_tasks} tasks",
                   self.replay.schedule)
        # labels=generator needs a conditional generator, and auto resolves by it: what a generator
        # is, the registry knows (models.replay_labels, models.check_generator)

    def run_id(self) -> str:
        """Stable 12-hex-digit hash of the whole config. Fields added after run ids were first
        stored (`UNHASHED_WHEN_UNSET`) count only when set, so a config that leaves them unset
        keeps the id, and the cached and stored runs, it had before they existed."""
        flat = {k: v for k, v in flatten(self).items()
                if not (k in UNHASHED_WHEN_UNSET and v == UNHASHED_WHEN_UNSET[k])}
        blob = json.dumps(flat, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


SECTIONS = ("data", "model", "train", "replay")

# Newer fields -> the value that leaves them out of RunConfig.run_id (their default, meaning
# "as before the field existed"). A field added later that changes nothing at its default goes here.
UNHASHED_WHEN_UNSET: dict[str, object] = {"vae_optimizer": None, "gmm_select": "fixed", "precision": "fp32",
                                          "eval_every": "pass", "generator_sha256": None, "strategy_sha256": None}
# Computed fields: the sha256 of the plugin each names, recomputed whenever that field changes
# (with_overrides); `--set` cannot give them.
COMPUTED = {"generator_sha256": "generator", "strategy_sha256": "strategy"}


def _fields_by_name() -> dict[str, tuple[str | None, dataclasses.Field]]:
    """Every overridable field: name -> (section or None for top level, Field)."""
    out: dict[str, tuple[str | None, dataclasses.Field]] = {}
    for f in dataclasses.fields(RunConfig):
        if f.name in SECTIONS:
            for g in dataclasses.fields(f.default_factory):  # type: ignore[arg-type]  # a section's factory is its class
                out[g.name] = (f.name, g)
        else:
            out[f.name] = (None, f)
    return out


FIELDS = _fields_by_name()


def flatten(cfg: RunConfig) -> dict[str, object]:
    """One flat dict of every field (tuples as comma-joined strings, for CSV columns)."""
    row: dict[str, object] = {}
    for name, (section, _) in FIELDS.items():
        value = getattr(getattr(cfg, section) if section else cfg, name)
        row[name] = ",".join(map(str, value)) if isinstance(value, tuple) else value
    return row


def _parse_value(name: str, text: str) -> object:
    """Turn the text of ``--set name=text`` into the field's type."""
    hint = typing.get_type_hints(_owner(name))[name]
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)
    if optional:
        if text.lower() in ("none", ""):
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        annotation = "comma-separated whole numbers"
    else:
        annotation = {int: "a whole number", float: "a number"}.get(hint, "text") + (" or none" if optional else "")
    try:
        if typing.get_origin(hint) is tuple:
            return tuple(int(p) for p in text.split(","))
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"{name} expects {annotation}, got {text!r}") from None
    return text


def _owner(name: str) -> type:
    section = FIELDS[name][0]
    return type(getattr(RunConfig(), section)) if section else RunConfig


def with_overrides(cfg: RunConfig, pairs: typing.Iterable[str] | dict[str, object]) -> RunConfig:
    """Apply ``name=value`` strings (or a dict of typed values) and re-validate."""
    items: list[tuple[str, object]] = []
    if isinstance(pairs, dict):
        items = list(pairs.items())
    else:
        for pair in pairs:
            name, sep, text = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or not name:
                raise ConfigError(f"--set expects NAME=VALUE, got {pair!r}")
            if name not in FIELDS:
                raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(FIELDS))}")
            if name in COMPUTED:
                raise ConfigError(f"{name} is computed from the plugin's source file; set {COMPUTED[name]} instead")
            items.append((name, _parse_value(name, text.strip())))
    given = {name for name, _ in items}
    # a new generator or strategy: its plugin's hash is computed afresh (a recorded one, read back
    # with its config, is kept)
    items += [(sha, None) for sha, source in COMPUTED.items() if source in given and sha not in given]
    top: dict[str, object] = {}
    sections: dict[str, dict[str, object]] = {}
    for name, value in items:
        if name not in FIELDS:
            raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(FIELDS))}")
        section = FIELDS[name][0]
        if section:
            sections.setdefault(section, {})[name] = value
        else:
            top[name] = value
    for section, values in sections.items():
        top[section] = dataclasses.replace(getattr(cfg, section), **values)
    try:
        return dataclasses.replace(cfg, **top)  # type: ignore[arg-type]  # values checked in __post_init__
    except TypeError as e:  # e.g. a tuple where a number belongs, from a dict override
        raise ConfigError(str(e)) from None


def config_from_flat(row: dict[str, object]) -> RunConfig:
    """Rebuild a config from :func:`flatten`'s output (as read back from storage)."""
    typed: dict[str, object] = {}
    for name, value in row.items():
        if name in FIELDS:
            typed[name] = _parse_value(name, value) if isinstance(value, str) else value
    return with_overrides(RunConfig(), typed)


# Presets: the source report's models ("report"), and smaller ones for quick runs and tests.
def _report() -> RunConfig:
    return RunConfig()  # MLP 784-50-50-50-10 (44,860 params), VAE 784-512-256-z2 (1,068,820)


def _small() -> RunConfig:
    # The seed's "simpler generative model" improvement: 219,808 VAE parameters, 4.9x fewer than the seed's.
    return with_overrides(RunConfig(), {"vae_hidden": (128, 64), "latent": 8})


def _quick() -> RunConfig:
    # Few epochs: for tests and --quick studies, not for conclusions.
    return with_overrides(RunConfig(), {"epochs": 3, "vae_epochs": 3})


# The published Split MNIST protocol of van de Ven & Tolias (2019, "Three scenarios for continual
# learning"; their code's defaults): classifier 784-400-400-10, a separate symmetric VAE 784-400-400
# with a 100-d latent, Adam lr 1e-3 (0.9, 0.999) kept for the whole sequence, batch 128, 2,000
# iterations per task for each model, a fresh replay batch of 128 at every step weighted (1 - 1/t),
# training loss over the classes seen so far, and the class-to-task assignment permuted by the seed.
# labels=hard is their DGR, labels=soft (temperature 2) their DGR+distill. One difference remains:
# their ELBO is divided by 784 (Adam is nearly invariant to that scale).
VAN_DE_VEN_2019: dict[str, object] = {
    "hidden": (400, 400), "vae_hidden": (400, 400), "latent": 100, "batch_size": 128,
    "lr": 1e-3, "vae_lr": 1e-3, "iters": 2000, "vae_iters": 2000, "active_outputs": "seen",
    "class_order": "permuted", "replay_mode": "per-batch", "labels": "hard", "temperature": 2.0,
    "optimizer_state": "keep",
}


def _vandeven2019() -> RunConfig:
    return with_overrides(RunConfig(), VAN_DE_VEN_2019)


PRESETS = {"report": _report, "small": _small, "quick": _quick, "vandeven2019": _vandeven2019}
# Old preset names still accepted: "seed" (the source report's models) read like a random seed.
PRESET_ALIASES = {"seed": "report"}


def preset(name: str) -> RunConfig:
    name = PRESET_ALIASES.get(name, name)
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]()


def uses_plugins(cfg: RunConfig) -> bool:
    """Whether the config's generator or strategy is a plugin (found and hashed)."""
    return cfg.model.generator_sha256 is not None or cfg.strategy_sha256 is not None
