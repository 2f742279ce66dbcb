"""Chapters 3 and 4 drawn: the sigmoid over the step function (the book's
``sig_step_compare.py``) and the tangent of f(x) = 0.01x^2 + 0.1x by the numerical derivative
(``gradient_1d.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.gradient import numerical_diff
from nnxp.plot.canvas import new_figure, save_figure

TANGENT_POINTS: tuple[float, ...] = (5.0, 10.0)
"""Where the book takes the derivative of function_1 (it prints 0.1999... and 0.2999...)."""


def function_1(x: Any) -> Any:
    """The book's f(x) = 0.01x^2 + 0.1x."""
    return 0.01 * x**2 + 0.1 * x


def tangent_line(f: Callable[[Any], Any], x: float) -> Callable[[Any], Any]:
    """The tangent of ``f`` at ``x`` as a function of t, its slope the numerical derivative."""
    d = numerical_diff(f, x)
    y = f(x) - d * x
    return lambda t: d * t + y


def draw_sigmoid_step() -> Any:
    """The sigmoid (solid) and the step function (dashed) on [-5, 5), as the book's figure
    3-8; returns the matplotlib figure."""
    from nnxp.functions import sigmoid, step_function

    x = np.arange(-5.0, 5.0, 0.1)
    fig, (ax,) = new_figure()
    ax.plot(x, sigmoid(x), label="sigmoid")
    ax.plot(x, step_function(x), "k--", label="step function")
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def plot_sigmoid_step(path: str | os.PathLike[str]) -> Path:
    """``nnxp plot sigmoid-step``: :func:`draw_sigmoid_step` to a PNG at ``path``."""
    return save_figure(draw_sigmoid_step(), path)


def draw_tangent(points: Sequence[float] = TANGENT_POINTS) -> Any:
    """f(x) = 0.01x^2 + 0.1x on [0, 20) with its tangent at each of ``points`` (the book's
    figure 4-7 at x = 5, and x = 10 too); returns the matplotlib figure."""
    x = np.arange(0.0, 20.0, 0.1)
    fig, (ax,) = new_figure()
    ax.plot(x, function_1(x), label="f(x) = 0.01x² + 0.1x")
    for point in points:
        slope = numerical_diff(function_1, point)
        ax.plot(x, tangent_line(function_1, point)(x), "--",
                label=f"tangent at x = {point:g} (slope {slope:.4f})")
        ax.plot([point], [function_1(point)], "o", color="black", markersize=4)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def plot_tangent(
    path: str | os.PathLike[str], report: Callable[[str], None] | None = None
) -> Path:
    """``nnxp plot tangent``: :func:`draw_tangent` to a PNG at ``path``; ``report`` gets the
    numerical derivative at each point, as the book prints it."""
    from nnxp.plot.data import check_output

    check_output(path)
    for point in TANGENT_POINTS:
        if report is not None:
            report(f"numerical_diff(function_1, {point:g}) = "
                   f"{numerical_diff(function_1, point)!r}")
    return save_figure(draw_tangent(), path)
