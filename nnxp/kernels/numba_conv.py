"""Convolution and pooling for NumPy arrays: channels last, im2col a slice at a time.

The reference (:mod:`nnxp.conv`) builds the whole im2col matrix of a batch (45 MB for one
layer of the book's DeepConvNet), adds col2im's gradient back one filter cell at a time and
permutes between the book's (N, C, H, W) and the products' rows. Here:

- Images live channels-last in memory, (N, H, W, C), and are handed between layers as
  (N, C, H, W) views of that memory (as PyTorch's channels_last): the rows (n, y, x) of a
  product are then the image itself, and no permute copies anything.
- im2col runs a slice of rows at a time into a buffer of about a megabyte that stays in the
  cache while the matrix product reads it; the forward product, the filters' gradient (which
  builds the slices again rather than keeping 45 MB) and the data's gradient each do so.
- For stride 1 the data's gradient is the convolution of the padded upstream gradient with
  the flipped, transposed filters: one more im2col and product, no col2im scatter. Where
  that product would be narrow (fewer channels than filters) or the stride is not 1, the
  book's col2im instead, a slice at a time, each row's runs added back contiguously.
- Max pooling and its backward are single loops over the channels-last images.
- Large arrays come from :mod:`nnxp.kernels.host_pool`, which hands a dropped one out again
  instead of faulting fresh memory in.

The compiled loops (:mod:`nnxp.kernels.numba_conv_loops`) are imported at the first call, so
this module costs nothing to nets without convolutions. Each function takes its reference's
arguments and returns its values (to the rounding of a differently ordered sum), or
NotImplemented for what it does not handle: dtypes other than float32/float64 (conv_forward
takes float16 too, computing in float32 and rounding once), mixed dtypes,
gradients whose shapes do not fit the images (the loops index unchecked), and NumPy without
Numba.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from nnxp.conv import conv_output_size
from nnxp.kernels import host_pool

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
CHUNK_BYTES = 1 << 20
"""The im2col buffer's size: rows enough to fill it (one at least) go through each product."""
KEEP_BYTES = 32 << 20
"""The largest one-channel im2col matrix the forward pass keeps for the filters' gradient
(building it again costs as much as the product with it)."""


@functools.cache
def _loops() -> ModuleType | None:
    """The compiled loops, or None without Numba. Numba's elementwise loops come too: a net
    with convolutions has paid for Numba, and its large ReLUs then take them (see
    :data:`nnxp.kernels.numpy.COMPILED_MIN`)."""
    try:
        from nnxp.kernels import numba_conv_loops, numba_fused  # noqa: F401
    except ImportError:
        return None
    return numba_conv_loops


def _floats(*arrays: Any) -> bool:
    """All NumPy arrays of one float dtype."""
    dtype = arrays[0].dtype if type(arrays[0]) is np.ndarray else None
    return dtype in _FLOATS and all(type(a) is np.ndarray and a.dtype == dtype for a in arrays)


def _halves(*arrays: Any) -> bool:
    """All NumPy arrays of float16."""
    return all(type(a) is np.ndarray and a.dtype == np.float16 for a in arrays)


def _half_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, pad: int) -> Any:
    """conv_forward of float16 arrays: the product in float32, rounded to float16 once.

    NumPy's own float16 product sums in float32 and rounds once too, but without BLAS (a
    hundred times slower); GPUs' half-precision products also sum in float32. The reference
    rounds once more, after adding the bias, so results differ from it by about an ulp.
    col is None: a backward pass (float16 nets are for inference) builds im2col again.
    """
    single = np.float32
    out = conv_forward(x.astype(single), W.astype(single), b.astype(single), stride, pad)
    if out is NotImplemented:
        return out
    return out[0].astype(np.float16), None


def _channels_last(x: Any, pad: int = 0) -> np.ndarray:
    """x (N, C, H, W) as a C-contiguous (N, H + 2 pad, W + 2 pad, C) array: a view when x
    is already channels-last in memory and unpadded, else one copy."""
    nhwc = x.transpose(0, 2, 3, 1)
    return _pad_hw(nhwc, pad, pad) if pad else np.ascontiguousarray(nhwc)


