"""The book's computational-graph layers: forward caches what backward needs.

Each layer works on arrays of any Array API library and never writes into an array it was
handed; backward returns the input gradient and keeps parameter gradients as attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnxp.backends import array_namespace, backend_of, device, host_rng
from nnxp.errors import NnxpError
from nnxp.functions import (
    check_labels,
    sigmoid,
    softmax_and_cross_entropy,
    softmax_cross_entropy_grad,
    tanh,
)
from nnxp.ops import batch_sum, matmul, relu_and_mask, zero_where


def require_forward(layer: Any, cached: Any) -> None:
    """Refuse a backward before any forward (nothing cached to differentiate)."""
    if cached is None:
        raise NnxpError(f"{type(layer).__name__}: backward called before forward; call "
                        "forward first (a net's gradient() does both)")


class MulLayer:
    """out = x * y."""

    def __init__(self) -> None:
        self.x = None
        self.y = None

    def forward(self, x: Any, y: Any) -> Any:
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Gradients for x and y: the upstream gradient times the other input."""
        require_forward(self, self.x)
        return dout * self.y, dout * self.x


class AddLayer:
    """out = x + y."""

    def forward(self, x: Any, y: Any) -> Any:
        return x + y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Addition passes the upstream gradient through to both inputs."""
        return dout * 1, dout * 1


class Relu:
    """max(0, x); backward lets the gradient through where the input was positive."""

    def __init__(self) -> None:
        self.mask = None

    def forward(self, x: Any) -> Any:
        out, self.mask = relu_and_mask(x)
        return out

    def backward(self, dout: Any) -> Any:
        require_forward(self, self.mask)
        return zero_where(self.mask, dout)


class Sigmoid:
    """1 / (1 + exp(-x)); backward is dout * (1 - y) * y."""

    def __init__(self) -> None:
        self.out = None

    def forward(self, x: Any) -> Any:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: Any) -> Any:
        require_forward(self, self.out)
        return dout * (1.0 - self.out) * self.out


class Tanh:
    """tanh(x); backward is dout * (1 - y**2), from the output it keeps."""

    def __init__(self) -> None:
        self.out = None

    def forward(self, x: Any) -> Any:
        self.out = tanh(x)
        return self.out

    def backward(self, dout: Any) -> Any:
        require_forward(self, self.out)
        return dout * (1.0 - self.out * self.out)


class Identity:
    """The identity activation, as a layer (for nets whose hidden layers are linear)."""

    def forward(self, x: Any) -> Any:
        return x

    def backward(self, dout: Any) -> Any:
        return dout


class Affine:
    """out = x @ W + b for a batch x of any shape (N, ...), flattened to (N, d)."""

    def __init__(self, W: Any, b: Any) -> None:
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW = None
        self.db = None

    def forward(self, x: Any) -> Any:
        self.original_x_shape = tuple(x.shape)
        if x.ndim != 2:
            x = array_namespace(x).reshape(x, (x.shape[0], -1))
        self.x = x
        out = matmul(x, self.W)
        out += self.b  # into the new product: one array less than x @ W + b
        return out

    def backward(self, dout: Any) -> Any:
        """dx = dout W^T (in the input's shape); dW = x^T dout; db = sum of dout over the batch."""
        self.backward_params(dout)
        dx = dout @ self.W.T
        if tuple(dx.shape) != self.original_x_shape:
            dx = array_namespace(dx).reshape(dx, self.original_x_shape)
        return dx

    def backward_params(self, dout: Any) -> None:
        """dW and db alone: all a net's first layer needs, since no one asks for the gradient
        of the data (skipping dx saves a third of that layer's multiplications)."""
        require_forward(self, self.x)
        self.dW = self.x.T @ dout
        self.db = batch_sum(dout)


class SoftmaxWithLoss:
    """Softmax followed by cross-entropy; backward is (y - t) / N.

    t may be one-hot rows or integer class labels. The loss is computed from the scores by
    log-softmax (the book's cross_entropy_error without its 1e-7 guard): the same value to
    about 1e-7 relative, never log(0), and exactly the function whose gradient backward gives.
    """

    def __init__(self) -> None:
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x: Any, t: Any) -> Any:
        self.t = t = check_labels(t, tuple(x.shape))
        self.y, self.loss = softmax_and_cross_entropy(x, t)
        return self.loss

    def backward(self, dout: Any = 1) -> Any:
        require_forward(self, self.y)
        dx = softmax_cross_entropy_grad(self.y, self.t)
        return dx if isinstance(dout, int | float) and dout == 1 else dx * dout


