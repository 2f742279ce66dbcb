"""Array operations the layers and the optimizers share, written once for the Array API.

Each function here is the reference definition of what it computes. Decorated with
:func:`nnxp.kernels.dispatch.fusable`, it may instead run a fused kernel that the backend picks for
its input's library (Numba loops for NumPy, CUDA kernels for CuPy), which tests hold to the
reference; callers never know which ran.
"""

from __future__ import annotations

from typing import Any

from nnxp.backends import array_namespace
from nnxp.kernels.dispatch import fusable


@fusable
def matmul(x: Any, W: Any) -> Any:
    """x @ W, an Affine layer's product (a library without fast float16 products gets a
    kernel for them: NumPy's)."""
    return x @ W


@fusable
def relu_and_mask(x: Any) -> tuple[Any, Any]:
    """(max(x, 0), x <= 0): ReLU's output and the mask its backward needs, from one input."""
    xp = array_namespace(x)
    mask = x <= 0
    return xp.where(mask, 0.0, x), mask


@fusable
def zero_where(mask: Any, x: Any) -> Any:
    """A new array: x with zeros where mask is True (ReLU's backward)."""
    return array_namespace(x).where(mask, 0.0, x)


@fusable
def batch_sum(x: Any) -> Any:
    """The sum over axis 0, the batch (a bias gradient)."""
    return array_namespace(x).sum(x, axis=0)


@fusable
def subtract_scaled(p: Any, g: Any, lr: float) -> Any:
    """``p - lr * g`` computed into p where the library allows (in-place ``-=``); returns it.

    The caller must own p (no one else may hold the array): a NumPy, CuPy or torch p is
    changed in place, saving a new array per update; an immutable library (JAX) rebinds.
    """
    p -= lr * g
    return p


@fusable
def adam_update(
    p: Any, g: Any, m: Any, v: Any, lr_t: float, beta1: float, beta2: float
) -> tuple[Any, Any, Any]:
    """One step of Adam in the book's form, computed into p, m and v where the library
    allows (an immutable library rebinds); returns (p, m, v).

    m and v move towards g and g * g by (1 - beta1) and (1 - beta2); p moves by
    lr_t * m / (sqrt(v) + 1e-7). The caller must own all three arrays.
    """
    xp = array_namespace(p)
    m += (1.0 - beta1) * (g - m)
    v += (1.0 - beta2) * (g * g - v)
    p -= lr_t * m / (xp.sqrt(v) + 1e-7)
    return p, m, v
