"""Gradient checking, the book's ``gradient_check``: backprop against the numerical gradient.

:func:`gradient_check` compares the two for every parameter of a net and says which agree;
``nnxp gradcheck`` (:mod:`nnxp.cli.gradcheck`) prints the book's table (one line per
parameter) for a net on random MNIST-shaped data and exits 1 when a parameter fails.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnxp.errors import NnxpError
from nnxp.netgrad import resolve_method

TOLERANCES: dict[str, tuple[float, float]] = {"float64": (1e-9, 1e-4), "float32": (1e-7, 1e-3)}
"""Default (atol, rtol) by the net's dtype. A parameter passes when
max |backprop - numerical| <= atol + rtol * max |numerical| (a normwise test: elements near
0 where per-sample terms cancel would fail any elementwise one). Expected differences: the
numerical gradient is that of the book's loss, whose log(y + 1e-7) guard scales each
sample's gradient by p / (p + 1e-7) (p: the probability of its label), 1e-6 relative at
p = 0.1 and 1e-5 at p = 0.01; float32 backprop adds its rounding. A ReLU unit within h of
its kink for some sample makes the central difference itself wrong for a few elements."""


@dataclass(frozen=True)
class ParamCheck:
    """How one parameter's backprop gradient differs from its numerical gradient."""

    name: str
    shape: tuple[int, ...]
    mean_abs: float
    max_abs: float
    mean_rel: float
    max_rel: float
    norm_rel: float
    passed: bool


@dataclass(frozen=True)
class GradientCheck:
    """The result of :func:`gradient_check`: one :class:`ParamCheck` per parameter."""

    params: dict[str, ParamCheck]
    atol: float
    rtol: float
    method: str
    passed: bool

    def failed(self) -> list[str]:
        """Names of the parameters that fail the tolerance."""
        return [name for name, check in self.params.items() if not check.passed]

    def table(self) -> str:
        """The book's per-parameter lines (its figure is the mean |diff|), with more columns."""
        lines = [f"{'param':<6} {'shape':<10} {'mean |diff|':>11} {'max |diff|':>11} "
                 f"{'mean rel':>9} {'max rel':>9} {'norm rel':>9}  result"]
        for c in self.params.values():
            shape = "x".join(str(n) for n in c.shape)
            lines.append(f"{c.name:<6} {shape:<10} {c.mean_abs:>11.2e} {c.max_abs:>11.2e} "
                         f"{c.mean_rel:>9.2e} {c.max_rel:>9.2e} {c.norm_rel:>9.2e}  "
                         f"{'ok' if c.passed else 'FAIL'}")
        return "\n".join(lines)


def _compare(name: str, backprop: Any, numerical: Any, atol: float, rtol: float,
             xp: Any) -> ParamCheck:
    diff = xp.abs(backprop - numerical)
    scale = xp.maximum(xp.abs(backprop), xp.abs(numerical))
    rel = diff / xp.where(scale > 0, scale, 1.0)
    max_abs = float(xp.max(diff))
    largest = float(xp.max(xp.abs(numerical)))
    return ParamCheck(
        name=name,
        shape=tuple(int(n) for n in backprop.shape),
        mean_abs=float(xp.mean(diff)),
        max_abs=max_abs,
        mean_rel=float(xp.mean(rel)),
        max_rel=float(xp.max(rel)),
        norm_rel=max_abs / largest if largest > 0 else (0.0 if max_abs == 0 else math.inf),
        passed=max_abs <= atol + rtol * largest,
    )


def gradient_check(
    net: Any,
    x: Any,
    t: Any,
    atol: float | None = None,
    rtol: float | None = None,
    method: str = "auto",
) -> GradientCheck:
    """Compare ``net.gradient(x, t)`` (backprop) with ``net.numerical_gradient(x, t)``.

    Both differentiate the same function: the training-mode loss, with the dropout masks
    backprop's forward drew held through the numerical gradient; running statistics are
    left as they were found.

    A parameter passes when max |diff| <= atol + rtol * max |numerical| (``norm_rel`` is the
    ratio of the two maxima); defaults come from :data:`TOLERANCES` by the net's dtype.
    Elementwise relative differences are |diff| / max(|backprop|, |numerical|) (0 where both
    are 0). ``method`` picks the numerical path as in :func:`nnxp.netgrad.numerical_gradient`.
    """
    default_atol, default_rtol = TOLERANCES.get(net.dtype, TOLERANCES["float32"])
    atol = default_atol if atol is None else _tolerance("atol", atol)
    rtol = default_rtol if rtol is None else _tolerance("rtol", rtol)
    method = resolve_method(net, method)
    x, t = net.check_batch(x, t)
    buffers = getattr(net, "buffers", {})
    saved = dict(buffers.items())
    try:
        backprop = net._gradient(x, t)  # draws the dropout masks the numerical gradient holds
        numerical = net._numerical_gradient(x, t, method)
    finally:
        for key, value in saved.items():
            buffers[key] = value
    xp = net.backend.xp
    checks = {key: _compare(key, backprop[key], numerical[key], atol, rtol, xp)
              for key in net.params}
    return GradientCheck(checks, atol, rtol, method, all(c.passed for c in checks.values()))


def _tolerance(name: str, value: Any) -> float:
    """A tolerance as a float if it is a finite number >= 0, else a one-line NnxpError."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if not ok or value < 0:
        raise NnxpError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def random_mnist_like(
    batch: int, input_size: int = 784, classes: int = 10, seed: int | None = 0,
    zeros: float = 0.81,
) -> tuple[np.ndarray, np.ndarray]:
    """A host batch shaped like normalised MNIST: values in [0, 1), a fraction ``zeros`` of
    them 0 (MNIST's share of blank pixels), and integer labels."""
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.random((batch, input_size)) * (rng.random((batch, input_size)) >= zeros)
    return x, rng.integers(0, classes, batch)


def randomize_biases(net: Any, seed: int) -> None:
    """Biases drawn small and random instead of the book's zeros. A conv layer whose input
    patch is all zeros (padding, or ReLUs all off) outputs its bias exactly: at 0, the next
    ReLU's kink, where the central difference disagrees with any one-sided derivative."""
    rng = np.random.Generator(np.random.PCG64((seed, 1)))
    for key in net.params:
        if key.startswith("b"):
            bias = net.params[key]
            host = 0.1 * rng.standard_normal(tuple(int(n) for n in bias.shape))
            net.params[key] = net.backend.asarray(host, dtype=net.dtype)
