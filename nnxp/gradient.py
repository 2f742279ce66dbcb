"""Numerical differentiation (the book's central difference, h = 1e-4) and gradient descent.

The generic path here works for any callable and any array shape on every backend. It
perturbs one element at a time in place where the library allows (so the book's idiom
``numerical_gradient(lambda W: net.loss(x, t), net.params["W1"])`` works) and restores it.
A ``numba.njit`` f with a C-contiguous float64 NumPy array runs the loop compiled instead
(:mod:`nnxp.kernels.numba_scalar`); a net's own ``numerical_gradient`` has faster paths (:mod:`nnxp.netgrad`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_extra as xpx
import numpy as np

from nnxp.backends import backend_of
from nnxp.kernels.dispatch import numerical_gradient_kernel

H = 1e-4
"""The book's step for the central difference."""


def numerical_diff(f: Callable[[float], float], x: float) -> float:
    """The derivative of a scalar function at x by the central difference."""
    return (f(x + H) - f(x - H)) / (2 * H)


def central_difference(
    f: Callable[[Any], Any],
    x: Any,
    indices: Any = None,
    on_change: Callable[[Any], None] | None = None,
) -> np.ndarray:
    """(f(x + h e_i) - f(x - h e_i)) / 2h for every index i of x, as a float64 host array.

    f receives x with one element changed: x itself where the library allows in-place
    writes, else a new array, which ``on_change`` (if given) is told of before each call,
    and once more when x is restored. ``indices`` (default: all, in C order) chooses the
    elements to perturb; the others stay 0 in the result.
    """
    grad = np.zeros(tuple(x.shape), dtype=np.float64)
    notify = on_change or (lambda _x: None)
    for idx in np.ndindex(*x.shape) if indices is None else indices:
        idx = tuple(int(i) for i in idx)
        old = float(x[idx])
        x = xpx.at(x, idx).set(old + H)
        notify(x)
        fxh1 = float(f(x))
        x = xpx.at(x, idx).set(old - H)
        notify(x)
        fxh2 = float(f(x))
        x = xpx.at(x, idx).set(old)
        grad[idx] = (fxh1 - fxh2) / (2 * H)
    notify(x)
    return grad


def numerical_gradient(f: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of scalar f at x, an array of any shape, by central differences.

    The result has x's shape, dtype, namespace and device. x is left as it was found. When f
    is a ``numba.njit`` function and x a C-contiguous float64 NumPy array, the whole loop runs
    compiled (:func:`nnxp.kernels.numba_scalar.numerical_gradient`).
    """
    kernel = numerical_gradient_kernel(f, x)
    if kernel is not None:
        return kernel(f, x, h=H)
    return backend_of(x).asarray(central_difference(f, x), dtype=x.dtype)


def gradient_descent(
    f: Callable[[Any], Any], init_x: Any, lr: float = 0.01, step_num: int = 100
) -> Any:
    """step_num steps of x <- x - lr * grad f(x) from init_x; returns the final x.

    Unlike the book's loop, init_x is not modified.
    """
    x = init_x
    for _ in range(step_num):
        x = x - lr * numerical_gradient(f, x)
    return x
