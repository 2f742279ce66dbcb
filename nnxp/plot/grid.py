"""Grids of small images (digits, filters, filter responses) on one figure, without ticks,
as the book draws them with ``add_subplot(ny, nx, i + 1, xticks=[], yticks=[])``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnxp.plot.canvas import new_figure


def blank_figure(width: float, height: float) -> Any:
    """An Agg figure of ``width`` x ``height`` inches with no axes (for subfigures)."""
    fig, axes = new_figure(1, width, height)
    for ax in axes:
        ax.remove()
    return fig


def image_grid(
    target: Any,
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray_r",
    title: str | None = None,
) -> list[Any]:
    """Draw each 2-D image in a grid of ``ncols`` columns on ``target`` (a matplotlib Figure
    or SubFigure), each titled by ``titles`` when given; returns the axes used."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    axes = list(np.ravel(target.subplots(nrows, ncols, squeeze=False)))
    for i, ax in enumerate(axes):
        if i >= n:
            ax.set_axis_off()
            continue
        ax.imshow(np.asarray(images[i]), cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if title:
        target.suptitle(title)
    return axes[:n]
