"""The book's figure 6-8: the paths SGD, Momentum, AdaGrad and Adam take to the minimum of
f(x, y) = x**2 / 20 + y**2 from (-7, 2), as its chapter-6 ``optimizer_compare_naive.py``
draws them, four panels over the contours of f.

:func:`optimizer_paths` runs nnxp's optimizers on Python floats (``params = {"x": -7.0,
"y": 2.0}``, gradients of floats, the book's way); :func:`plot_optimizer_paths` draws them;
``nnxp plot optimizer-paths`` writes the PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.optim import get_optimizer
from nnxp.plot.canvas import new_figure, save_figure

NAIVE_OPTIMIZERS: dict[str, tuple[str, dict[str, float]]] = {
    "SGD": ("sgd", {"lr": 0.95}),
    "Momentum": ("momentum", {"lr": 0.1}),
    "AdaGrad": ("adagrad", {"lr": 1.5}),
    "Adam": ("adam", {"lr": 0.3}),
}
"""The book's four optimizers and learning rates for f(x, y), by their titles."""

INIT_POS = (-7.0, 2.0)
STEPS = 30


def f(x: Any, y: Any) -> Any:
    """The book's f(x, y) = x**2 / 20 + y**2: steep along y, nearly flat along x."""
    return x**2 / 20.0 + y**2


def df(x: float, y: float) -> tuple[float, float]:
    """The gradient of f: (x / 10, 2 y)."""
    return x / 10.0, 2.0 * y


def optimizer_paths(
    optimizers: Mapping[str, tuple[str, dict[str, float]]] = NAIVE_OPTIMIZERS,
    init_pos: tuple[float, float] = INIT_POS,
    steps: int = STEPS,
) -> dict[str, np.ndarray]:
    """For each optimizer (title -> (name, parameters)), the ``steps`` points it stands on
    before each of its updates, the first being ``init_pos``: an array (steps, 2) of (x, y),
    as the book's script records them."""
    paths = {}
    for title, (name, param) in optimizers.items():
        optimizer = get_optimizer(name, **param)
        params = {"x": float(init_pos[0]), "y": float(init_pos[1])}
        points = []
        for _ in range(steps):
            points.append((params["x"], params["y"]))
            gx, gy = df(params["x"], params["y"])
            optimizer.update(params, {"x": gx, "y": gy})
        paths[title] = np.array(points, dtype=np.float64)
    return paths


def plot_optimizer_paths(path: str | os.PathLike[str]) -> Path:
    """The book's figure 6-8: each optimizer's 30 steps on the contours of f, one panel each
    (contours of f up to 7, as the book masks the rest; + marks the minimum)."""
    x = np.arange(-10, 10, 0.01)
    y = np.arange(-5, 5, 0.01)
    X, Y = np.meshgrid(x, y)
    Z = f(X, Y)
    Z = np.where(Z > 7, 0.0, Z)  # the book's "simple contour line"
    fig, axes = new_figure(2, 10, 8.4, nrows=2)
    for ax, (title, points) in zip(axes, optimizer_paths().items(), strict=True):
        ax.plot(points[:, 0], points[:, 1], "o-", color="red", markersize=4)
        ax.contour(X, Y, Z)
        ax.set_ylim(-10, 10)
        ax.set_xlim(-10, 10)
        ax.plot(0, 0, "+")
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    return save_figure(fig, path)
