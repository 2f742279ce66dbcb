"""The canvas every figure is drawn on: matplotlib imported only when a figure is drawn,
through its object-oriented API with the Agg canvas (no pyplot, no display, no change to a
session's global backend), and each PNG written atomically (a temporary file, a rename).
"""

from __future__ import annotations

import importlib.util
import io as _io
import os
from pathlib import Path
from typing import Any

from nnxp.errors import NnxpError

MISSING = "plotting needs matplotlib, which is not installed: pip install 'nnxp[plot]'"


def require_matplotlib() -> None:
    """Raise NnxpError now if matplotlib is missing (before a long run that ends in a plot)."""
    if importlib.util.find_spec("matplotlib") is None:
        raise NnxpError(MISSING)


def new_figure(ncols: int = 1, width: float = 6.4, height: float = 4.8,
               nrows: int = 1) -> tuple[Any, list[Any]]:
    """A matplotlib Figure on an Agg canvas and its axes, row by row in one list
    (matplotlib imported here)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise NnxpError(MISSING) from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, list(axes.ravel())


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Render ``fig`` as PNG in memory, then write it to ``path`` atomically."""
    from nnxp.files import atomic_write, output_path

    output_path(path, "figure")  # before rendering, which is the slow part
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return atomic_write(path, lambda f: f.write(buffer.getvalue()), "figure")
