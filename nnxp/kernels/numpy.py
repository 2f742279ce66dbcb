"""NumPy kernels: the fusable functions written with what NumPy offers beyond the Array API.

The default for NumPy arrays: no compilation and nothing more to import. On the book's
small arrays a NumPy call costs a few microseconds whatever its size, so these make fewer
calls than the references (ufunc reductions instead of np.sum's Python wrapper, the labels'
entries picked by indexing instead of a one-hot product, results computed into the arrays
just made); on large ones they avoid np.where, which is ten times slower than a product on
an unpredictable mask. Each returns its reference's values, or NotImplemented for inputs it
does not handle. Labels are indexed as given: the nets check their range at the boundary.
The Numba loops of :mod:`nnxp.kernels.numba_fused` go further. Each is kept because
benchmarks/train_step.py measures a gain: the batch sum and the softmax gradient are within
noise one at a time, but together with the others they take the book's step from 1.17-1.19x
the hand loop to 1.13-1.15x.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_HALF = np.dtype(np.float16)
COMPILED_MIN = 1 << 16
"""Arrays this large take Numba's one-pass loop for ReLU and its backward once the process
has Numba's loops loaded (a convolution kernel loads them): a third of NumPy's time there."""


def _compiled(x: np.ndarray, smallest: int = COMPILED_MIN) -> ModuleType | None:
    """:mod:`nnxp.kernels.numba_fused` if already imported and x has at least ``smallest``
    elements, else None: importing Numba costs more than a small net's whole run saves."""
    if x.size < smallest:
        return None
    return sys.modules.get("nnxp.kernels.numba_fused")


def relu_and_mask(x: Any) -> Any:
    """(max(x, 0), x <= 0): two passes, no np.where (NaN stays NaN; -0.0 stays -0.0)."""
    if type(x) is not np.ndarray or x.dtype not in _FLOATS:
        return NotImplemented
    compiled = _compiled(x)
    if compiled is not None:
        out = compiled.relu_and_mask(x)
        if out is not NotImplemented:
            return out
    return np.maximum(x, 0.0), x <= 0


def zero_where(mask: Any, x: Any) -> Any:
    """where(mask, 0, x) as x * ~mask when x is finite (0 * inf is NaN, not 0)."""
    if (
        type(x) is not np.ndarray or type(mask) is not np.ndarray or x.dtype not in _FLOATS
        or mask.dtype != np.bool_ or mask.shape != x.shape
    ):
        return NotImplemented
    compiled = _compiled(x)
    if compiled is not None:
        out = compiled.zero_where(mask, x)
        if out is not NotImplemented:
            return out
    if not np.isfinite(x).all():
        return NotImplemented
    return np.multiply(x, ~mask)


def adam_update(p: Any, g: Any, m: Any, v: Any, lr_t: float, beta1: float, beta2: float) -> Any:
    """Numba's one-pass Adam step once loaded (a third of the reference's in-place calls'
    time on the book's conv nets, whatever the size); the reference otherwise."""
    if type(p) is not np.ndarray:
        return NotImplemented
    compiled = _compiled(p, 0)
    return NotImplemented if compiled is None else compiled.adam_update(p, g, m, v, lr_t,
                                                                         beta1, beta2)


def batch_sum(x: Any) -> Any:
    """The sum over axis 0 by the ufunc itself (np.sum's wrapper costs more than the work)."""
    if type(x) is not np.ndarray or x.dtype not in _FLOATS or x.ndim == 0:
        return NotImplemented
    return np.add.reduce(x, axis=0)


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


def softmax_cross_entropy_grad(y: Any, t: Any) -> Any:
    """(y - one_hot(t)) / N for a batch of probabilities and integer labels, the one-hot rows
    compared in place of built (a label out of range subtracts nothing, as in the reference)."""
    if (
        type(y) is not np.ndarray or type(t) is not np.ndarray or y.ndim != 2 or t.ndim != 1
        or y.dtype not in _FLOATS or t.dtype.kind not in "iu" or t.shape[0] != y.shape[0]
    ):
        return NotImplemented
    dx = y - (t[:, None] == np.arange(y.shape[1]))
    dx /= y.shape[0]
    return dx


def matmul(x: Any, W: Any) -> Any:
    """float16 products through float32 BLAS, rounded to float16 once. NumPy's own float16
    product sums in float32 and rounds once too, but in a loop without BLAS: a hundred times
    slower (SimpleConvNet's affine layer took 2 minutes for the 10,000 test images). Other
    dtypes: the reference's product itself."""
    if x.dtype is _HALF and W.dtype is _HALF and type(x) is np.ndarray \
            and type(W) is np.ndarray:
        return np.matmul(x, W, dtype=np.float32).astype(np.float16)
    return x @ W  # the reference's product, without a second call


def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels by the name of the reference function each replaces."""
    return {
        "matmul": matmul,
        "relu_and_mask": relu_and_mask,
        "zero_where": zero_where,
        "adam_update": adam_update,
        "batch_sum": batch_sum,
        "softmax_and_cross_entropy": softmax_and_cross_entropy,
        "softmax_cross_entropy_grad": softmax_cross_entropy_grad,
    }
