"""The book's perceptrons: logic gates as a step of w·x + b, and XOR from two layers."""

from __future__ import annotations


def _gate(w1: float, w2: float, b: float, x1: float, x2: float) -> int:
    """The perceptron: 1 when w1*x1 + w2*x2 + b > 0, else 0."""
    return 1 if w1 * x1 + w2 * x2 + b > 0 else 0


def AND(x1: float, x2: float) -> int:
    """1 only when both inputs are 1 (w = 0.5, 0.5; b = -0.7)."""
    return _gate(0.5, 0.5, -0.7, x1, x2)


def NAND(x1: float, x2: float) -> int:
    """0 only when both inputs are 1 (w = -0.5, -0.5; b = 0.7)."""
    return _gate(-0.5, -0.5, 0.7, x1, x2)


def OR(x1: float, x2: float) -> int:
    """1 when either input is 1 (w = 0.5, 0.5; b = -0.2)."""
    return _gate(0.5, 0.5, -0.2, x1, x2)


def XOR(x1: float, x2: float) -> int:
    """The two-layer perceptron: AND(NAND(x1, x2), OR(x1, x2))."""
    return AND(NAND(x1, x2), OR(x1, x2))
