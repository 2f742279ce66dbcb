"""Optimizers with the book's ``update(params, grads)`` interface (chapter 6).

``params`` is a net's live mapping (or any dict of arrays): each update assigns
``params[key] = new``, which replaces the layer's array on every backend; SGD's ``new`` is,
after its first update, the array it made before, updated in place where the library allows.
State (v, h, m) is kept per key, created on the first update with the parameter's namespace,
dtype and device; hyperparameters are Python floats, so a float32 net stays float32.

A parameter may also be a plain Python number, as in the book's chapter-6
``optimizer_compare_naive.py`` (``params = {"x": -7.0, "y": 2.0}`` with gradients of floats),
or a 0-d array: every optimizer applies the same formulas to it, its state kept as floats.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from nnxp.backends import array_namespace, device
from nnxp.errors import NnxpError
from nnxp.ops import adam_update, subtract_scaled


def _real(name: str, value: Any, rule: str) -> float:
    """value as a Python float if it is a finite real number (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise NnxpError(f"{name} must be {rule}, got {value!r:.60}")
    return float(value)


def _positive(name: str, value: float) -> float:
    """value as a Python float if it is finite and > 0, else a one-line NnxpError."""
    value = _real(name, value, "a finite number (> 0)")
    if not value > 0:
        raise NnxpError(f"{name} must be > 0, got {value!r}")
    return value


def _fraction(name: str, value: float) -> float:
    """value as a Python float if 0 <= value < 1, else a one-line NnxpError."""
    value = _real(name, value, "a number in [0, 1)")
    if not 0.0 <= value < 1.0:
        raise NnxpError(f"{name} must be in [0, 1), got {value!r}")
    return value


def _is_number(x: Any) -> bool:
    """Whether x is a plain Python number (int or float) rather than an array; NumPy's
    scalars (which have a shape) count as arrays."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool) and not hasattr(x, "shape"):
        return True
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return False
    raise NnxpError(f"an optimizer updates arrays or numbers, got {type(x).__name__} "
                    f"{x!r:.40}; pass arrays (or floats) in params and grads")


def _sqrt(x: Any) -> Any:
    """The square root of a number or, elementwise, of an array."""
    return math.sqrt(x) if _is_number(x) else array_namespace(x).sqrt(x)


def _zeros_like(x: Any) -> Any:
    """Zeros with x's shape, dtype and device (0.0 for a Python number)."""
    if _is_number(x):
        return 0.0
    xp = array_namespace(x)
    return xp.zeros(tuple(x.shape), dtype=x.dtype, device=device(x))


class Optimizer:
    """Shared by the optimizers: the learning rate and per-key state arrays."""

    def __init__(self, lr: float) -> None:
        self.lr = _positive("learning rate", lr)

    def _state(self, store: dict[str, Any], key: str, param: Any) -> Any:
        """store[key], first created as zeros like param."""
        if key not in store:
            store[key] = _zeros_like(param)
        return store[key]

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        """One step on every key of params, from grads of the same keys."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent: W <- W - lr * dW.

    The first update of a key makes a new array; later ones write into that array, which
    this optimizer made and so owns, in place where the library allows (a NumPy, CuPy or
    torch array; see :func:`nnxp.ops.subtract_scaled`). A parameter someone else assigned
    since (a caller's array) is never written into: it gets a new array again.
    """

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)
        self._owned: dict[str, Any] = {}

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        owned = self._owned
        for key in params:
            p = params[key]
            if not _is_number(p) and owned.get(key) is p:
                params[key] = owned[key] = subtract_scaled(p, grads[key], self.lr)
            else:
                params[key] = owned[key] = p - self.lr * grads[key]


class Momentum(Optimizer):
    """v <- momentum * v - lr * dW; W <- W + v."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _fraction("momentum", momentum)
        self.v: dict[str, Any] = {}

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        for key in params:
            v = self.momentum * self._state(self.v, key, params[key]) - self.lr * grads[key]
            self.v[key] = v
            params[key] = params[key] + v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient in the book's form (http://arxiv.org/abs/1212.0901)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _fraction("momentum", momentum)
        self.v: dict[str, Any] = {}

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        mu, lr = self.momentum, self.lr
        for key in params:
            g = grads[key]
            v = mu * self._state(self.v, key, params[key]) - lr * g
            self.v[key] = v
            params[key] = params[key] + (mu * mu) * v - ((1.0 + mu) * lr) * g


class AdaGrad(Optimizer):
    """h <- h + dW * dW; W <- W - lr * dW / (sqrt(h) + 1e-7)."""

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr)
        self.h: dict[str, Any] = {}

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        for key in params:
            g = grads[key]
            h = self._state(self.h, key, params[key]) + g * g
            self.h[key] = h
            params[key] = params[key] - self.lr * g / (_sqrt(h) + 1e-7)


class RMSprop(Optimizer):
    """h <- decay * h + (1 - decay) * dW * dW; W <- W - lr * dW / (sqrt(h) + 1e-7)."""

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        super().__init__(lr)
        self.decay_rate = _fraction("decay_rate", decay_rate)
        self.h: dict[str, Any] = {}

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        rho = self.decay_rate
        for key in params:
            g = grads[key]
            h = rho * self._state(self.h, key, params[key]) + (1.0 - rho) * (g * g)
            self.h[key] = h
            params[key] = params[key] - self.lr * g / (_sqrt(h) + 1e-7)


class Adam(Optimizer):
    """Adam (http://arxiv.org/abs/1412.6980v8) in the book's form, with its bias-corrected lr_t.

    Like SGD, it updates arrays it owns in place (see :func:`nnxp.ops.adam_update`): a
    parameter it did not make (the first update, or one assigned since) is copied first.
    """

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        super().__init__(lr)
        self.beta1 = _fraction("beta1", beta1)
        self.beta2 = _fraction("beta2", beta2)
        self.iter = 0
        self.m: dict[str, Any] = {}
        self.v: dict[str, Any] = {}
        self._owned: dict[str, Any] = {}

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        self.iter += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * math.sqrt(1.0 - b2**self.iter) / (1.0 - b1**self.iter)
        for key in params:
            p = params[key]
            if _is_number(p):
                g = grads[key]
                m = self.m[key] = self.m.get(key, 0.0) + (1.0 - b1) * (g - self.m.get(key, 0.0))
                v = self.v[key] = self.v.get(key, 0.0) + (1.0 - b2) * (g * g - self.v.get(key, 0.0))
                params[key] = p - lr_t * m / (math.sqrt(v) + 1e-7)
                continue
            if self._owned.get(key) is not p:
                p = array_namespace(p).asarray(p, copy=True)
            m = self._state(self.m, key, p)
            v = self._state(self.v, key, p)
            p, self.m[key], self.v[key] = adam_update(p, grads[key], m, v, lr_t, b1, b2)
            params[key] = self._owned[key] = p


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """An optimizer by its lower-case name (``sgd``, ``adam``, ...) with its keyword parameters."""
    key = name.lower()
    if key not in OPTIMIZERS:
        raise NnxpError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[key](**kwargs)
    except TypeError as exc:
        raise NnxpError(f"bad parameters for optimizer {name!r}: {exc}") from None
