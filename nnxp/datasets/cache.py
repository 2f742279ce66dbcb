"""Where nnxp keeps data, and the processed ``.npz`` cache that makes a second load instant.

The cache folder is ``NNXP_CACHE_DIR`` when set, else the platform's user cache folder for
nnxp (``~/.cache/nnxp`` on Linux). It holds ``mnist/`` (the downloaded gz files) and
``processed/`` (parsed arrays as uncompressed ``.npz``; never pickle). A processed file is
named after its source files' paths, sizes and modification times, so editing or replacing
a source makes a new one. Delete the folder to reclaim space.

A processed file is an input like any other: it is read as a regular file within a size
cap, each array's ``.npy`` header is checked (uint8, not pickled objects, a size the cap
allows and the bytes present hold) before its data is read, and the arrays must pass the
dataset's own check (shapes, labels 0-9, counts that agree). One that fails any of this is
a cache miss: one warning line says why, the file is removed and rebuilt from the sources.
A cache that cannot be written (``NNXP_CACHE_DIR`` a file, a read-only folder) costs only
time: one warning line, and the data is still loaded. Writes are atomic
(:func:`nnxp.files.atomic_write`), and the temporary files that killed runs left are
removed by the next write to the same place.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from nnxp.datasets.idx import read_bytes
from nnxp.errors import NnxpError
from nnxp.files import STALE_SECONDS, atomic_write

FORMAT = 1
"""Bumped whenever what a processed file holds changes, so old ones are not read."""

_TEMPFILE_NAME = re.compile(r"tmp[a-z0-9_]{8}(\.tmp)?")
"""Names of Python ``tempfile`` files: pooch's download parts, and processed files that
versions of nnxp before atomic_write wrote (with a ``.tmp`` suffix)."""


class CacheInvalid(Exception):
    """A processed file that must not be used; the message says why."""


def warn(message: str) -> None:
    """One ``nnxp: warning:`` line on stderr (data loading goes on)."""
    print(f"nnxp: warning: {message}", file=sys.stderr)


def cache_dir() -> Path:
    """``NNXP_CACHE_DIR`` when set, else the platform's user cache folder for nnxp."""
    env = os.environ.get("NNXP_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    # platformdirs is what pooch.os_cache uses (a dependency of pooch); importing it directly
    # keeps requests, which pooch imports, off the path of a cached load.
    import platformdirs

    return Path(platformdirs.user_cache_dir("nnxp"))


def source_key(name: str, paths: Iterable[Path]) -> str:
    """A short digest of the source files' identity (path, size, mtime) and FORMAT."""
    ident = [name, FORMAT]
    for p in paths:
        st = p.stat()
        ident.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def processed_path(name: str, key: str) -> Path:
    """The processed file for dataset ``name`` built from sources with ``key``."""
    return cache_dir() / "processed" / f"{name}-{key}.npz"


def remove_stale_tempfiles(folder: Path) -> list[Path]:
    """Remove the ``tempfile``-named parts (``tmpXXXXXXXX``, ``tmpXXXXXXXX.tmp``) in ``folder``
    untouched for STALE_SECONDS: their writer (a download streams, refreshing the time) was
    killed. Their names hold no process id to ask about, so age decides; returns them."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except (OSError, ValueError):
        return []
    now = time.time()
    for entry in entries:
        if not _TEMPFILE_NAME.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_SECONDS:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def read_npz(data: bytes, keys: Iterable[str], max_bytes: int) -> dict[str, np.ndarray]:
    """The uint8 arrays ``keys`` of the npz bytes ``data``; CacheInvalid unless it holds
    exactly those, each an ``.npy`` of uint8 whose header claims at most ``max_bytes`` and
    whose data is all there. Headers are read before data; objects are never unpickled."""
    want = {f"{k}.npy": k for k in keys}
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if sorted(names) != sorted(want):
                raise CacheInvalid(f"holds {', '.join(names) or 'nothing'}, not "
                                   f"{', '.join(sorted(want))}")
            for name, key in want.items():
                with archive.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    if version not in ((1, 0), (2, 0)):
                        raise CacheInvalid(f"{name}: .npy format version {version}")
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = read_header(f)
                    if dtype != np.uint8:
                        raise CacheInvalid(f"{name}: {dtype} data, not uint8")
                    count = 1
                    for n in shape:
                        count *= n
                    if min(shape, default=0) < 0 or count > max_bytes:
                        raise CacheInvalid(f"{name}: header claims shape {shape}")
                    buf = bytearray(f.read(count + 1))
                if len(buf) != count:
                    raise CacheInvalid(f"{name}: {len(buf)} data bytes for shape {shape}")
                array = np.frombuffer(buf, np.uint8)
                arrays[key] = (array.reshape(shape[::-1]).T if fortran
                               else array.reshape(shape))
    except CacheInvalid:
        raise
    except (OSError, ValueError, EOFError, KeyError, TypeError, SyntaxError, RuntimeError,
            zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise CacheInvalid(f"not a readable npz ({' '.join(str(exc).split())})") from None
    return arrays


def load_processed(
    name: str,
    key: str,
    check: Callable[[dict[str, np.ndarray]], str | None],
    max_bytes: int,
    keys: Iterable[str] = ("x_train", "t_train", "x_test", "t_test"),
) -> dict[str, np.ndarray] | None:
    """The arrays saved for (name, key), or None when there are none or they must not be
    used: not a regular file, over ``max_bytes``, not an npz of uint8 arrays ``keys``, or
    failing ``check`` (which returns what is wrong, or None). An invalid file is removed,
    with one warning line, so that the caller rebuilds it."""
    path = processed_path(name, key)
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return None
    try:
        data = read_bytes(path, "processed cache file", max_bytes)
        arrays = read_npz(data, keys, max_bytes)
        problem = check(arrays)
    except NnxpError as exc:
        problem = str(exc).split("; ")[0]
    except CacheInvalid as exc:
        problem = str(exc)
    if problem is None:
        return arrays
    warn(f"the processed cache file {path} was invalid ({problem}): removed it, rebuilding "
         "it from the source files")
    try:
        if not path.is_dir() or path.is_symlink():
            path.unlink()
    except OSError:
        pass
    return None


def save_processed(name: str, key: str, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Write the arrays atomically (temporary file, then rename), first removing the parts
    that killed writers left; None, with one warning line, if the cache is not writable,
    since a cache that cannot be written only costs time."""
    path = processed_path(name, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_tempfiles(path.parent)
        atomic_write(path, lambda f: np.savez(f, **arrays), "processed cache file")
    except (OSError, ValueError) as exc:
        problem = getattr(exc, "strerror", None) or str(exc)
    except NnxpError as exc:
        problem = str(exc).split("; ")[0]
    else:
        return path
    warn(f"cannot write the processed cache in {cache_dir()} ({problem}); loading goes on "
         "without it (set NNXP_CACHE_DIR to a writable folder to make the next load faster)")
    return None
