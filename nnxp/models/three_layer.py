"""The seed's hand-set three-layer network (the book's chapter 3): a dict of arrays and a
forward pass through two sigmoid layers and the identity output."""

from __future__ import annotations

from typing import Any

from nnxp.backends import Backend, get_backend
from nnxp.functions import identity_function, sigmoid


def init_network(backend: str | Backend = "numpy") -> dict[str, Any]:
    """The seed's hand-set three-layer network (2-3-2-2), float64."""
    be = get_backend(backend, dtype="float64")
    return {
        "W1": be.asarray([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], dtype="float64"),
        "b1": be.asarray([0.1, 0.2, 0.3], dtype="float64"),
        "W2": be.asarray([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], dtype="float64"),
        "b2": be.asarray([0.1, 0.2], dtype="float64"),
        "W3": be.asarray([[0.1, 0.3], [0.2, 0.4]], dtype="float64"),
        "b3": be.asarray([0.1, 0.2], dtype="float64"),
    }


def forward(network: dict[str, Any], x: Any) -> Any:
    """The seed's forward pass: two sigmoid layers, then the identity output."""
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    z1 = sigmoid(x @ W1 + b1)
    z2 = sigmoid(z1 @ W2 + b2)
    return identity_function(z2 @ W3 + b3)
