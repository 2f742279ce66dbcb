"""The book's ``load_mnist``, done right: local files first, then the cache, then a checked
download; parsed once into a processed ``.npz`` cache; never pickle.

Sources, in order:

1. a folder the user names (``data_dir``, the CLI's ``--data-dir``, else ``NNXP_DATA_DIR``)
   holding the four standard file names, gz or uncompressed. Users re-compress files, so
   their structure is checked (regular files within a size cap, IDX headers of 28x28 uint8
   images, sizes, labels 0-9, counts that agree and are not 0), not the gz digests. A named
   folder is the only source: one that is missing, unreadable or lacks a file is an error
   saying which, never a silent download;
2. the gz files downloaded earlier into the cache folder (see :mod:`nnxp.datasets.cache`);
3. a download from the mirrors (see :mod:`nnxp.datasets.download`), checked against the
   published digests.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nnxp.datasets import cache, download
from nnxp.datasets.idx import checked_file, read_idx
from nnxp.errors import DatasetError
from nnxp.files import dangling_link, file_kind

MNIST_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "t_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "t_test": "t10k-labels-idx1-ubyte",
}
"""The book's array names and the standard file names (without ``.gz``) they come from."""

NUM_CLASSES = 10
SIDE = 28
"""MNIST images are SIDE x SIDE pixels."""

MAX_BYTES: dict[str, int] = {
    "x_train": 64_000_000,
    "t_train": 1_000_000,
    "x_test": 64_000_000,
    "t_test": 1_000_000,
}
"""What each MNIST file may hold, on disk and decompressed (the largest, train-images, is
47 MB uncompressed and 9.9 MB as gz; the label files 60 kB): a file or a header claiming
more is not MNIST, and is refused before anything is decompressed."""

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(x_train, t_train), (x_test, t_test)``, as the book's load_mnist returns them."""

_DROP = {
    "--data-dir": "drop --data-dir to use the cache or the download",
    "NNXP_DATA_DIR": "unset NNXP_DATA_DIR to use the cache or the download",
}


