"""CUDA kernels for CuPy arrays: each fusable function in as few kernel launches as it can.

On a GPU the book's small net is bound by launches, not arithmetic: each CuPy operation is at
least one kernel of a few microseconds, whatever its size. The references take two launches
for ReLU, two for its backward, two for the SGD update, about a dozen for softmax with its
loss and six for its gradient; these take one each (softmax: one kernel plus the zeroing of
the loss). The conv layers' four functions gather im2col and col2im with one kernel each
(one thread per element read back, no atomics), leave the products to cuBLAS through ``@``,
and pool in one kernel each way.

Every kernel's source is in :mod:`nnxp.kernels.cuda_source` (tests compile each with nvcc,
no GPU needed); NVRTC compiles a kernel at its first call, through ``cupy.RawKernel``, and
CuPy caches it on disk. A kernel that fails to compile, load or launch the first time
prints one warning line and its functions return NotImplemented from then on, so the
Array API reference runs (see :class:`nnxp.kernels.cuda_launch.CudaKernels`).

Each function has the signature of its reference (see :func:`nnxp.kernels.dispatch.fusable`) and
returns NotImplemented for what it does not handle: dtypes other than float32/float64, mixed
dtypes, labels of an unexpected type or layout. Inputs of any strides are made C-contiguous
first (a copy only when they are not). Values match the reference to rounding: sums in the
softmax run in double; a label out of range wraps around as CuPy's indexing does in the loss
and subtracts nothing in its gradient; im2col, col2im and pooling give the reference's values
exactly (the sums of col2im and of the pooling gradient run in the reference's order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cupy
import numpy as np

from nnxp.conv import conv_output_size
from nnxp.kernels.cuda_launch import CudaKernels
from nnxp.kernels.cuda_source import SOFTMAX_BLOCK

_FLOATS = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_LABELS = {np.dtype(np.int32): "int", np.dtype(np.int64): "long long"}
_INTS = {np.dtype(t): c for t, c in (
    (np.int8, "signed char"), (np.int16, "short"), (np.int32, "int"), (np.int64, "long long"),
    (np.uint8, "unsigned char"), (np.uint16, "unsigned short"), (np.uint32, "unsigned int"),
    (np.uint64, "unsigned long long"))}
_BLOCK = 256
_MAX_GRID = 8192
"""Blocks of a grid-stride kernel at most: enough to fill any GPU, each thread loops on."""


def _compile(code: str, name: str, options: tuple[str, ...]) -> Any:
    """A RawKernel, compiled and loaded now, so that a failure shows at its first launch."""
    kernel = cupy.RawKernel(code, name, options=options)
    kernel.compile()
    return kernel


_CUDA = CudaKernels(_compile)


def _launch(name: str, float_type: str, int_type: str | None, n: int, args: tuple[Any, ...]
            ) -> bool:
    """A grid-stride kernel over n elements; False if the kernel is unavailable."""
    if n == 0:
        return True
    grid = min((n + _BLOCK - 1) // _BLOCK, _MAX_GRID)
    return _CUDA.launch(name, float_type, int_type, (grid,), (_BLOCK,), args)


def _float_type(*arrays: Any) -> str | None:
    """The C type of arrays that are all CuPy arrays of one float dtype, else None."""
    first = arrays[0]
    if type(first) is not cupy.ndarray:
        return None
    ctype = _FLOATS.get(first.dtype)
    if ctype is None or any(type(a) is not cupy.ndarray or a.dtype != first.dtype
                            for a in arrays[1:]):
        return None
    return ctype


def _sizes(*values: int) -> tuple[np.int64, ...]:
    """Python ints as the kernels' long long arguments."""
    return tuple(np.int64(v) for v in values)


def relu_and_mask(x: Any) -> Any:
    """(max(x, 0), x <= 0) in one kernel."""
    ctype = _float_type(x)
    if ctype is None:
        return NotImplemented
    x = cupy.ascontiguousarray(x)
    y = cupy.empty_like(x)
    mask = cupy.empty(x.shape, dtype=np.bool_)
    if not _launch("relu_and_mask", ctype, None, x.size, (x, y, mask, *_sizes(x.size))):
        return NotImplemented
    return y, mask


