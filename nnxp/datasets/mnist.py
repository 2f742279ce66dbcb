"""The book's ``load_mnist``, done right: local files first, then the cache, then a checked
download; parsed once into a processed ``.npz`` cache; never pickle.

Sources, in order:

1. a folder the user names (``data_dir``, the CLI's ``--data-dir``, else ``NNXP_DATA_DIR``)
   holding the four standard file names, gz or uncompressed. Users re-compress files, so
   their structure is checked (IDX headers, sizes, labels 0-9, counts that agree), not the
   gz digests;
2. the gz files downloaded earlier into the cache folder (see :mod:`nnxp.datasets.cache`);
3. a download from the mirrors (see :mod:`nnxp.datasets.download`), checked against the
   published digests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnxp.datasets import cache, download
from nnxp.datasets.idx import read_idx
from nnxp.errors import DatasetError

MNIST_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "t_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "t_test": "t10k-labels-idx1-ubyte",
}
"""The book's array names and the standard file names (without ``.gz``) they come from."""

NUM_CLASSES = 10

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(x_train, t_train), (x_test, t_test)``, as the book's load_mnist returns them."""


def _data_dir(data_dir: str | os.PathLike[str] | None) -> tuple[Path, str] | None:
    """The folder to look in first and where its name came from, or None."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "data_dir (--data-dir)"
    env = os.environ.get("NNXP_DATA_DIR")
    return (Path(env).expanduser(), "NNXP_DATA_DIR") if env else None


def files_in(folder: Path) -> dict[str, Path] | None:
    """The four MNIST files in ``folder`` (uncompressed preferred to gz), None when it holds
    none of them; DatasetError when it holds only some, since mixing sources hides mistakes."""
    found: dict[str, Path] = {}
    for key, name in MNIST_FILES.items():
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                found[key] = candidate
                break
    if not found:
        return None
    missing = [f"{MNIST_FILES[k]}[.gz]" for k in MNIST_FILES if k not in found]
    if missing:
        raise DatasetError(
            f"{folder} holds only some MNIST files (missing {', '.join(missing)}); "
            "add them, or point --data-dir / NNXP_DATA_DIR at a folder holding all four"
        )
    return found


def cached_files() -> dict[str, Path] | None:
    """The four downloaded gz files in the cache folder, None unless all are there."""
    folder = cache.cache_dir() / "mnist"
    found = {k: folder / f"{name}.gz" for k, name in MNIST_FILES.items()}
    return found if all(p.is_file() for p in found.values()) else None


def find_local(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Path], str] | None:
    """The four MNIST files found without the network and where ("data_dir" or "cache"),
    or None. A named data folder that does not exist raises DatasetError (a typo, surely)."""
    named = _data_dir(data_dir)
    if named is not None:
        folder, origin = named
        if not folder.is_dir():
            raise DatasetError(
                f"data directory {folder} (from {origin}) does not exist or is not a folder; "
                "fix the path"
            )
        found = files_in(folder)
        if found is not None:
            return found, "data_dir"
    found = cached_files()
    return (found, "cache") if found is not None else None


def _download(progress: bool) -> dict[str, Path]:
    paths = download.download_mnist(
        cache.cache_dir() / "mnist",
        [f"{name}.gz" for name in MNIST_FILES.values()],
        progress=progress,
    )
    return {k: paths[f"{name}.gz"] for k, name in MNIST_FILES.items()}


def _well_formed(arrays: Mapping[str, np.ndarray]) -> bool:
    """What every processed MNIST file must hold (cheap: no pass over the pixels)."""
    try:
        x_tr, t_tr, x_te, t_te = (arrays[k] for k in MNIST_FILES)
    except KeyError:
        return False
    return (
        all(a.dtype == np.uint8 for a in (x_tr, t_tr, x_te, t_te))
        and x_tr.ndim == x_te.ndim == 3
        and t_tr.ndim == t_te.ndim == 1
        and x_tr.shape[1:] == x_te.shape[1:]
        and len(x_tr) == len(t_tr)
        and len(x_te) == len(t_te)
    )


def _check(arrays: Mapping[str, np.ndarray], files: Mapping[str, Path]) -> None:
    """Refuse parsed files that are valid IDX but not a matching set of MNIST images/labels."""
    for key, array in arrays.items():
        want = 3 if key.startswith("x") else 1
        if array.dtype != np.uint8 or array.ndim != want:
            raise DatasetError(
                f"{files[key]}: holds {array.dtype} data of {array.ndim} dimensions, not the "
                f"unsigned bytes of {want} dimensions MNIST {MNIST_FILES[key]} has; "
                "replace it with the right file"
            )
    for split in ("train", "test"):
        x, t = arrays[f"x_{split}"], arrays[f"t_{split}"]
        if len(x) != len(t):
            raise DatasetError(
                f"{files[f't_{split}']}: {len(t)} labels for the {len(x)} images of "
                f"{files[f'x_{split}'].name}; use images and labels of the same set"
            )
        if t.size and int(t.max()) >= NUM_CLASSES:
            raise DatasetError(
                f"{files[f't_{split}']}: label {int(t.max())} is not a digit 0-9; "
                "replace it with the MNIST label file"
            )
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DatasetError(
            f"{files['x_test']}: images of {arrays['x_test'].shape[1:]} pixels, but the "
            f"training images have {arrays['x_train'].shape[1:]}; use files of the same set"
        )


def load_mnist_uint8(
    data_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> dict[str, np.ndarray]:
    """x_train, t_train, x_test, t_test as stored: uint8 images (N, 28, 28), uint8 labels.

    Reads the processed cache when it matches the source files; otherwise parses them
    (re-checking the digests of downloaded files first) and writes it.
    """
    local = find_local(data_dir)
    files, origin = local if local is not None else (_download(progress), "download")
    key = cache.source_key("mnist", files.values())
    arrays = cache.load_processed("mnist", key, _well_formed)
    if arrays is not None:
        return arrays
    if origin == "cache":
        files = _download(progress)
        key = cache.source_key("mnist", files.values())
    arrays = {k: read_idx(p) for k, p in files.items()}
    _check(arrays, files)
    cache.save_processed("mnist", key, arrays)
    return arrays


def book_format(
    x: np.ndarray, t: np.ndarray, *, normalize: bool, flatten: bool, one_hot_label: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) as the book hands them out (see load_mnist)."""
    if normalize:
        x = x.astype(np.float32)
        x /= np.float32(255.0)
    x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, *x.shape[1:])
    if one_hot_label:
        t = np.eye(NUM_CLASSES, dtype=np.float32)[t]
    else:
        t = t.astype(np.int64)
    return x, t


def book_splits(arrays: Mapping[str, np.ndarray], **fmt: bool) -> Splits:
    """``(x_train, t_train), (x_test, t_test)`` from stored arrays, formatted as book_format."""
    return (
        book_format(arrays["x_train"], arrays["t_train"], **fmt),
        book_format(arrays["x_test"], arrays["t_test"], **fmt),
    )


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
) -> Splits:
    """MNIST as in the book: ``(x_train, t_train), (x_test, t_test)`` as NumPy arrays.

    - ``normalize``: float32 pixels in [0, 1] (pixel / 255); else the stored uint8 values.
    - ``flatten``: images of shape (N, 784); else (N, 1, 28, 28), channels first.
    - ``one_hot_label``: labels of shape (N, 10), float32 0/1 whatever ``normalize``, to
      meet a float32 network without a cast; else int64 digits of shape (N,): int64 rather
      than the file's uint8 because it indexes on every backend (torch gathers want int64)
      and does not wrap around in arithmetic.

    Looks in ``data_dir`` (else ``NNXP_DATA_DIR``), then the cache, then downloads once;
    raises DatasetError saying what failed and how to fix it. Each call returns new arrays.
    """
    arrays = load_mnist_uint8(data_dir)
    return book_splits(arrays, normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)
