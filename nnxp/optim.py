"""Optimizers with the book's ``update(params, grads)`` interface.

``params`` is a net's live mapping: each update assigns ``params[key] = new``, which replaces
the layer's array on every backend (in-place ``-=`` on an array is not portable).
"""

from __future__ import annotations

from typing import Any

from nnxp.errors import NnxpError


class SGD:
    """Stochastic gradient descent: W <- W - lr * dW."""

    def __init__(self, lr: float = 0.01) -> None:
        if not lr > 0:
            raise NnxpError(f"learning rate must be > 0, got {lr!r}")
        self.lr = float(lr)

    def update(self, params: Any, grads: dict[str, Any]) -> None:
        for key in params:
            params[key] = params[key] - self.lr * grads[key]


OPTIMIZERS: dict[str, type] = {"sgd": SGD}


def get_optimizer(name: str, **kwargs: Any) -> Any:
    """An optimizer by its lower-case name (``sgd``, ...) with its keyword parameters."""
    key = name.lower()
    if key not in OPTIMIZERS:
        raise NnxpError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[key](**kwargs)
    except TypeError as exc:
        raise NnxpError(f"bad parameters for optimizer {name!r}: {exc}") from None
