"""The real MNIST files in shared/data/mnist beside the checkout (skipped, with the reason,
where absent)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from nnxp.datasets import download, load_mnist, mnist

REAL = next(
    (
        folder / "shared" / "data" / "mnist"
        for folder in Path(__file__).resolve().parents[1:]
        if (folder / "shared" / "data" / "mnist").is_dir()
    ),
    Path(__file__).parents[1] / ".." / "shared" / "data" / "mnist",
)
"""shared/ beside the checkout (or beside a folder of worktrees that holds it)."""
GZ = {k: REAL / f"{name}.gz" for k, name in mnist.MNIST_FILES.items()}

pytestmark = [
    pytest.mark.host,
    pytest.mark.skipif(
        not all(p.is_file() for p in GZ.values()),
        reason=f"real MNIST not found in {REAL.resolve()}",
    ),
]

RAW_SHA256 = {
    "x_train": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "t_train": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "x_test": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t_test": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
COUNTS = {
    "t_train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "t_test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("cache")
        mp.setenv("NNXP_CACHE_DIR", str(path))
        mp.delenv("NNXP_DATA_DIR", raising=False)
        mp.setenv("NNXP_MNIST_MIRRORS", "http://127.0.0.1:9/")
        yield path


@pytest.fixture(scope="module")
def stored(cache_dir):
    return mnist.load_mnist_uint8(REAL)


def test_shapes_dtypes_and_range(stored):
    assert stored["x_train"].shape == (60000, 28, 28) and stored["x_test"].shape == (10000, 28, 28)
    assert stored["t_train"].shape == (60000,) and stored["t_test"].shape == (10000,)
    for array in stored.values():
        assert array.dtype == np.uint8
    assert stored["x_train"].min() == 0 and stored["x_train"].max() == 255


def test_first_labels_and_counts(stored):
    assert stored["t_train"][:5].tolist() == [5, 0, 4, 1, 9]
    assert stored["t_test"][:5].tolist() == [7, 2, 1, 0, 4]
    for key, counts in COUNTS.items():
        assert np.bincount(stored[key], minlength=10).tolist() == counts


def test_parsed_content_is_the_original_byte_for_byte(stored):
    """The README's sha256 of each decompressed file, recomputed from the parsed arrays."""
    for key, array in stored.items():
        magic = 0x0803 if array.ndim == 3 else 0x0801
        head = struct.pack(f">I{array.ndim}I", magic, *array.shape)
        assert hashlib.sha256(head + array.tobytes()).hexdigest() == RAW_SHA256[key], key


def test_registry_matches_the_mirror_identical_files():
    """Three of the four files here are byte-identical to the mirrors' (see the README)."""
    for key, path in GZ.items():
        known = download.MNIST_DIGESTS[path.name]
        algorithm, digest = known.split(":")
        if key != "x_train":
            assert hashlib.new(algorithm, path.read_bytes()).hexdigest() == digest, path.name


def test_book_format_and_cached_load(stored, cache_dir):
    (x, t), (x_test, t_test) = load_mnist(data_dir=REAL)
    assert x.shape == (60000, 784) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0 and t.dtype == np.int64
    np.testing.assert_array_equal(x_test[0] * 255, stored["x_test"][0].reshape(-1))
    (x, t), _ = load_mnist(normalize=False, flatten=False, one_hot_label=True, data_dir=REAL)
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.uint8 and t.shape == (60000, 10)
    assert t[:5].argmax(axis=1).tolist() == [5, 0, 4, 1, 9]
    assert len(list((cache_dir / "processed").glob("mnist-*.npz"))) == 1
