"""Numba kernels for NumPy arrays: one compiled loop for ReLU, its backward and the softmax loss.

Opt-in (``NNXP_FUSED=numba`` or ``nnxp.kernels.dispatch.use_fused("numba")``): a loop does in
one call and one pass what takes NumPy several, which makes the book's small step about a
tenth faster and ReLU on large arrays four times faster than NumPy's own kernels, but the first
call in a process imports and initialises Numba (about 0.6 s here), more than a default
10,000-step run of the book's net saves. Worth it for long runs and wide nets.

Each public function has the signature of the reference it replaces (see
:func:`nnxp.kernels.dispatch.fusable`), checks what its loop handles (float32 or float64,
C-contiguous, labels in range) and returns NotImplemented otherwise. Elementwise loops compute
in the array's dtype; softmax sums in float64. NumPy's error model (no exception on division
by zero), no fastmath (NaN must propagate so that training notices divergence),
``cache=True`` (compiled once per machine). Only loops whose removal slowed
benchmarks/train_step.py's step by 3% or more are kept (the batch sum, the SGD update and
the softmax gradient were within noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from nnxp.kernels import host_pool

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

jit = numba.njit(cache=True, error_model="numpy", nogil=True)


@jit
def _relu_and_mask(x, out, mask):  # pragma: no cover - compiled
    flat_x, flat_out, flat_mask = x.reshape(x.size), out.reshape(out.size), mask.reshape(mask.size)
    for i in range(flat_x.size):
        v = flat_x[i]
        off = v <= 0
        flat_mask[i] = off
        flat_out[i] = 0.0 if off else v


@jit
def _zero_where(mask, x, out):  # pragma: no cover - compiled
    flat_mask, flat_x, flat_out = mask.reshape(mask.size), x.reshape(x.size), out.reshape(out.size)
    for i in range(flat_x.size):
        flat_out[i] = 0.0 if flat_mask[i] else flat_x[i]


@jit
def _adam(p, g, m, v, lr_t, c1, c2, eps):  # pragma: no cover - compiled
    for i in range(p.size):
        mi = m[i] + c1 * (g[i] - m[i])
        vi = v[i] + c2 * (g[i] * g[i] - v[i])
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (math.sqrt(vi) + eps)


@jit
def _softmax_cross_entropy(x, t, y, loss):  # pragma: no cover - compiled
    n, c = x.shape
    for i in range(n):
        if t[i] < 0 or t[i] >= c:
            return False
    total_loss = 0.0
    for i in range(n):
        top = x[i, 0]
        for j in range(1, c):
            if x[i, j] > top:
                top = x[i, j]
        total = 0.0
        for j in range(c):
            e = math.exp(x[i, j] - top)
            y[i, j] = e
            total += y[i, j]
        for j in range(c):
            y[i, j] = y[i, j] / total
        total_loss += math.log(total) - (x[i, t[i]] - top)
    loss[0] = total_loss / n
    return True


def _memory_order(x: np.ndarray) -> list[int] | None:
    """x's axes from the largest stride to the smallest (None when x is C-contiguous)."""
    if x.flags.c_contiguous:
        return None
    return sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))


def dense(*arrays: np.ndarray) -> list[np.ndarray] | None:
    """1-D views of arrays laid out alike without gaps, in their memory's order (C order, or
    channels-last images seen as (N, C, H, W)); None when they are not."""
    order = _memory_order(arrays[0])
    views = []
    for a in arrays:
        view = a if order is None else a.transpose(order)
        if not view.flags.c_contiguous:
            return None
        views.append(view.reshape(view.size))
    return views


def empty_like(x: np.ndarray, dtype: Any = None) -> np.ndarray:
    """A new array laid out as x in memory (its axes in the same order), from the host pool."""
    dtype = x.dtype if dtype is None else dtype
    order = _memory_order(x)
    if order is None:
        return host_pool.empty(x.shape, dtype)
    base = host_pool.empty(tuple(x.shape[axis] for axis in order), dtype)
    return base.transpose(np.argsort(order))


def relu_and_mask(x: Any) -> Any:
    """(max(x, 0), x <= 0) in one pass, laid out as x (any order without gaps)."""
    if type(x) is not np.ndarray or x.dtype not in _FLOATS:
        return NotImplemented
    out = empty_like(x)
    mask = empty_like(x, np.bool_)
    flat = dense(x, out, mask)
    if flat is None:
        return NotImplemented
    _relu_and_mask(*flat)
    return out, mask


def zero_where(mask: Any, x: Any) -> Any:
    """where(mask, 0, x) in one pass, laid out as x (mask laid out alike)."""
    if (
        type(x) is not np.ndarray or type(mask) is not np.ndarray or x.dtype not in _FLOATS
        or mask.dtype != np.bool_ or mask.shape != x.shape
    ):
        return NotImplemented
    out = empty_like(x)
    flat = dense(x, mask, out)
    if flat is None:
        return NotImplemented
    _zero_where(flat[1], flat[0], flat[2])
    return out


def adam_update(p: Any, g: Any, m: Any, v: Any, lr_t: float, beta1: float, beta2: float) -> Any:
    """Adam's step into p, m and v in one pass. The constants are in the arrays' dtype, as
    NumPy takes Python floats, and nothing is contracted into a fused multiply-add, so
    each number rounds as the reference's."""
    arrays = (p, g, m, v)
    if any(type(a) is not np.ndarray or a.dtype != p.dtype or a.shape != p.shape
           for a in arrays) or p.dtype not in _FLOATS:
        return NotImplemented
    flat = dense(*arrays)
    if flat is None:
        return NotImplemented
    cast = p.dtype.type
    _adam(*flat, cast(lr_t), cast(1.0 - beta1), cast(1.0 - beta2), cast(1e-7))
    return p, m, v


def softmax_and_cross_entropy(x: Any, t: Any) -> Any:
    """(softmax(x), mean cross-entropy) for a batch of scores and integer labels, row by row."""
    if (
        type(x) is not np.ndarray or type(t) is not np.ndarray or x.ndim != 2 or t.ndim != 1
        or x.dtype not in _FLOATS or t.dtype.kind not in "iu" or t.shape[0] != x.shape[0]
        or x.shape[0] == 0 or x.shape[1] == 0 or not x.flags.c_contiguous
    ):
        return NotImplemented
    y = np.empty_like(x)
    loss = np.empty(1, dtype=x.dtype)
    if not _softmax_cross_entropy(x, t, y, loss):
        return NotImplemented
    return y, loss[0]


def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels by the name of the reference function each replaces."""
    return {
        "relu_and_mask": relu_and_mask,
        "zero_where": zero_where,
        "adam_update": adam_update,
        "softmax_and_cross_entropy": softmax_and_cross_entropy,
    }
