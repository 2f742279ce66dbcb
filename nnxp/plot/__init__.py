"""The book's figures as PNG files, each drawn by a function of this package.

- :mod:`nnxp.plot.canvas`: the Agg canvas and the atomic PNG write every figure uses;
- :mod:`nnxp.plot.book`: the training history, activations, gradient field and descent;
- :mod:`nnxp.plot.optimizers`: chapter 6's optimizer comparison on MNIST;
- :mod:`nnxp.plot.mnist`: MNIST digits titled by their labels;
- :mod:`nnxp.plot.functions`: the sigmoid over the step function, the tangent line;
- :mod:`nnxp.plot.filters`: a conv net's filters, random and trained, and their responses;
- :mod:`nnxp.plot.misclassified`: the test digits a trained net gets wrong;
- :mod:`nnxp.plot.grid`, :mod:`nnxp.plot.images`, :mod:`nnxp.plot.weights`: grids of small
  images, a grayscale PNG read as hostile input, a trained net from ``--weights``;
- :mod:`nnxp.plot.overfit`: chapter 6's overfitting, weight decay and dropout figures;
- :mod:`nnxp.plot.search`: the best trials of a hyperparameter search (``nnxp search``);
- :mod:`nnxp.plot.data`: the MNIST splits a figure draws from, its inputs kept apart from
  its output;
- :mod:`nnxp.plot.paths`: chapter 6's optimizer paths on f(x, y) = x**2 / 20 + y**2.

:data:`FIGURES` is what ``nnxp plot NAME`` can draw without a line of code: each figure's
one-line summary, the function that draws it and the options it takes (argparse dest names:
``batch_size`` is ``--batch-size``). ``nnxp plot`` passes a figure exactly the options the
user gave, as keyword arguments, so the draw function's own defaults apply to the rest; a
draw function with a ``report`` parameter also gets a callable that prints a progress line.
matplotlib and each figure's module are imported only when that figure is drawn.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
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
    ``function(path, **options)`` with those of ``options`` (argparse dest names) the user
    gave, and ``report=`` when the function has that parameter; it returns the PNG's path."""

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
    "optimizers": Figure(
        "SGD, Momentum, AdaGrad and Adam training the same MultiLayerNet on MNIST (figure 6-9)",
        "nnxp.plot.optimizers:plot_optimizers",
        ("optimizers", "iters", "batch_size", "dataset", "data_dir", "backend", "device", "seed"),
    ),
    "mnist-samples": Figure("the first MNIST training images, each titled by its label "
                            "(ch03 mnist_show.py)", "nnxp.plot.mnist:plot_mnist_samples",
                            ("count", "dataset", "data_dir")),
    "sigmoid-step": Figure("the sigmoid over the step function (figure 3-8)",
                           "nnxp.plot.functions:plot_sigmoid_step"),
    "tangent": Figure("f(x) = 0.01x^2 + 0.1x and its tangents at x = 5 and 10 by numerical_diff "
                      "(figure 4-7)", "nnxp.plot.functions:plot_tangent"),
    "filters": Figure("a conv net's first-layer filters, random then trained (figure 7-24; "
                      "default: the book's ch07/params.pkl)", "nnxp.plot.filters:plot_filters",
                      ("weights", "seed")),
    "filter-responses": Figure("16 trained filters applied to an image (ch07 apply_filter.py; "
                               "default: the book's lena_gray.png)",
                               "nnxp.plot.filters:plot_filter_responses",
                               ("weights", "image", "dataset", "data_dir")),
    "misclassified": Figure("test accuracy and the first misclassified MNIST test digits, "
                            "label:inference (figure 8-2; default: the book's DeepConvNet)",
                            "nnxp.plot.misclassified:plot_misclassified",
                            ("weights", "count", "test_size", "dataset", "data_dir", "backend",
                             "device")),
    "optimizer-paths": Figure("SGD, Momentum, AdaGrad and Adam on x^2/20 + y^2 from (-7, 2) "
                              "(figure 6-8)", "nnxp.plot.paths:plot_optimizer_paths"),
    "overfit": Figure(
        "train and test accuracy of a deep net on 300 MNIST images: overfitting (figure 6-20), "
        "--weight-decay 0.1 (6-21), --dropout 0.2 (6-23)",
        "nnxp.plot.overfit:plot_overfit",
        ("weight_decay", "dropout", "epochs", "train_size", "batch_size", "dataset", "data_dir",
         "backend", "device", "seed"),
    ),
}
"""Figure name -> how to draw it; ``nnxp plot --help`` lists them in this order."""


def figures_taking(option: str) -> list[str]:
    """The names of the figures of :data:`FIGURES` that take ``option`` (a dest name)."""
    return [name for name, figure in FIGURES.items() if option in figure.options]


def plot_figure(
    name: str,
    path: str | os.PathLike[str],
    report: Callable[[str], None] | None = None,
    **options: Any,
) -> Path:
    """Draw figure ``name`` of :data:`FIGURES` to ``path`` with ``options`` (each one the
    figure declares); ``report`` gets its progress lines, if it writes any."""
    if name not in FIGURES:
        raise NnxpError(f"unknown figure {name!r}: use one of {', '.join(FIGURES)}")
    figure = FIGURES[name]
    unknown = [key for key in options if key not in figure.options]
    if unknown:
        takes = ", ".join(figure.options) or "no options"
        raise NnxpError(f"figure {name!r} takes no option {unknown[0]!r} (it takes {takes})")
    module, _, function = figure.draw.partition(":")
    draw = getattr(importlib.import_module(module), function)
    if report is not None and "report" in inspect.signature(draw).parameters:
        options["report"] = report
    return Path(draw(path, **options))


__all__ = [
    "FIGURES",
    "MISSING",
    "Figure",
    "descent_path",
    "figures_taking",
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
