"""Convolution and pooling through im2col, the book's chapter 7, with the Array API only.

im2col gathers every filter window of a batch of images into one row of a 2-D array, so a
convolution is one matrix product; col2im is its adjoint, adding each row back onto the
windows it came from. Both take slices (with a step for the stride) of the padded images:
im2col stacks them, col2im adds them back with array-api-extra's ``at(...).add`` on a buffer
it owns. Nothing here scatters with fancy indices or writes into its inputs.

The layers' work is four functions, each the book's algorithm written once for the Array API:
:func:`conv_forward`, :func:`conv_backward`, :func:`max_pool` and :func:`max_pool_backward`.
Each is :func:`~nnxp.kernels.dispatch.fusable`: a backend may run a faster kernel with the
same results in their place (for NumPy, compiled loops that never build the whole im2col
matrix and keep the channels last in memory; for CuPy, CUDA kernels), which tests hold to
these definitions. The layers call them and never know which ran.
"""

from __future__ import annotations

from typing import Any

import array_api_extra as xpx

from nnxp.backends import array_namespace, device
from nnxp.errors import NnxpError
from nnxp.kernels.dispatch import fusable
from nnxp.layers import require_forward


def conv_output_size(size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Positions a filter of filter_size takes along an axis of size, as the book's out_h."""
    if stride < 1 or pad < 0 or size + 2 * pad < filter_size:
        raise NnxpError(
            f"a filter of {filter_size} with stride {stride} and pad {pad} does not fit an "
            f"input of {size}: use a smaller filter or more padding"
        )
    return (size + 2 * pad - filter_size) // stride + 1


def _pad(x: Any, pad: int) -> Any:
    """x (N, C, H, W) with pad zeros around H and W."""
    if pad == 0:
        return x
    return xpx.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _offsets(
    filter_h: int, filter_w: int, stride: int, out_h: int, out_w: int
) -> list[tuple[slice, slice, slice, slice]]:
    """For each filter cell (fy, fx) in C order, the index of the padded-image pixels it
    meets at every output position: a stepped slice per axis, ends clamped to the image."""
    return [
        (
            slice(None),
            slice(None),
            slice(y, y + stride * (out_h - 1) + 1, stride),
            slice(x, x + stride * (out_w - 1) + 1, stride),
        )
        for y in range(filter_h)
        for x in range(filter_w)
    ]


def im2col(
    input_data: Any, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> Any:
    """Images (N, C, H, W) as rows (N*out_h*out_w, C*filter_h*filter_w), one per window.

    Row order is (n, y, x) and column order (c, fy, fx), as the book's im2col.
    """
    xp = array_namespace(input_data)
    N, C, H, W = input_data.shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    img = _pad(input_data, pad)
    pieces = [img[index] for index in _offsets(filter_h, filter_w, stride, out_h, out_w)]
    col = xp.reshape(xp.stack(pieces, axis=2), (N, C, filter_h, filter_w, out_h, out_w))
    col = xp.permute_dims(col, (0, 4, 5, 1, 2, 3))
    return xp.reshape(col, (N * out_h * out_w, C * filter_h * filter_w))


def col2im(
    col: Any,
    input_shape: tuple[int, int, int, int],
    filter_h: int,
    filter_w: int,
    stride: int = 1,
    pad: int = 0,
) -> Any:
    """The adjoint of im2col: rows added back onto the windows of images of input_shape."""
    xp = array_namespace(col)
    N, C, H, W = input_shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    col = xp.reshape(col, (N, out_h, out_w, C, filter_h * filter_w))
    col = xp.permute_dims(col, (0, 3, 4, 1, 2))
    img = xp.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=col.dtype, device=device(col))
    for k, index in enumerate(_offsets(filter_h, filter_w, stride, out_h, out_w)):
        img = xpx.at(img, index).add(col[:, :, k, :, :])
    return img[:, :, pad : H + pad, pad : W + pad]


@fusable
def conv_forward(x: Any, W: Any, b: Any, stride: int, pad: int) -> tuple[Any, Any]:
    """(out, col): filters W (FN, C, FH, FW) and biases b slid over images x (N, C, H, W).

    The book's way: one im2col matrix, one product with the filters as columns, the bias
    added, rows (n, y, x) read back as images (N, FN, out_h, out_w). col is the im2col
    matrix, kept for the backward pass; a kernel that does not build it returns None.
    """
    xp = array_namespace(x)
    FN, _, FH, FW = W.shape
    N, _, H, W_ = x.shape
    out_h = conv_output_size(H, FH, stride, pad)
    out_w = conv_output_size(W_, FW, stride, pad)
    col = im2col(x, FH, FW, stride, pad)
    out = col @ xp.reshape(W, (FN, -1)).T + b
    return xp.permute_dims(xp.reshape(out, (N, out_h, out_w, FN)), (0, 3, 1, 2)), col


@fusable
def conv_backward(
    dout: Any, x: Any, col: Any, W: Any, stride: int, pad: int, need_dx: bool
) -> tuple[Any, Any, Any]:
    """(dx, dW, db) of :func:`conv_forward` for the upstream gradient dout (N, FN, OH, OW).

    col is what conv_forward returned (None: im2col of x again). dx is None unless need_dx:
    a net's first layer needs no gradient of its data, which saves the col2im.
    """
    xp = array_namespace(dout)
    FN, C, FH, FW = W.shape
    if col is None:
        col = im2col(x, FH, FW, stride, pad)
    db = xp.sum(dout, axis=(0, 2, 3))
    rows = xp.reshape(xp.permute_dims(dout, (0, 2, 3, 1)), (-1, FN))
    dW = xp.reshape(rows.T @ col, (FN, C, FH, FW))
    if not need_dx:
        return None, dW, db
    dcol = rows @ xp.reshape(W, (FN, -1))
    return col2im(dcol, tuple(x.shape), FH, FW, stride, pad), dW, db


class Convolution:
    """Filters W (FN, C, FH, FW) and biases b (FN,) slid over images (N, C, H, W).

    ``col`` is the im2col matrix of the last forward, or None when a kernel did without it.
    """

    def __init__(self, W: Any, b: Any, stride: int = 1, pad: int = 0) -> None:
        self.W = W
        self.b = b
        self.stride = int(stride)
        self.pad = int(pad)
        self.x = None
        self.col = None
        self.dW = None
        self.db = None

    def forward(self, x: Any) -> Any:
        out, self.col = conv_forward(x, self.W, self.b, self.stride, self.pad)
        self.x = x
        return out

    def backward(self, dout: Any) -> Any:
        """dx; dW and db as attributes, in W's and b's shapes."""
        return self._backward(dout, True)

    def backward_params(self, dout: Any) -> None:
        """dW and db alone: all a net's first layer needs (no one asks for the data's
        gradient), which saves the col2im of dx."""
        self._backward(dout, False)

    def _backward(self, dout: Any, need_dx: bool) -> Any:
        require_forward(self, self.x)
        dx, self.dW, self.db = conv_backward(dout, self.x, self.col, self.W, self.stride,
                                             self.pad, need_dx)
        return dx


def _pool_offsets(
    H: int, W: int, pool_h: int, pool_w: int, stride: int, pad: int
) -> list[tuple[slice, slice, slice, slice]]:
    out_h = conv_output_size(H, pool_h, stride, pad)
    out_w = conv_output_size(W, pool_w, stride, pad)
    return _offsets(pool_h, pool_w, stride, out_h, out_w)


@fusable
def max_pool(x: Any, pool_h: int, pool_w: int, stride: int, pad: int) -> tuple[Any, Any]:
    """(out, arg_max): the maximum of each pool_h x pool_w window of each channel of x, and
    the index (fy * pool_w + fx) of the first cell that holds it.

    The book takes the im2col rows of each window and their argmax; this visits the same
    windows one filter cell at a time instead (pool_h * pool_w slices of the whole batch,
    as im2col does), keeping the running maximum and the first cell that holds it, which is
    the book's argmax without the transposed copy. Padding adds zeros, as the book's im2col.
    """
    xp = array_namespace(x)
    N, C, H, W = x.shape
    img = _pad(x, pad)
    offsets = _pool_offsets(H, W, pool_h, pool_w, stride, pad)
    out = img[offsets[0]]
    arg_max = xp.zeros(tuple(out.shape), dtype=xp.int64, device=device(x))
    for k, index in enumerate(offsets[1:], 1):
        window = img[index]
        bigger = window > out
        arg_max = xp.where(bigger, k, arg_max)
        out = xp.maximum(out, window)
    return out, arg_max


@fusable
def max_pool_backward(
    dout: Any, arg_max: Any, x_shape: tuple[int, int, int, int], pool_h: int, pool_w: int,
    stride: int, pad: int,
) -> Any:
    """The gradient of :func:`max_pool` for images of x_shape: each window's gradient goes
    to its maximum (the first one, on ties), added where windows overlap."""
    xp = array_namespace(dout)
    N, C, H, W = x_shape
    dimg = xp.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype, device=device(dout))
    for k, index in enumerate(_pool_offsets(H, W, pool_h, pool_w, stride, pad)):
        dimg = xpx.at(dimg, index).add(xp.where(arg_max == k, dout, 0.0))
    return dimg[:, :, pad : H + pad, pad : W + pad]


class Pooling:
    """Max pooling over pool_h x pool_w windows of each channel (see :func:`max_pool`)."""

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        self.pool_h = int(pool_h)
        self.pool_w = int(pool_w)
        self.stride = int(stride)
        self.pad = int(pad)
        self.x_shape: tuple[int, int, int, int] | None = None
        self.arg_max = None

    def forward(self, x: Any) -> Any:
        out, self.arg_max = max_pool(x, self.pool_h, self.pool_w, self.stride, self.pad)
        self.x_shape = tuple(x.shape)
        return out

    def backward(self, dout: Any) -> Any:
        """Each gradient goes to the window's maximum (the first one, on ties)."""
        require_forward(self, self.arg_max)
        return max_pool_backward(dout, self.arg_max, self.x_shape, self.pool_h, self.pool_w,
                                 self.stride, self.pad)