def zero_where(mask: Any, x: Any) -> Any:
    """where(mask, 0, x) in one kernel."""
    ctype = _float_type(x)
    if (ctype is None or type(mask) is not cupy.ndarray or mask.dtype != np.bool_
            or mask.shape != x.shape):
        return NotImplemented
    mask, x = cupy.ascontiguousarray(mask), cupy.ascontiguousarray(x)
    y = cupy.empty_like(x)
    if not _launch("zero_where", ctype, None, x.size, (mask, x, y, *_sizes(x.size))):
        return NotImplemented
    return y


def subtract_scaled(p: Any, g: Any, lr: float) -> Any:
    """p -= lr * g in one kernel, into p (the caller owns p); returns p."""
    ctype = _float_type(p, g)
    if (ctype is None or g.shape != p.shape or not p.flags.c_contiguous
            or not isinstance(lr, int | float)):
        return NotImplemented
    g = cupy.ascontiguousarray(g)
    args = (p, g, p.dtype.type(lr), *_sizes(p.size))
    if not _launch("subtract_scaled", ctype, None, p.size, args):
        return NotImplemented
    return p


def softmax_and_cross_entropy(x: Any, t: Any) -> Any:
    """(softmax(x), mean cross-entropy) for a batch of scores and integer labels: one kernel,
    a thread per row, the rows' losses summed in each block and added to a zeroed scalar."""
    ctype = _float_type(x)
    if (
        ctype is None or type(t) is not cupy.ndarray or x.ndim != 2 or t.ndim != 1
        or t.dtype not in _LABELS or t.shape[0] != x.shape[0]
        or x.shape[0] == 0 or x.shape[1] == 0 or not x.flags.c_contiguous
        or not t.flags.c_contiguous
    ):
        return NotImplemented
    n, c = x.shape
    y = cupy.empty_like(x)
    loss = cupy.zeros((), dtype=x.dtype)
    grid = ((n + SOFTMAX_BLOCK - 1) // SOFTMAX_BLOCK,)
    if not _CUDA.launch("softmax_cross_entropy", ctype, _LABELS[t.dtype], grid,
                        (SOFTMAX_BLOCK,), (x, t, y, loss, *_sizes(n, c))):
        return NotImplemented
    return y, loss


def softmax_cross_entropy_grad(y: Any, t: Any) -> Any:
    """(y - one_hot(t)) / N in one kernel (a label out of range subtracts nothing, as the
    reference's one-hot row of zeros)."""
    ctype = _float_type(y)
    if (
        ctype is None or type(t) is not cupy.ndarray or y.ndim != 2 or t.ndim != 1
        or t.dtype not in _INTS or t.shape[0] != y.shape[0] or not y.flags.c_contiguous
        or not t.flags.c_contiguous
    ):
        return NotImplemented
    dx = cupy.empty_like(y)
    args = (y, t, dx, np.int64(y.shape[1]), y.dtype.type(y.shape[0]), *_sizes(y.size))
    if not _launch("softmax_cross_entropy_grad", ctype, _INTS[t.dtype], y.size, args):
        return NotImplemented
    return dx


def _im2col(x: Any, ctype: str, fh: int, fw: int, stride: int, pad: int) -> Any:
    """The im2col matrix of x (as :func:`nnxp.conv.im2col`) by one gather kernel, or None."""
    x = cupy.ascontiguousarray(x)
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    col = cupy.empty((n * oh * ow, c * fh * fw), dtype=x.dtype)
    args = (x, col, *_sizes(col.size, c, h, w, fh, fw, oh, ow, stride, pad))
    return col if _launch("im2col", ctype, None, col.size, args) else None


def conv_forward(x: Any, W: Any, b: Any, stride: int, pad: int) -> Any:
    """(out, col) as :func:`nnxp.conv.conv_forward`: im2col by a kernel, the product by cuBLAS."""
    ctype = _float_type(x, W, b)
    if (ctype is None or x.ndim != 4 or W.ndim != 4 or b.shape != (W.shape[0],)
            or x.shape[1] != W.shape[1]):
        return NotImplemented
    fn, _, fh, fw = W.shape
    n, _, h, w = x.shape
    stride, pad = int(stride), int(pad)
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    col = _im2col(x, ctype, fh, fw, stride, pad)
    if col is None:
        return NotImplemented
    out = col @ W.reshape(fn, -1).T + b
    return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2), col


