"""CUDA kernels for CuPy arrays: each fusable function in as few kernel launches as it can.

On a GPU the book's small net is bound by launches, not arithmetic: each CuPy operation is at
least one kernel of a few microseconds, whatever its size. The references take two launches
for ReLU, two for its backward, two for the SGD update, about a dozen for softmax with its
loss and six for its gradient; these take one each (softmax: one kernel plus the zeroing of
the loss). Kernels are compiled by NVRTC at their first call and cached on disk by CuPy.

Each function has the signature of its reference (see :func:`nnxp.kernels.dispatch.fusable`) and
returns NotImplemented for what it does not handle (dtypes other than float32/float64, a
layout a raw kernel cannot index). Values match the reference to rounding: sums in the
softmax run in double; a label out of range wraps around as CuPy's indexing does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import cupy
import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
           np.dtype(np.int32): "int", np.dtype(np.int64): "long long"}
_BLOCK = 256
_NO_CONTRACTION = ("--fmad=false",)
"""Multiply and add rounded apart, as the reference's separate kernels round them."""


@functools.cache
def _relu() -> Any:
    return cupy.ElementwiseKernel(
        "T x", "T y, bool m", "m = x <= (T)0; y = m ? (T)0 : x", "nnxp_relu_and_mask"
    )


@functools.cache
def _zero_where() -> Any:
    return cupy.ElementwiseKernel(
        "bool m, T x", "T y", "y = m ? (T)0 : x", "nnxp_zero_where"
    )


@functools.cache
def _subtract_scaled() -> Any:
    return cupy.ElementwiseKernel(
        "T g, T lr", "T p", "p -= lr * g", "nnxp_subtract_scaled", options=_NO_CONTRACTION
    )


@functools.cache
def _softmax_grad() -> Any:
    return cupy.ElementwiseKernel(
        "raw T y, raw I t, int64 c, T n", "T dx",
        "long long row = i / c; T v = y[i]; dx = ((i % c) == (long long)t[row] ? v - (T)1 : v) / n",
        "nnxp_softmax_cross_entropy_grad",
    )


_SOFTMAX_SOURCE = r"""
extern "C" __global__ void nnxp_softmax_cross_entropy(
        const F* x, const I* t, F* y, F* loss, long long n, long long c) {
    __shared__ double part[BLOCK];
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double row_loss = 0.0;
    if (row < n) {
        const F* xr = x + row * c;
        F* yr = y + row * c;
        F top = xr[0];
        for (long long j = 1; j < c; ++j) top = xr[j] > top ? xr[j] : top;
        double total = 0.0;
        for (long long j = 0; j < c; ++j) {
            F e = exp(xr[j] - top);
            yr[j] = e;
            total += (double)e;
        }
        for (long long j = 0; j < c; ++j) yr[j] = (F)((double)yr[j] / total);
        long long label = (long long)t[row] % c;
        if (label < 0) label += c;
        row_loss = log(total) - (double)(xr[label] - top);
    }
    part[threadIdx.x] = row_loss;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(loss, (F)(part[0] / (double)n));
}
"""


@functools.cache
def _softmax(float_type: str, int_type: str) -> Any:
    source = f"#define F {float_type}\n#define I {int_type}\n#define BLOCK {_BLOCK}\n"
    return cupy.RawKernel(source + _SOFTMAX_SOURCE, "nnxp_softmax_cross_entropy")


def _is_float_array(x: Any) -> bool:
    return type(x) is cupy.ndarray and x.dtype in _FLOATS


def relu_and_mask(x: Any) -> Any:
    """(max(x, 0), x <= 0) in one kernel."""
    if not _is_float_array(x):
        return NotImplemented
    return _relu()(x)


def zero_where(mask: Any, x: Any) -> Any:
    """where(mask, 0, x) in one kernel."""
    if not _is_float_array(x) or type(mask) is not cupy.ndarray or mask.dtype != np.bool_:
        return NotImplemented
    return _zero_where()(mask, x)


def subtract_scaled(p: Any, g: Any, lr: float) -> Any:
    """p -= lr * g in one kernel, into p (the caller owns p); returns p."""
    if (
        not _is_float_array(p) or type(g) is not cupy.ndarray or g.dtype != p.dtype
        or g.shape != p.shape or not isinstance(lr, int | float)
    ):
        return NotImplemented
    _subtract_scaled()(g, p.dtype.type(lr), p)
    return p


def softmax_and_cross_entropy(x: Any, t: Any) -> Any:
    """(softmax(x), mean cross-entropy) for a batch of scores and integer labels: one kernel,
    a thread per row, the rows' losses summed in each block and added to a zeroed scalar."""
    if (
        not _is_float_array(x) or type(t) is not cupy.ndarray or x.ndim != 2 or t.ndim != 1
        or t.dtype not in _CTYPES or t.dtype.kind != "i" or t.shape[0] != x.shape[0]
        or x.shape[0] == 0 or x.shape[1] == 0 or not x.flags.c_contiguous
        or not t.flags.c_contiguous
    ):
        return NotImplemented
    n, c = x.shape
    y = cupy.empty_like(x)
    loss = cupy.zeros((), dtype=x.dtype)
    kernel = _softmax(_CTYPES[x.dtype], _CTYPES[t.dtype])
    kernel(((n + _BLOCK - 1) // _BLOCK,), (_BLOCK,), (x, t, y, loss, np.int64(n), np.int64(c)))
    return y, loss


def softmax_cross_entropy_grad(y: Any, t: Any) -> Any:
    """(y - one_hot(t)) / N in one kernel (a label out of range subtracts nothing, as the
    reference's one-hot row of zeros)."""
    if (
        not _is_float_array(y) or type(t) is not cupy.ndarray or y.ndim != 2 or t.ndim != 1
        or t.dtype.kind not in "iu" or t.shape[0] != y.shape[0] or not y.flags.c_contiguous
        or not t.flags.c_contiguous
    ):
        return NotImplemented
    dx = cupy.empty_like(y)
    _softmax_grad()(y, t, np.int64(y.shape[1]), y.dtype.type(y.shape[0]), dx)
    return dx


def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels by the name of the reference function each replaces."""
    return {
        "relu_and_mask": relu_and_mask,
        "zero_where": zero_where,
        "subtract_scaled": subtract_scaled,
        "softmax_and_cross_entropy": softmax_and_cross_entropy,
        "softmax_cross_entropy_grad": softmax_cross_entropy_grad,
    }
