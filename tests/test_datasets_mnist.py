"""load_mnist on synthetic MNIST files: the book's semantics, sources, the processed cache."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnxp
from nnxp.datasets import cache, load_mnist, mnist
from nnxp.errors import DatasetError
from tests.test_datasets_idx import idx_bytes

pytestmark = pytest.mark.host

NAMES = mnist.MNIST_FILES


def synthetic_mnist(n_train: int = 12, n_test: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """Small arrays shaped like MNIST's: uint8 images (N, 28, 28), labels 0-9."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "t_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t_test": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }


def write_mnist(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    """The four files of ``arrays`` in ``folder`` under the standard names."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        data = idx_bytes(array)
        name = NAMES[key] + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return folder


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh cache folder, no data folder from the environment, and mirrors that refuse
    at once, so no test here can reach the network."""
    monkeypatch.setenv("NNXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNXP_DATA_DIR", raising=False)
    monkeypatch.setenv("NNXP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setattr("nnxp.datasets.download.RETRIES", 0)


@pytest.fixture
def arrays():
    return synthetic_mnist()


@pytest.fixture
def data_dir(tmp_path, arrays):
    return write_mnist(tmp_path / "data", arrays)


@pytest.mark.parametrize("flatten", [True, False])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("one_hot_label", [False, True])
def test_book_semantics(data_dir, arrays, normalize, flatten, one_hot_label):
    (x, t), (x_test, t_test) = load_mnist(normalize, flatten, one_hot_label, data_dir=data_dir)
    for images, labels, key in ((x, t, "train"), (x_test, t_test, "test")):
        raw, digits = arrays[f"x_{key}"], arrays[f"t_{key}"]
        n = len(raw)
        assert images.shape == ((n, 784) if flatten else (n, 1, 28, 28))
        if normalize:
            assert images.dtype == np.float32
            assert 0.0 <= images.min() and images.max() <= 1.0
            expected = raw.astype(np.float32) / np.float32(255.0)
            np.testing.assert_array_equal(images.reshape(raw.shape), expected)
        else:
            assert images.dtype == np.uint8
            np.testing.assert_array_equal(images.reshape(raw.shape), raw)
        if one_hot_label:
            assert labels.shape == (n, 10) and labels.dtype == np.float32
            np.testing.assert_array_equal(labels.argmax(axis=1), digits)
            np.testing.assert_array_equal(labels.sum(axis=1), 1.0)
        else:
            assert labels.shape == (n,) and labels.dtype == np.int64
            np.testing.assert_array_equal(labels, digits)


def test_keyword_defaults_are_the_books(data_dir):
    (x, t), _ = load_mnist(data_dir=data_dir)
    assert x.shape == (12, 784) and x.dtype == np.float32 and t.shape == (12,)


def test_uncompressed_and_mixed_files(tmp_path, arrays):
    folder = write_mnist(tmp_path / "raw", arrays, gz=False)
    (x, _), _ = load_mnist(normalize=False, data_dir=folder)
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), arrays["x_train"])
    (folder / NAMES["t_test"]).unlink()
    (folder / f"{NAMES['t_test']}.gz").write_bytes(gzip.compress(idx_bytes(arrays["t_test"])))
    _, (_, t_test) = load_mnist(data_dir=folder)
    np.testing.assert_array_equal(t_test, arrays["t_test"])


def test_data_dir_from_the_environment(data_dir, arrays, monkeypatch):
    monkeypatch.setenv("NNXP_DATA_DIR", str(data_dir))
    _, (_, t_test) = load_mnist()
    np.testing.assert_array_equal(t_test, arrays["t_test"])


def test_each_call_returns_new_arrays(data_dir):
    (x, _), _ = load_mnist(normalize=False, data_dir=data_dir)
    x[...] = 0
    (again, _), _ = load_mnist(normalize=False, data_dir=data_dir)
    assert again.any()


def _processed_files() -> list[Path]:
    return sorted((cache.cache_dir() / "processed").glob("*.npz"))