def conv_backward(dout: Any, x: Any, col: Any, W: Any, stride: int, pad: int,
                  need_dx: bool) -> Any:
    """(dx, dW, db) as :func:`nnxp.conv.conv_backward`: products by cuBLAS, the data's
    gradient gathered by one kernel (a thread per pixel adds the windows covering it)."""
    ctype = _float_type(dout, x, W)
    if ctype is None or x.ndim != 4 or W.ndim != 4 or x.shape[1] != W.shape[1]:
        return NotImplemented
    fn, c, fh, fw = W.shape
    n, _, h, w = x.shape
    stride, pad = int(stride), int(pad)
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    if dout.shape != (n, fn, oh, ow):
        return NotImplemented
    if col is None:
        col = _im2col(x, ctype, fh, fw, stride, pad)
        if col is None:
            return NotImplemented
    elif _float_type(col, x) is None or col.shape != (n * oh * ow, c * fh * fw):
        return NotImplemented
    db = dout.sum(axis=(0, 2, 3))
    rows = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
    dW = (rows.T @ col).reshape(fn, c, fh, fw)
    if not need_dx:
        return None, dW, db
    dcol = cupy.ascontiguousarray(rows @ W.reshape(fn, -1))
    dx = cupy.empty((n, c, h, w), dtype=x.dtype)
    args = (dcol, dx, *_sizes(dx.size, c, h, w, fh, fw, oh, ow, stride, pad))
    if not _launch("col2im", ctype, None, dx.size, args):
        return NotImplemented
    return dx, dW, db


def max_pool(x: Any, pool_h: int, pool_w: int, stride: int, pad: int) -> Any:
    """(out, arg_max) as :func:`nnxp.conv.max_pool`, a thread per output element: the first
    cell holding the maximum wins; NaN wins the maximum and keeps the index found before it."""
    ctype = _float_type(x)
    if ctype is None or x.ndim != 4:
        return NotImplemented
    x = cupy.ascontiguousarray(x)
    n, c, h, w = x.shape
    stride, pad = int(stride), int(pad)
    oh, ow = conv_output_size(h, pool_h, stride, pad), conv_output_size(w, pool_w, stride, pad)
    out = cupy.empty((n, c, oh, ow), dtype=x.dtype)
    arg_max = cupy.empty((n, c, oh, ow), dtype=np.int64)
    args = (x, out, arg_max, *_sizes(out.size, h, w, pool_h, pool_w, oh, ow, stride, pad))
    if not _launch("max_pool", ctype, None, out.size, args):
        return NotImplemented
    return out, arg_max


def max_pool_backward(dout: Any, arg_max: Any, x_shape: tuple[int, int, int, int],
                      pool_h: int, pool_w: int, stride: int, pad: int) -> Any:
    """dx as :func:`nnxp.conv.max_pool_backward`, a thread per input pixel adding the
    gradient of each window whose maximum it holds (overlapping windows need no atomics)."""
    ctype = _float_type(dout)
    if (ctype is None or type(arg_max) is not cupy.ndarray or arg_max.dtype != np.int64
            or len(x_shape) != 4):
        return NotImplemented
    n, c, h, w = (int(v) for v in x_shape)
    stride, pad = int(stride), int(pad)
    oh, ow = conv_output_size(h, pool_h, stride, pad), conv_output_size(w, pool_w, stride, pad)
    if dout.shape != (n, c, oh, ow) or arg_max.shape != dout.shape:
        return NotImplemented
    dout, arg_max = cupy.ascontiguousarray(dout), cupy.ascontiguousarray(arg_max)
    dx = cupy.empty((n, c, h, w), dtype=dout.dtype)
    args = (dout, arg_max, dx, *_sizes(dx.size, h, w, pool_h, pool_w, oh, ow, stride, pad))
    if not _launch("max_pool_backward", ctype, None, dx.size, args):
        return NotImplemented
    return dx


def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels by the name of the reference function each replaces."""
    return {
        "relu_and_mask": relu_and_mask,
        "zero_where": zero_where,
        "subtract_scaled": subtract_scaled,
        "softmax_and_cross_entropy": softmax_and_cross_entropy,
        "softmax_cross_entropy_grad": softmax_cross_entropy_grad,
        "conv_forward": conv_forward,
        "conv_backward": conv_backward,
        "max_pool": max_pool,
        "max_pool_backward": max_pool_backward,
    }
