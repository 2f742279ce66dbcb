"""The book's computational-graph layers: forward caches what backward needs.

Each layer works on arrays of any Array API library and never writes into an array it was
handed; backward returns the input gradient and keeps parameter gradients as attributes.
"""

from __future__ import annotations

from typing import Any

from nnxp.backend import array_namespace
from nnxp.functions import one_hot, sigmoid, softmax_and_cross_entropy


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
        xp = array_namespace(x)
        self.mask = x <= 0
        return xp.where(self.mask, 0.0, x)

    def backward(self, dout: Any) -> Any:
        xp = array_namespace(dout)
        return xp.where(self.mask, 0.0, dout)


class Sigmoid:
    """1 / (1 + exp(-x)); backward is dout * (1 - y) * y."""

    def __init__(self) -> None:
        self.out = None

    def forward(self, x: Any) -> Any:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: Any) -> Any:
        return dout * (1.0 - self.out) * self.out


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
        xp = array_namespace(x)
        self.original_x_shape = tuple(x.shape)
        if x.ndim != 2:
            x = xp.reshape(x, (x.shape[0], -1))
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout: Any) -> Any:
        """dx = dout W^T (in the input's shape); dW = x^T dout; db = sum of dout over the batch."""
        xp = array_namespace(dout)
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = xp.sum(dout, axis=0)
        if tuple(dx.shape) != self.original_x_shape:
            dx = xp.reshape(dx, self.original_x_shape)
        return dx


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
        if t.ndim != x.ndim:
            t = one_hot(t, x.shape[-1], x.dtype)
        elif t.dtype != x.dtype:
            t = array_namespace(t).astype(t, x.dtype)
        self.t = t
        self.y, self.loss = softmax_and_cross_entropy(x, t)
        return self.loss

    def backward(self, dout: Any = 1) -> Any:
        batch_size = 1 if self.y.ndim == 1 else self.y.shape[0]
        dx = (self.y - self.t) / batch_size
        return dx if isinstance(dout, int | float) and dout == 1 else dx * dout