class Dropout:
    """Drops each input with probability dropout_ratio in training; scales by the rest after.

    Masks are drawn on the host from a NumPy generator seeded per layer and moved to the
    input's device, so one seed gives the same masks on every backend. ``keep_mask = True``
    reuses the last mask (for checking gradients: the loss must be one function).
    ``batch_share = (start, total)``: the input is rows ``start:`` of a batch of ``total``
    rows split over processes; the mask is drawn for the whole batch and this share taken, so
    the processes of a job drop what one process would.
    """

    train_flg_aware = True

    def __init__(
        self, dropout_ratio: float = 0.5, seed: int | Sequence[int] | None = None
    ) -> None:
        if not 0.0 <= dropout_ratio < 1.0:
            raise NnxpError(f"dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        self.dropout_ratio = float(dropout_ratio)
        self.rng = host_rng(seed)
        self.keep_mask = False
        self.mask = None
        self.batch_share: tuple[int, int] | None = None

    def forward(self, x: Any, train_flg: bool = True) -> Any:
        xp = array_namespace(x)
        if not train_flg:
            return x * (1.0 - self.dropout_ratio)
        if not (self.keep_mask and self.mask is not None and tuple(self.mask.shape) == x.shape):
            shape = tuple(x.shape)
            if self.batch_share is None:
                host = self.rng.random(shape) > self.dropout_ratio
            else:
                start, total = self.batch_share
                whole = self.rng.random((total, *shape[1:])) > self.dropout_ratio
                host = whole[start:start + shape[0], ...]
            self.mask = backend_of(x).asarray(host)
        return xp.where(self.mask, x, 0.0)

    def backward(self, dout: Any) -> Any:
        require_forward(self, self.mask)
        xp = array_namespace(dout)
        return xp.where(self.mask, dout, 0.0)


class BatchNormalization:
    """Normalises each feature over the batch, then scales by gamma and shifts by beta.

    Training uses the batch's mean and variance and updates running averages (weight
    ``momentum`` on the old value); inference uses the running averages. A 4-D input
    (N, C, H, W) is normalised per feature C*H*W, as the book's layer does, so gamma and beta
    have that many entries.

    ``batch_group``: when the batch is split over the processes of a job, an object whose
    ``sum(a)`` adds ``a`` over them and whose ``size`` is their number; the batch's
    statistics (and the sums over the batch in backward) are then the whole batch's, so the
    processes normalise as one process would (synchronised batch norm).
    """

    train_flg_aware = True
    eps = 10e-7
    """The book's guard added to the variance."""

    def __init__(
        self,
        gamma: Any,
        beta: Any,
        momentum: float = 0.9,
        running_mean: Any = None,
        running_var: Any = None,
    ) -> None:
        self.gamma = gamma
        self.beta = beta
        self.momentum = float(momentum)
        self.running_mean = running_mean
        self.running_var = running_var
        self.input_shape: tuple[int, ...] | None = None
        self.batch_size = None
        self.xc = None
        self.xn = None
        self.std = None
        self.dgamma = None
        self.dbeta = None
        self.batch_group: Any = None

    def _batch_sum(self, a: Any) -> Any:
        """The sum of ``a`` over the batch's rows, every process's rows with a batch_group."""
        total = array_namespace(a).sum(a, axis=0)
        return total if self.batch_group is None else self.batch_group.sum(total)

    def _batch_mean(self, a: Any) -> Any:
        """The mean of ``a`` over the batch's rows (the whole batch's with a batch_group)."""
        if self.batch_group is None:
            return array_namespace(a).mean(a, axis=0)
        return self._batch_sum(a) / (a.shape[0] * self.batch_group.size)

    def forward(self, x: Any, train_flg: bool = True) -> Any:
        xp = array_namespace(x)
        self.input_shape = tuple(x.shape)
        if x.ndim != 2:
            x = xp.reshape(x, (x.shape[0], -1))
        return xp.reshape(self._forward(x, train_flg), self.input_shape)

    def _forward(self, x: Any, train_flg: bool) -> Any:
        xp = array_namespace(x)
        if self.running_mean is None:
            features = (x.shape[1],)
            self.running_mean = xp.zeros(features, dtype=x.dtype, device=device(x))
            self.running_var = xp.zeros(features, dtype=x.dtype, device=device(x))
        if train_flg:
            mu = self._batch_mean(x)
            xc = x - mu
            var = self._batch_mean(xc**2)
            std = xp.sqrt(var + self.eps)
            xn = xc / std
            self.batch_size = x.shape[0] * (1 if self.batch_group is None
                                            else self.batch_group.size)
            self.xc, self.xn, self.std = xc, xn, std
            m = self.momentum
            self.running_mean = m * self.running_mean + (1.0 - m) * mu
            self.running_var = m * self.running_var + (1.0 - m) * var
        else:
            xn = (x - self.running_mean) / xp.sqrt(self.running_var + self.eps)
        return self.gamma * xn + self.beta

    def backward(self, dout: Any) -> Any:
        """dx in the input's shape; dgamma and dbeta as attributes (the book's formulas)."""
        require_forward(self, self.xn)
        xp = array_namespace(dout)
        if dout.ndim != 2:
            dout = xp.reshape(dout, (dout.shape[0], -1))
        return xp.reshape(self._backward(dout), self.input_shape)

    def _backward(self, dout: Any) -> Any:
        xp = array_namespace(dout)
        self.dbeta = xp.sum(dout, axis=0)
        self.dgamma = xp.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -self._batch_sum((dxn * self.xc) / (self.std * self.std))
        dvar = 0.5 * dstd / self.std
        dxc = dxc + (2.0 / self.batch_size) * self.xc * dvar
        dmu = self._batch_sum(dxc)
        return dxc - dmu / self.batch_size