def _slices(rows: int, width: int, itemsize: int) -> tuple[int, list[tuple[int, int]]]:
    """(most rows in a slice, [(r0, r1), ...]): rows cut into slices of CHUNK_BYTES of
    ``width`` numbers each (one row at least)."""
    step = max(1, CHUNK_BYTES // (width * itemsize))
    return min(step, rows), [(r0, min(r0 + step, rows)) for r0 in range(0, rows, step)]


def _convolve(
    loops: ModuleType, padded: np.ndarray, weights: np.ndarray, fh: int, fw: int,
    stride: int, oh: int, ow: int, bias: np.ndarray | None = None, keep: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(rows, col): the rows (N * oh * ow, F) of the convolution of padded (N, Hp, Wp, C)
    with weights (fh * fw * C, F), plus bias (F,) if given, im2col a slice of rows at a time;
    with ``keep``, im2col whole in one slice and col is it, else None.

    The bias rides in the product: each im2col row ends with a 1 and the weights with the
    bias row, which costs one column of the product instead of a pass over the output.
    """
    rows, k = padded.shape[0] * oh * ow, weights.shape[0]
    if bias is not None:
        weights = np.concatenate([weights, bias[None, :]])
    width = weights.shape[0]
    out = host_pool.empty((rows, weights.shape[1]), padded.dtype)
    most, slices = (rows, [(0, rows)]) if keep else _slices(rows, width, padded.itemsize)
    buf = host_pool.empty((most, width), padded.dtype)
    buf[:, k:] = 1
    for r0, r1 in slices:
        loops.im2col_rows(padded, r0, r1, fh, fw, stride, oh, ow, buf)
        np.matmul(buf[: r1 - r0], weights, out=out[r0:r1])
    return out, buf[:, :k] if keep else None


def conv_forward(x: Any, W: Any, b: Any, stride: int, pad: int) -> Any:
    """(out, col): out (N, FN, OH, OW) a view of channels-last memory. col is the im2col
    matrix when x has one channel and it is at most KEEP_BYTES (its columns (fy, fx) are
    then the reference's (c, fy, fx)), else None: the backward pass builds it again."""
    loops = _loops()
    if loops is not None and _halves(x, W, b):
        return _half_forward(x, W, b, stride, pad)
    if loops is None or not _floats(x, W, b) or x.ndim != 4 or W.ndim != 4 or b.ndim != 1:
        return NotImplemented
    fn, c, fh, fw = W.shape
    n, xc, h, w = x.shape
    if xc != c or b.shape[0] != fn:
        return NotImplemented
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    keep = c == 1 and n * oh * ow * fh * fw * x.itemsize <= KEEP_BYTES
    weights = np.ascontiguousarray(W.transpose(2, 3, 1, 0)).reshape(fh * fw * c, fn)
    out, col = _convolve(loops, _channels_last(x, pad), weights, fh, fw, stride, oh, ow, b,
                         keep)
    return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2), col


def conv_backward(
    dout: Any, x: Any, col: Any, W: Any, stride: int, pad: int, need_dx: bool
) -> Any:
    """(dx, dW, db): dW from col when x has one channel (the reference's matrix, or the one
    conv_forward kept), else from im2col slices of x again; dx as a convolution with the
    flipped filters (stride 1, at least as many channels as filters) or by col2im."""
    loops = _loops()
    if loops is None or not _floats(dout, x, W) or dout.ndim != 4 or x.ndim != 4:
        return NotImplemented
    fn, c, fh, fw = W.shape
    n, xc, h, w = x.shape
    if xc != c or h + 2 * pad < fh or w + 2 * pad < fw:
        return NotImplemented
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    if dout.shape != (n, fn, oh, ow):  # the loops index by these shapes, unchecked
        return NotImplemented
    dh = _channels_last(dout)
    rows = dh.reshape(-1, fn)
    db = np.ones(rows.shape[0], dtype=rows.dtype) @ rows  # a product: 20x np.sum's speed here
    k = fh * fw * c
    if c == 1 and type(col) is np.ndarray and col.shape == (rows.shape[0], k):
        dWk = rows.T @ col
    else:
        dWk = _filter_gradient(loops, rows, _channels_last(x, pad), fh, fw, stride, oh, ow)
    dW = np.ascontiguousarray(dWk.reshape(fn, fh, fw, c).transpose(0, 3, 1, 2))
    if not need_dx:
        return None, dW, db
    if stride == 1 and pad < min(fh, fw) and c >= fn:
        return _flipped_convolution(loops, dh, W, h, w, pad), dW, db
    return _col2im_gradient(loops, rows, W, n, h, w, stride, pad, oh, ow), dW, db


def _flipped_convolution(
    loops: ModuleType, dh: np.ndarray, W: np.ndarray, h: int, w: int, pad: int
) -> np.ndarray:
    """dx for stride 1: the convolution of dh (N, OH, OW, FN), padded by the filter's size
    less 1 less pad, with the flipped filters, channels in and out exchanged."""
    fn, c, fh, fw = W.shape
    flipped = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1))
    grown = _pad_hw(dh, fh - 1 - pad, fw - 1 - pad) if fh - 1 - pad or fw - 1 - pad else dh
    dx, _ = _convolve(loops, grown, flipped.reshape(fh * fw * fn, c), fh, fw, 1, h, w)
    return dx.reshape(dh.shape[0], h, w, c).transpose(0, 3, 1, 2)


