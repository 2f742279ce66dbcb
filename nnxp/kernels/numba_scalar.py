"""The book's numerical_gradient loop for a Numba-jitted scalar function, all in nopython mode."""

from __future__ import annotations

import functools
from typing import Any

import numba
import numpy as np
from numba import types

DEFAULT_H = 1e-4
"""The book's h, the default step (nnxp.gradient passes its own H; this module imports no
nnxp module, so the two never import each other)."""


def _central_difference_loop(f: Any, x: np.ndarray, h: float) -> np.ndarray:
    """(f(x + h e_k) - f(x - h e_k)) / 2h for every element k, perturbing x in place."""
    flat = x.reshape(-1)
    grad = np.zeros_like(flat)
    for k in range(flat.size):
        tmp = flat[k]
        flat[k] = tmp + h
        fxh1 = f(x)
        flat[k] = tmp - h
        fxh2 = f(x)
        flat[k] = tmp
        grad[k] = (fxh1 - fxh2) / (2 * h)
    return grad.reshape(x.shape)


@functools.cache
def _loop_for(ndim: int) -> Any:
    """The loop compiled for C-contiguous float64 arrays of ``ndim`` axes.

    f arrives as a first-class function of that one signature, so the loop itself is compiled
    once per machine (``cache=True``) however many functions it later differentiates; each f
    is compiled for the signature when first passed.
    """
    array = types.Array(types.float64, ndim, "C")
    f_type = types.FunctionType(types.float64(array))
    return numba.njit(array(f_type, array, types.float64), cache=True)(_central_difference_loop)


def numerical_gradient(f: Any, x: np.ndarray, h: float = DEFAULT_H) -> np.ndarray:
    """The gradient of a ``numba.njit`` scalar function f at x, a C-contiguous float64 array.

    The whole central-difference loop runs in nopython mode. x is perturbed in place, one
    element at a time, and restored, as in the book; f must accept x (same shape, float64)
    and return a number, which is taken as float64.
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.flags.c_contiguous):
        raise TypeError("the jitted numerical gradient needs a C-contiguous float64 NumPy array; "
                        "use nnxp.gradient.numerical_gradient for anything else")
    if x.ndim == 0:
        raise TypeError("the jitted numerical gradient needs an array with at least one axis")
    return _loop_for(x.ndim)(f, x, float(h))