def _data_dir(data_dir: str | os.PathLike[str] | None) -> tuple[Path, str] | None:
    """The folder to look in and where its name came from (``--data-dir`` or
    ``NNXP_DATA_DIR``), or None when the user named none."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get("NNXP_DATA_DIR")
    return (Path(env).expanduser(), "NNXP_DATA_DIR") if env else None


def _listing(folder: Path, origin: str) -> set[str]:
    """The names in the data folder ``folder``; DatasetError, in one line, when it is
    missing, not a folder (a file, a FIFO, a dangling link) or unreadable."""
    where = f"data directory {folder} (from {origin})"
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        problem = dangling_link(folder) or "does not exist"
        raise DatasetError(f"{where} {problem}; fix the path") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}; fix the path"
        ) from None
    if not stat.S_ISDIR(st.st_mode):
        kind = "a file" if stat.S_ISREG(st.st_mode) else file_kind(st.st_mode)
        raise DatasetError(
            f"{where} is {kind}, not a folder; name the folder holding the four MNIST files"
        )
    try:
        return set(os.listdir(folder))
    except OSError as exc:
        raise DatasetError(
            f"cannot read {where}: {exc.strerror or exc}; make it readable or name another"
        ) from None


def files_in(folder: Path, origin: str = "--data-dir") -> dict[str, Path]:
    """The four MNIST files in the data folder ``folder`` named by ``origin`` (uncompressed
    preferred to gz). Whatever stands under a file's name counts as that file, so a FIFO or
    a dangling link is reported as what it is when read, not as missing. DatasetError when
    any file is missing: a folder the user names is never silently replaced by a download,
    and mixing sources hides mistakes."""
    names = _listing(folder, origin)
    found: dict[str, Path] = {}
    for key, name in MNIST_FILES.items():
        for candidate in (name, f"{name}.gz"):
            if candidate in names:
                found[key] = folder / candidate
                break
    missing = [f"{MNIST_FILES[k]}[.gz]" for k in MNIST_FILES if k not in found]
    if missing:
        holds = "none of the four MNIST files" if not found else (
            f"only {len(found)} of the four MNIST files")
        raise DatasetError(
            f"data directory {folder} (from {origin}) holds {holds} (missing "
            f"{', '.join(missing)}); put the four MNIST .gz files there, or {_DROP[origin]}"
        )
    return found


def cached_files() -> dict[str, Path] | None:
    """The four downloaded gz files in the cache folder, None unless all are regular files
    there (a download then checks or replaces them)."""
    folder = cache.cache_dir() / "mnist"
    found = {k: folder / f"{name}.gz" for k, name in MNIST_FILES.items()}
    try:
        return found if all(p.is_file() for p in found.values()) else None
    except (OSError, ValueError):
        return None


def find_local(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Path], str] | None:
    """The four MNIST files found without the network and where ("data_dir" or "cache"),
    or None. A data folder the user names (``data_dir``, else ``NNXP_DATA_DIR``) must hold
    all four: otherwise DatasetError, never a fall-through to the cache or a download."""
    named = _data_dir(data_dir)
    if named is not None:
        return files_in(*named), "data_dir"
    found = cached_files()
    return (found, "cache") if found is not None else None


def _download(progress: bool) -> dict[str, Path]:
    paths = download.download_mnist(
        cache.cache_dir() / "mnist",
        [f"{name}.gz" for name in MNIST_FILES.values()],
        progress=progress,
    )
    return {k: paths[f"{name}.gz"] for k, name in MNIST_FILES.items()}


def problem(arrays: Mapping[str, np.ndarray]) -> tuple[str, str] | None:
    """``(key, what is wrong)`` when ``arrays`` are not a set of MNIST images and labels
    (uint8 images N x 28 x 28 with N > 0, as many uint8 labels 0-9), else None.

    Parsed files and the processed cache both pass this test before they are used.
    """
    for key in MNIST_FILES:
        if key not in arrays:
            return key, f"no {key} array"
    for key in MNIST_FILES:
        array = arrays[key]
        want = (SIDE, SIDE) if key.startswith("x") else ()
        if array.dtype != np.uint8 or array.shape[1:] != want:
            shown = "x".join(["N", *map(str, want)])
            return key, (
                f"holds {array.dtype} data of shape {'x'.join(map(str, array.shape))}, not "
                f"the uint8 {shown} of MNIST {MNIST_FILES[key]}"
            )
    for split in ("train", "test"):
        x, t = arrays[f"x_{split}"], arrays[f"t_{split}"]
        if len(x) == 0:
            return f"x_{split}", "holds 0 images"
        if len(x) != len(t):
            return f"t_{split}", f"{len(t)} labels for {len(x)} images"
        if int(t.max()) >= NUM_CLASSES:
            return f"t_{split}", f"label {int(t.max())} is not a digit 0-9"
    return None


def cache_problem(arrays: Mapping[str, np.ndarray]) -> str | None:
    """What is wrong with processed arrays (see :func:`problem`), in a few words, or None."""
    found = problem(arrays)
    return None if found is None else f"{found[0]} {found[1]}"


def _check(arrays: Mapping[str, np.ndarray], files: Mapping[str, Path]) -> None:
    """Refuse parsed files that are valid IDX but not a matching set of MNIST images/labels."""
    found = problem(arrays)
    if found is not None:
        key, what = found
        raise DatasetError(
            f"{files[key]}: {what}; use the four files of one MNIST set (re-download them)"
        )


def _read(key: str, path: Path) -> np.ndarray:
    """One MNIST file, its header checked against what MNIST holds before reading data."""
    shape = (None, SIDE, SIDE) if key.startswith("x") else (None,)
    return read_idx(
        path, shape=shape, dtype=np.uint8, max_bytes=MAX_BYTES[key], what="MNIST file"
    )


def _checked_sources(files: Mapping[str, Path]) -> dict[str, Path]:
    """The source files, each a regular file within its cap (else DatasetError), resolved:
    checked before their identity is taken for the cache key."""
    return {k: checked_file(p, "MNIST file", MAX_BYTES[k]) for k, p in files.items()}


def load_mnist_uint8(
    data_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> dict[str, np.ndarray]:
    """x_train, t_train, x_test, t_test as stored: uint8 images (N, 28, 28), uint8 labels.

    Reads the processed cache when it matches the source files and passes :func:`problem`;
    otherwise parses them (re-checking the digests of downloaded files first) and writes it.
    """
    local = find_local(data_dir)
    files, origin = local if local is not None else (_download(progress), "download")
    files = _checked_sources(files)
    key = cache.source_key("mnist", files.values())
    arrays = cache.load_processed("mnist", key, cache_problem, sum(MAX_BYTES.values()))
    if arrays is not None:
        return arrays
    if origin == "cache":
        files = _checked_sources(_download(progress))
        key = cache.source_key("mnist", files.values())
    arrays = {k: _read(k, p) for k, p in files.items()}
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
