"""The book's figures as PNG files, each drawn by a function of this package.

- :mod:`nnxp.plot.canvas`: the Agg canvas and the atomic PNG write every figure uses;
- :mod:`nnxp.plot.book`: the training history, activations, gradient field and descent;
- :mod:`nnxp.plot.optimizers`: chapter 6's optimizer comparison on MNIST;
- :mod:`nnxp.plot.paths`: chapter 6's optimizer paths on f(x, y) = x**2 / 20 + y**2.

:data:`FIGURES` is what ``nnxp plot NAME`` can draw without a line of code: each figure's
one-line summary, the function that draws it and the options it takes. matplotlib is
imported only when a figure is drawn.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnxp.errors import NnxpError
from nnxp.plot.book import (
    descent_path,
    function_2,
    moving_average,
    plot_activations,
    plot_descent,
    plot_gradient_field,
    plot_history,
)
from nnxp.plot.canvas import MISSING, new_figure, require_matplotlib, save_figure


@dataclass(frozen=True)
class Figure:
    """One figure ``nnxp plot`` draws: ``draw`` is "module:function", called as
    ``function(path, **options)`` with the options of ``options`` the user gave; it returns
    the PNG's path."""

    summary: str
    draw: str
    options: tuple[str, ...] = ()


FIGURES: dict[str, Figure] = {
    "activations": Figure("step function, sigmoid and ReLU side by side (chapter 3)",
                          "nnxp.plot.book:plot_activations"),
    "gradient-field": Figure("arrows of -grad of x0^2 + x1^2 (figure 4-9)",
                             "nnxp.plot.book:plot_gradient_field"),
    "descent": Figure("gradient descent on x0^2 + x1^2 from (-3, 4) (figure 4-10)",
                      "nnxp.plot.book:plot_descent"),
    "optimizer-paths": Figure("SGD, Momentum, AdaGrad and Adam on x^2/20 + y^2 from (-7, 2) "
                              "(figure 6-8)", "nnxp.plot.paths:plot_optimizer_paths"),
}
"""Figure name -> how to draw it; ``nnxp plot --help`` lists them in this order."""


def plot_figure(name: str, path: str | os.PathLike[str], **options: Any) -> Path:
    """Draw figure ``name`` of :data:`FIGURES` to ``path`` with ``options``."""
    if name not in FIGURES:
        raise NnxpError(f"unknown figure {name!r}: use one of {', '.join(FIGURES)}")
    module, _, function = FIGURES[name].draw.partition(":")
    return Path(getattr(importlib.import_module(module), function)(path, **options))


__all__ = [
    "FIGURES",
    "MISSING",
    "Figure",
    "descent_path",
    "function_2",
    "moving_average",
    "new_figure",
    "plot_activations",
    "plot_descent",
    "plot_figure",
    "plot_gradient_field",
    "plot_history",
    "require_matplotlib",
    "save_figure",
]