def _col2im_gradient(
    loops: ModuleType, rows: np.ndarray, W: np.ndarray, n: int, h: int, w: int, stride: int,
    pad: int, oh: int, ow: int,
) -> np.ndarray:
    """dx by the book's way, a slice at a time: the rows' product with the filters, added
    back onto the padded image by col2im. Cheaper than the flipped convolution when the
    layer has fewer input channels than filters (the product's output is narrow) or a stride."""
    fn, c, fh, fw = W.shape
    weights = np.ascontiguousarray(W.transpose(0, 2, 3, 1)).reshape(fn, fh * fw * c)
    k = weights.shape[1]
    padded = host_pool.zeros((n, h + 2 * pad, w + 2 * pad, c), rows.dtype)
    most, slices = _slices(rows.shape[0], k, rows.itemsize)
    buf = host_pool.empty((most, k), rows.dtype)
    for r0, r1 in slices:
        np.matmul(rows[r0:r1], weights, out=buf[: r1 - r0])
        loops.col2im_rows(buf, r0, r1, fh, fw, stride, oh, ow, padded)
    if pad:
        padded = np.ascontiguousarray(padded[:, pad : pad + h, pad : pad + w])
    return padded.transpose(0, 3, 1, 2)


def _filter_gradient(
    loops: ModuleType, rows: np.ndarray, padded: np.ndarray, fh: int, fw: int, stride: int,
    oh: int, ow: int,
) -> np.ndarray:
    """rows.T @ im2col(padded), (F, fh * fw * C), a slice of im2col rows at a time."""
    k = fh * fw * padded.shape[3]
    most, slices = _slices(rows.shape[0], k, padded.itemsize)
    buf = host_pool.empty((most, k), padded.dtype)
    part = np.empty((rows.shape[1], k), dtype=padded.dtype)
    total = np.zeros((rows.shape[1], k), dtype=padded.dtype)
    for r0, r1 in slices:
        loops.im2col_rows(padded, r0, r1, fh, fw, stride, oh, ow, buf)
        np.matmul(rows[r0:r1].T, buf[: r1 - r0], out=part)
        total += part
    return total


def _pad_hw(nhwc: np.ndarray, pad_h: int, pad_w: int) -> np.ndarray:
    """nhwc (N, H, W, C) with pad_h zero rows above and below and pad_w columns each side."""
    n, h, w, c = nhwc.shape
    padded = host_pool.zeros((n, h + 2 * pad_h, w + 2 * pad_w, c), nhwc.dtype)
    padded[:, pad_h : pad_h + h, pad_w : pad_w + w] = nhwc
    return padded


def max_pool(x: Any, pool_h: int, pool_w: int, stride: int, pad: int) -> Any:
    """(out, arg_max), both (N, C, OH, OW) views of channels-last memory."""
    loops = _loops()
    if loops is None or not _floats(x) or x.ndim != 4:
        return NotImplemented
    n, c, h, w = x.shape
    oh = conv_output_size(h, pool_h, stride, pad)
    ow = conv_output_size(w, pool_w, stride, pad)
    out = host_pool.empty((n, oh, ow, c), x.dtype)
    arg = host_pool.empty((n, oh, ow, c), np.int64)  # int8 measured twice as slow here
    loops.max_pool_nhwc(_channels_last(x, pad), pool_h, pool_w, stride, out, arg)
    return out.transpose(0, 3, 1, 2), arg.transpose(0, 3, 1, 2)


def max_pool_backward(
    dout: Any, arg_max: Any, x_shape: tuple[int, int, int, int], pool_h: int, pool_w: int,
    stride: int, pad: int,
) -> Any:
    """The pooled gradient routed back, (N, C, H, W) a view of channels-last memory."""
    loops = _loops()
    if (
        loops is None or not _floats(dout) or type(arg_max) is not np.ndarray
        or arg_max.dtype.kind not in "iu" or arg_max.shape != dout.shape or dout.ndim != 4
        or len(x_shape) != 4
    ):
        return NotImplemented
    n, c, h, w = (int(v) for v in x_shape)
    if h + 2 * pad < pool_h or w + 2 * pad < pool_w:
        return NotImplemented
    oh = conv_output_size(h, pool_h, stride, pad)
    ow = conv_output_size(w, pool_w, stride, pad)
    if dout.shape != (n, c, oh, ow):  # the loop writes by these shapes, unchecked
        return NotImplemented
    shape = (n, h + 2 * pad, w + 2 * pad, c)
    tiled = stride == pool_h == pool_w and oh * stride == shape[1] and ow * stride == shape[2]
    dimg = host_pool.empty(shape, dout.dtype) if tiled else host_pool.zeros(shape, dout.dtype)
    loops.max_pool_backward_nhwc(_channels_last(dout), _channels_last(arg_max), pool_h, pool_w,
                                 stride, dimg, tiled)
    if pad:
        dimg = np.ascontiguousarray(dimg[:, pad : pad + h, pad : pad + w])
    return dimg.transpose(0, 3, 1, 2)


def kernels() -> dict[str, Callable[..., Any]]:
    """The kernels by the name of the reference function each replaces."""
    return {
        "conv_forward": conv_forward,
        "conv_backward": conv_backward,
        "max_pool": max_pool,
        "max_pool_backward": max_pool_backward,
    }
