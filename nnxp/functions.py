"""The book's activation and loss functions, for arrays of any Array API library."""

from __future__ import annotations

from typing import Any

from nnxp.backends import array_namespace, device, size
from nnxp.errors import NnxpError
from nnxp.kernels.dispatch import fusable

CROSS_ENTROPY_DELTA = 1e-7
"""The book's guard against log(0) in cross_entropy_error."""


def identity_function(x: Any) -> Any:
    """The output activation for regression: returns its input."""
    return x


def step_function(x: Any) -> Any:
    """1 where x > 0, else 0, in x's dtype (the perceptron's activation)."""
    xp = array_namespace(x)
    return xp.astype(x > 0, x.dtype)


def sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)), computed without overflow for any |x|."""
    xp = array_namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: Any) -> Any:
    """Derivative of sigmoid at x."""
    y = sigmoid(x)
    return (1.0 - y) * y


def relu(x: Any) -> Any:
    """max(0, x) elementwise."""
    xp = array_namespace(x)
    return xp.maximum(x, 0.0)


def relu_grad(x: Any) -> Any:
    """Derivative of relu at x (0 at x = 0, as the book takes it)."""
    xp = array_namespace(x)
    return xp.astype(x > 0, x.dtype)


def tanh(x: Any) -> Any:
    """The hyperbolic tangent, (exp(x) - exp(-x)) / (exp(x) + exp(-x)), in (-1, 1)."""
    return array_namespace(x).tanh(x)


def tanh_grad(x: Any) -> Any:
    """Derivative of tanh at x: 1 - tanh(x)**2."""
    y = tanh(x)
    return 1.0 - y * y


def softmax(x: Any) -> Any:
    """Softmax over the last axis, shifted by the maximum so exp never overflows."""
    xp = array_namespace(x)
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def mean_squared_error(y: Any, t: Any) -> Any:
    """The book's 0.5 * sum((y - t)**2) (summed over everything, not averaged)."""
    xp = array_namespace(y, t)
    t = xp.astype(t, y.dtype) if t.dtype != y.dtype else t
    return 0.5 * xp.sum((y - t) ** 2)


def one_hot(t: Any, num_classes: int, dtype: Any) -> Any:
    """Integer labels of shape (N,) as one-hot rows of shape (N, num_classes) in ``dtype``."""
    xp = array_namespace(t)
    classes = xp.arange(num_classes, dtype=t.dtype, device=device(t))
    return xp.astype(t[..., None] == classes, dtype)


def check_labels(t: Any, scores_shape: tuple[int, ...]) -> Any:
    """t as the losses take it, for scores of ``scores_shape`` ((N, C), or (C,) for one sample).

    One-hot means t has the scores' shape (the book's rule); anything else must be integer
    class labels, one per sample: shape (N,), or (N, 1) as the book's ch07 check passes them
    (returned as (N,)). Float labels that are not one-hot are refused rather than truncated.
    Reads no values (no device sync): :func:`check_label_range` checks the classes.
    """
    xp = array_namespace(t)
    shape, scores_shape = tuple(t.shape), tuple(scores_shape)
    if len(scores_shape) not in (1, 2):
        raise NnxpError(f"scores must be (N, classes) or (classes,), got shape {scores_shape}; "
                        "flatten them first")
    kinds = "real floating", "integral", "bool"
    if shape == scores_shape:
        if not xp.isdtype(t.dtype, kinds):
            raise NnxpError(f"one-hot labels must hold real numbers, got dtype {t.dtype}; "
                            "pass rows of 0s and 1s")
        return t
    samples = scores_shape[:-1]
    if shape != samples and shape != (*samples, 1):
        raise NnxpError(
            f"labels of shape {shape} do not fit scores of shape {scores_shape}: pass integer "
            f"class labels of shape {samples} or one-hot rows of shape {scores_shape}"
        )
    if not xp.isdtype(t.dtype, "integral"):
        raise NnxpError(
            f"class labels must be integers, got dtype {t.dtype} (floats would be truncated); "
            f"pass t.astype(int), or one-hot rows of shape {scores_shape}"
        )
    return t if shape == samples else xp.reshape(t, samples)