def test_second_load_reads_the_processed_cache(data_dir, monkeypatch):
    first = load_mnist(normalize=False, data_dir=data_dir)
    (npz,) = _processed_files()
    with np.load(npz, allow_pickle=False) as saved:
        assert sorted(saved.files) == sorted(NAMES) and all(
            saved[k].dtype == np.uint8 for k in NAMES
        )

    def refuse(path):
        raise AssertionError(f"parsed {path} again")

    monkeypatch.setattr(mnist, "read_idx", refuse)
    second = load_mnist(normalize=False, data_dir=data_dir)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_changed_source_is_parsed_again(data_dir, arrays):
    load_mnist(data_dir=data_dir)
    changed = dict(arrays, t_test=np.full(6, 3, dtype=np.uint8))
    write_mnist(data_dir, changed)
    os.utime(data_dir / f"{NAMES['t_test']}.gz", ns=(1, 1))
    _, (_, t_test) = load_mnist(data_dir=data_dir)
    np.testing.assert_array_equal(t_test, 3)


def test_damaged_processed_file_is_rebuilt(data_dir, arrays):
    load_mnist(data_dir=data_dir)
    (npz,) = _processed_files()
    npz.write_bytes(npz.read_bytes()[:1000])
    _, (_, t_test) = load_mnist(data_dir=data_dir)
    np.testing.assert_array_equal(t_test, arrays["t_test"])
    assert _processed_files() == [npz] and npz.stat().st_size > 1000


def test_unwritable_cache_only_costs_time(data_dir, arrays, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NNXP_CACHE_DIR", str(blocker))
    _, (_, t_test) = load_mnist(data_dir=data_dir)
    np.testing.assert_array_equal(t_test, arrays["t_test"])


def test_missing_data_dir_is_named(tmp_path):
    with pytest.raises(DatasetError, match="does not exist.*fix the path") as info:
        load_mnist(data_dir=tmp_path / "typo")
    assert str(tmp_path / "typo") in str(info.value)


def test_partial_data_dir_lists_what_is_missing(data_dir):
    (data_dir / f"{NAMES['t_test']}.gz").unlink()
    with pytest.raises(DatasetError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        load_mnist(data_dir=data_dir)


def test_empty_data_dir_is_named_not_replaced_by_a_download(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr("nnxp.datasets.download.fetch", lambda *a, **k: pytest.fail("fetched"))
    with pytest.raises(DatasetError, match="holds none of the four MNIST files .*drop --data-dir"):
        load_mnist(data_dir=tmp_path / "empty")
    monkeypatch.setenv("NNXP_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match=r"\(from NNXP_DATA_DIR\).*unset NNXP_DATA_DIR"):
        load_mnist()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"t_train": np.zeros(11, np.uint8)}, "11 labels for 12 images"),
        ({"t_test": np.array([1, 2, 10, 0, 0, 0], np.uint8)}, "label 10 is not a digit"),
        ({"x_test": np.zeros((6, 784), np.uint8)}, "claims 6x784 uint8 items, not the Nx28x28"),
        ({"t_train": np.zeros(12, np.int32)}, "int32 items, not the uint8 data expected"),
        ({"x_test": np.zeros((6, 28, 27), np.uint8)}, "6x28x27 uint8 items, not the Nx28x28"),
        ({"x_train": np.zeros((0, 28, 28), np.uint8), "t_train": np.zeros(0, np.uint8)},
         "holds 0 images"),
    ],
)
def test_files_that_do_not_belong_together(tmp_path, arrays, change, problem):
    folder = write_mnist(tmp_path / "bad", dict(arrays, **change))
    with pytest.raises(DatasetError, match=problem):
        load_mnist(data_dir=folder)


def test_malformed_file_is_named(data_dir):
    path = data_dir / f"{NAMES['x_train']}.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="damaged gzip data") as info:
        load_mnist(data_dir=data_dir)
    assert str(path) in str(info.value)


def test_nnxp_load_mnist_is_the_same_function():
    assert nnxp.load_mnist is load_mnist


def test_import_nnxp_stays_light():
    """``import nnxp`` imports neither the datasets package nor pooch or requests."""
    code = (
        "import sys, nnxp; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pooch', 'requests', "
        "'mlxtend') or m.startswith('nnxp.datasets')))"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
