"""NumPy kernels: the fusable functions written with what NumPy offers beyond the Array API.

The default for NumPy arrays: no compilation and nothing more to import. On the book's
small arrays a NumPy call costs a few microseconds whatever its size, so these make fewer
calls than the references (ufunc reductions instead of np.sum's Python wrapper, the labels'
entries picked by indexing instead of a one-hot product, results computed into the arrays
just made); on large ones they avoid np.where, which is ten times slower than a product on
an unpredictable mask. Each returns its reference's values, or NotImplemented for inputs it
does not handle. Labels are indexed as given: the nets check their range at the boundary.
The Numba loops of :mod:`nnxp.kernels.numba_fused` go further. Only kernels whose removal
slowed benchmarks/train_step.py's step by 3% or more are kept (the batch sum and the softmax
gradient were within noise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def relu_and_mask(x: Any) -> Any:
    """(max(x, 0), x <= 0): two passes, no np.where (NaN stays NaN; -0.0 stays -0.0)."""
    if type(x) is not np.ndarray or x.dtype not in _FLOATS:
        return NotImplemented
    return np.maximum(x, 0.0), x <= 0


def zero_where(mask: Any, x: Any) -> Any:
    """where(mask, 0, x) as x * ~mask when x is finite (0 * inf is NaN, not 0)."""
    if (
        type(x) is not np.ndarray or type(mask) is not np.ndarray or x.dtype not in _FLOATS
        or mask.dtype != np.bool_ or mask.shape != x.shape
    ):
        return NotImplemented
    if not np.isfinite(x).all():
        return NotImplemented
    return np.multiply(x, ~mask)


def softmax_and_cross_entropy(x: Any, t: Any) -> Any:
    """(softmax(x), mean cross-entropy) for a batch of scores and integer labels."""
    if (
        type(x) is not np.ndarray or type(t) is not np.ndarray or x.ndim != 2 or t.ndim != 1
        or x.dtype not in _FLOATS or t.dtype.kind not in "iu" or t.shape[0] != x.shape[0]
    ):
        return NotImplemented
    n = x.shape[0]
    shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)
    y = np.exp(shifted)
    total = np.add.reduce(y, axis=1, keepdims=True)
    y /= total
    picked = shifted[np.arange(n), t]
    return y, (np.add.reduce(np.log(total), axis=None) - np.add.reduce(picked)) / n


def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels by the name of the reference function each replaces."""
    return {
        "relu_and_mask": relu_and_mask,
        "zero_where": zero_where,
        "softmax_and_cross_entropy": softmax_and_cross_entropy,
    }