def check_label_range(t: Any, classes: int) -> None:
    """Refuse integer class labels outside [0, classes). Reads two values: a device sync, so
    nets call it once per public call, and the Trainer once for its whole label arrays."""
    xp = array_namespace(t)
    if not xp.isdtype(t.dtype, "integral") or size(t) == 0:
        return
    low, high = int(xp.min(t)), int(xp.max(t))
    if low < 0 or high >= classes:
        raise NnxpError(
            f"class labels must lie in [0, {classes}) for {classes} classes, got labels from "
            f"{low} to {high}; fix the labels or the net's output size"
        )


def cross_entropy_error(y: Any, t: Any) -> Any:
    """Batch-averaged cross entropy of probabilities y against labels t.

    y is one sample (1-D) or a batch (2-D). t is one-hot (same shape as y), or integer class
    labels (one fewer axis). Both forms give the book's value: -sum(t * log(y + 1e-7)) / N.
    """
    xp = array_namespace(y, t)
    t = check_labels(t, tuple(y.shape))
    if y.ndim == 1:
        one_hot_row = tuple(t.shape) == tuple(y.shape)
        y = xp.reshape(y, (1, -1))
        t = xp.reshape(t, (1, -1) if one_hot_row else (1,))
    batch_size = y.shape[0]
    if t.ndim == y.ndim:
        t = xp.astype(t, y.dtype) if t.dtype != y.dtype else t
        return -xp.sum(t * xp.log(y + CROSS_ENTROPY_DELTA)) / batch_size
    picked = xp.take_along_axis(y, xp.astype(t, xp.int64)[:, None], axis=1)
    return -xp.sum(xp.log(picked + CROSS_ENTROPY_DELTA)) / batch_size


def softmax_cross_entropy(x: Any, t: Any) -> Any:
    """cross_entropy_error(softmax(x), t) computed exactly from the scores x, via log-softmax.

    The same loss without the book's delta: it never takes log(0), and its gradient is exactly
    SoftmaxWithLoss's (y - t) / N, so a gradient check measures backprop and not the delta.
    """
    return softmax_and_cross_entropy(x, t)[1]


@fusable
def softmax_and_cross_entropy(x: Any, t: Any) -> tuple[Any, Any]:
    """(softmax(x), softmax_cross_entropy(x, t)) from one exponential of the scores."""
    xp = array_namespace(x, t)
    t = check_labels(t, tuple(x.shape))
    if x.ndim == 1:
        one_hot_row = tuple(t.shape) == tuple(x.shape)
        y, loss = softmax_and_cross_entropy(
            xp.reshape(x, (1, -1)), xp.reshape(t, (1, -1) if one_hot_row else (1,))
        )
        return xp.reshape(y, (-1,)), loss
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=-1, keepdims=True)
    y = e / total
    batch_size = x.shape[0]
    if t.ndim == x.ndim:
        t = xp.astype(t, x.dtype) if t.dtype != x.dtype else t
        return y, -xp.sum(t * (shifted - xp.log(total))) / batch_size
    picked = xp.take_along_axis(shifted, xp.astype(t, xp.int64)[:, None], axis=1)
    return y, (xp.sum(xp.log(total)) - xp.sum(picked)) / batch_size


@fusable
def softmax_cross_entropy_grad(y: Any, t: Any) -> Any:
    """The gradient of softmax_cross_entropy with respect to the scores: (y - t) / N.

    y = softmax(scores), one sample (1-D, N = 1) or a batch; t one-hot like y, or integer
    class labels (one fewer axis), which are expanded to one-hot rows here.
    """
    xp = array_namespace(y)
    batch_size = 1 if y.ndim == 1 else y.shape[0]
    if t.ndim != y.ndim:
        t = one_hot(t, y.shape[-1], y.dtype)
    elif t.dtype != y.dtype:
        t = xp.astype(t, y.dtype)
    return (y - t) / batch_size
