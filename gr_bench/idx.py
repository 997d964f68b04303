"""IDX files (the MNIST / Fashion-MNIST format) on disk: where they are looked for, the checked
reader, and the identity of their content. What data.py (loading) and fetch.py (fetching) share.

MNIST and Fashion-MNIST share file names, so a dataset is identified by the sha256 of its decoded
uint8 arrays (content_sha256, KNOWN_CONTENT), not by its files' names.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path

import numpy as np
import torch

from .errors import DataError

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
# sha256 of (x_train, y_train, x_test, y_test) as uint8, row-major (content_sha256): the
# official 60,000 / 10,000 splits in their published order.
KNOWN_CONTENT = {
    "mnist": "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16",
    "fashion-mnist": "ca3ab2a37f845e1b8ae23cab1b51749a3011ba3bf1d9016176d75cbaabac376f",
}
SOURCE_FILE = "SOURCE.json"  # written beside fetched IDX files: where they came from, and when


def cache_dir() -> Path:
    return Path.home() / ".cache" / "gr-bench"


def content_sha256(x_train, y_train, x_test, y_test) -> str:
    """The identity of a dataset: sha256 over its four uint8 arrays, in that order, row-major.
    Accepts numpy arrays or torch tensors (labels of any integer type, 0..255)."""
    h = hashlib.sha256()
    for a in (x_train, y_train, x_test, y_test):
        arr = a.numpy() if hasattr(a, "numpy") else np.asarray(a)
        h.update(np.ascontiguousarray(arr.astype(np.uint8, copy=False)).tobytes())
    return h.hexdigest()


def _idx_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    if path.name.endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: not a readable gzip file ({e})") from e
    return raw


def _idx_dims(path: Path, head: bytes) -> tuple[int, ...]:
    """Checks the 4-byte magic number and returns the declared dimensions."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number {head[:4].hex() or 'empty'})")
    if head[2] != 0x08:
        raise DataError(f"{path}: unsupported IDX data type 0x{head[2]:02x} (only 0x08 = uint8)")
    ndim = head[3]
    if ndim == 0 or len(head) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
    return tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))


def read_idx(path: Path) -> torch.Tensor:
    """Reads a (optionally gzipped) uint8 IDX file; images (ndim 3) come back as (N, rows*cols)."""
    path = Path(path)
    data = _idx_bytes(path)
    dims = _idx_dims(path, data[:4 + 4 * data[3]] if len(data) >= 4 else data)
    expected, found = int(np.prod(dims)), len(data) - 4 - 4 * len(dims)
    if found != expected:  # exact length: a short or padded file means a broken copy
        problem = "truncated" if found < expected else "too long"
        raise DataError(f"{path}: {problem}: expected {expected} bytes of data, found {found}")
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims))
    arr = arr.reshape(dims[0], int(np.prod(dims[1:]))) if len(dims) > 1 else arr
    return torch.from_numpy(arr.copy())  # copy: frombuffer views immutable bytes


def find_idx(dirs: list[Path]) -> list[Path] | None:
    """The four IDX files (each raw or .gz) from the first folder that has all of them."""
    for d in dirs:
        found = [next((p for p in (d / f, d / f"{f}.gz") if p.is_file()), None) for f in IDX_FILES]
        if all(found):
            return found
    return None


def read_source(folder: Path) -> dict | None:
    """A fetched folder's SOURCE.json (where its files came from, and when); None when it has none."""
    try:
        return json.loads((folder / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return None
