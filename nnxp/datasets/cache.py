"""Where nnxp keeps data, and the processed ``.npz`` cache that makes a second load instant.

The cache folder is ``NNXP_CACHE_DIR`` when set, else the platform's user cache folder for
nnxp (``~/.cache/nnxp`` on Linux). It holds ``mnist/`` (the downloaded gz files) and
``processed/`` (parsed arrays as uncompressed ``.npz``, read back with
``allow_pickle=False``; never pickle). A processed file is named after its source files'
paths, sizes and modification times, so editing or replacing a source makes a new one; a
processed file that cannot be read is ignored and rebuilt. Delete the folder to reclaim space.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

FORMAT = 1
"""Bumped whenever what a processed file holds changes, so old ones are not read."""


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


def load_processed(
    name: str, key: str, check: Callable[[dict[str, np.ndarray]], bool]
) -> dict[str, np.ndarray] | None:
    """The arrays saved for (name, key), or None when absent, unreadable or failing ``check``."""
    path = processed_path(name, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        if check(arrays):
            return arrays
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        pass
    path.unlink(missing_ok=True)
    return None


def save_processed(name: str, key: str, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Write the arrays atomically (temporary file, then rename); None if the cache is not
    writable, since a cache that cannot be written only costs time."""
    path = processed_path(name, key)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
            tmp = Path(f.name)
            np.savez(f, **arrays)
        os.replace(tmp, path)
        tmp = None
        return path
    except OSError:
        return None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
