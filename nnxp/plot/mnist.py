"""MNIST digits drawn with their labels: the book's ``mnist_show.py`` shows the first
training image (a 5) in a window through PIL; nnxp draws the first ``count`` training images
in a grid, each titled by its label, to a PNG."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.errors import NnxpError

MAX_DIGITS = 100
"""The most digits one figure draws (a grid of 10 x 10 is already small print)."""


def digit_count(count: Any, available: int | None = None, what: str = "--count") -> int:
    """``count`` when it is an int in 1..MAX_DIGITS (and at most ``available``), else a
    one-line NnxpError."""
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise NnxpError(f"{what} must be a whole number, not {count!r:.40}")
    if not 1 <= count <= MAX_DIGITS:
        raise NnxpError(f"{what} {count} is not in 1..{MAX_DIGITS}: a figure shows at most "
                        f"{MAX_DIGITS} images")
    if available is not None and count > available:
        raise NnxpError(f"{what} {count} is more than the {available} images there are")
    return int(count)


def as_images(x: Any) -> np.ndarray:
    """Host images (N, H, W) from MNIST rows (N, 784) or images (N, 1, H, W)."""
    x = np.asarray(x)
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise NnxpError(f"rows of {x.shape[1]} pixels are not square images")
        return x.reshape(x.shape[0], side, side)
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 3:
        return x
    raise NnxpError(f"images of shape {x.shape} are not MNIST digits (N, 784) or (N, 1, H, W)")


def draw_digits(images: Any, titles: Sequence[str] | None = None, ncols: int = 10,
                cmap: str = "gray") -> Any:
    """The digits ``images`` (rows of 784 pixels or (N, 1, 28, 28)) in a grid of ``ncols``,
    titled by ``titles``; white on black, as PIL shows the book's image. Returns the figure."""
    from nnxp.plot.grid import blank_figure, image_grid

    digits = as_images(images)
    digit_count(len(digits), what="the number of digits")
    ncols = max(1, min(ncols, len(digits)))
    nrows = math.ceil(len(digits) / ncols)
    fig = blank_figure(max(1.3 * ncols, 2.6), 1.4 * nrows + 0.3)
    image_grid(fig, digits, titles, ncols, cmap)
    return fig


def plot_mnist_samples(
    path: str | os.PathLike[str],
    count: int = 20,
    dataset: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    report: Callable[[str], None] | None = None,
) -> Path:
    """``nnxp plot mnist-samples``: the first ``count`` training images of MNIST, each titled
    by its label, to a PNG at ``path``."""
    from nnxp.plot.canvas import require_matplotlib, save_figure
    from nnxp.plot.data import load_splits

    digit_count(count)
    require_matplotlib()
    ((x_train, t_train), _), name = load_splits(path, dataset, data_dir, normalize=False,
                                                report=report)
    count = digit_count(count, x_train.shape[0])
    labels = [int(t) for t in np.asarray(t_train[:count])]
    if report is not None:
        report(f"mnist-samples: the first {count} of {name}'s {x_train.shape[0]} training "
               f"images, labels {' '.join(map(str, labels))}")
    fig = draw_digits(x_train[:count], [str(t) for t in labels])
    return save_figure(fig, path)
