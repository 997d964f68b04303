"""The checks a command's input passes before any work: sizes within their bounds (a seed past 2**31,
a billion epochs, a layer of a million units), a --results folder that can be one, a --data-dir that
holds a dataset. Each failure is one line (exit code 2). Free of heavy imports: `gr-bench run
--dry-run` and bad flags make them without torch or optuna; the study set-up (orchestration/launch.py) makes
them too."""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, RunConfig
from .errors import DataError
from .files import ResultsError

# Upper bounds on sizes, far beyond any intended use, so that an absurd value is refused in one line
# before any work instead of stalling or exhausting memory (each refused with exit code 2).
MAX_SEED = 2**31 - 1
MAX_SEEDS = 10_000  # --seeds (count or list) and --sequential CAP
MAX_TRIALS = 100_000
MAX_WORKERS = 256
MAX_WIDTH = 100_000  # one layer's width, the latent and the PCA size
MAX_PARAMS = 1_000_000_000  # per model, counted before any is built (4 GB of float32)
SIZE_LIMITS = {  # --set fields (and the flags that set them) -> largest accepted value
    "seed": MAX_SEED, "threads": 1024, "n_tasks": 1000, "epochs": 100_000, "vae_epochs": 100_000,
    "iters": 100_000_000, "vae_iters": 100_000_000, "batch_size": 1_000_000, "vae_batch_size": 1_000_000,
    "buffer": 1_000_000_000, "buffer_mb": 1_000_000, "latent": MAX_WIDTH, "pca_dim": MAX_WIDTH,
    "gmm_components": 10_000,
}
MAX_REPLAY = 100_000_000  # replay samples generated before one task


def number(value: float) -> str:
    """A number for a one-line message: 1,000,001; a 400-digit one by its length."""
    text = f"{value:,}"
    return text if len(text) <= 30 else f"a {len(str(int(value)))}-digit number"


def check_count(flag: str, value: int | None, most: int) -> None:
    """A count option (--trials, --workers, ...) within its bound: one line and exit code 2 if not."""
    if value is not None and value > most:
        raise ConfigError(f"{flag} must be at most {most:,}, got {number(value)}")


def _mlp_params(dims: list[int]) -> int:
    return sum((a + 1) * b for a, b in zip(dims, dims[1:]))


def check_sizes(cfg: RunConfig, input_dim: int = 784) -> RunConfig:
    """Refuse sizes no one asks for by intent (a seed past 2**31, a billion epochs, a layer of a
    million units) in one line, before anything is loaded, built or trained."""
    from .config import flatten
    from .schedule import parse_schedule

    flat = flatten(cfg)
    for name, most in SIZE_LIMITS.items():
        value = flat.get(name)
        if isinstance(value, (int, float)) and value > most:
            raise ConfigError(f"{name} must be at most {most:,}, got {number(value)}")
    for name in ("hidden", "vae_hidden"):
        widths = getattr(cfg.model, name)
        if len(widths) > 100 or max(widths) > MAX_WIDTH:
            raise ConfigError(f"{name} must be at most 100 layers of at most {MAX_WIDTH:,} units, "
                              f"got {len(widths)} layer(s) up to {number(max(widths))}")
    m = cfg.model
    vae = (_mlp_params([input_dim + 10, *m.vae_hidden, 2 * m.latent])  # encoder (a cvae's takes the class too)
           + _mlp_params([m.latent + 10, *m.vae_hidden[::-1], input_dim]))  # decoder
    params = max(_mlp_params([input_dim, *m.hidden, 10]), vae)
    if params > MAX_PARAMS:
        raise ConfigError(f"the models would have about {params:,} parameters; at most {MAX_PARAMS:,} per model "
                          "(--set hidden, vae_hidden, latent)")
    schedule = parse_schedule(cfg.replay.schedule)
    largest = max(schedule.sizes(cfg.data.n_tasks, 70_000))  # 70,000: all of MNIST as one task, the most
    if largest > MAX_REPLAY:
        raise ConfigError(f"schedule {cfg.replay.schedule!r} asks for {int(largest):,} replay samples before one "
                          f"task; at most {MAX_REPLAY:,}")
    return cfg


def check_results(path: Path) -> None:
    """A --results folder that cannot be one, refused before any work (it is made later, when needed)."""
    p = Path(path).expanduser()
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                where = "is a file, not a folder" if q == p else f"is not writable: {str(q)!r} is a file, not a folder"
                raise ResultsError(f"results folder {str(p)!r} {where}")
            return


def check_data_dir(path: Path | None) -> None:
    """--data-dir must be a folder that holds a dataset's files (the four MNIST IDX files, raw or
    .gz, in it or in mnist/, MNIST/raw/, fashion-mnist/ or FashionMNIST/raw/): a mistyped path is
    refused instead of silently falling back to another copy of the data."""
    if path is None:
        return
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"--data-dir {str(path)!r} does not exist (gr-bench datasets fetch --data-dir DIR fills one)")
    if not p.is_dir():
        raise DataError(f"--data-dir {str(path)!r} is a file, not a folder")
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    for sub in ("", "mnist", "MNIST/raw", "fashion-mnist", "FashionMNIST/raw"):
        d = p / sub
        if all((d / n).is_file() or (d / f"{n}.gz").is_file() for n in names):
            return
    raise DataError(f"--data-dir {str(path)!r} holds no dataset files (the four MNIST IDX files: "
                    f"{', '.join(names)}, raw or .gz)")
