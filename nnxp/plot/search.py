"""The book's figure of a random hyperparameter search: the best trials' accuracy curves.

:func:`search_figure` (and :func:`plot_search`, to a PNG) draws what the book's
``hyperparameter_optimization.py`` shows: for each of the best 20 trials (by last validation
accuracy), in a grid of 5 columns, the validation accuracy per epoch (solid) and the
training accuracy (dashed), titled ``Best-1`` to ``Best-20``, accuracy from 0 to 1; tick
labels only on the first column's accuracy axis.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.errors import NnxpError

BOOK_DRAWN, BOOK_COLUMNS = 20, 5
"""The book draws the best 20 trials, 5 to a row."""


def search_figure(trials: Sequence[Any], n: int = BOOK_DRAWN, columns: int = BOOK_COLUMNS
                  ) -> Any:
    """The best ``n`` of ``trials`` (:class:`nnxp.search.Trial`, ranked by
    :func:`nnxp.search.best`), ``columns`` to a row, as a matplotlib Figure (Agg canvas)."""
    from nnxp.plot.canvas import new_figure
    from nnxp.search import best

    if not trials:
        raise NnxpError("no trial to draw: run at least one")
    drawn = best(trials, n)
    columns = max(1, min(columns, len(drawn)))
    rows = math.ceil(len(drawn) / columns)
    fig, axes = new_figure(columns, 2.4 * columns, 2.0 * rows + 0.3, rows)
    for rank, (trial, ax) in enumerate(zip(drawn, axes, strict=False), 1):
        ax.set_title(f"Best-{rank}")
        ax.set_ylim(0.0, 1.0)
        if (rank - 1) % columns:
            ax.set_yticks([])
        ax.set_xticks([])
        ax.plot(np.arange(len(trial.val_acc_list)), trial.val_acc_list)
        ax.plot(np.arange(len(trial.train_acc_list)), trial.train_acc_list, "--")
    for ax in axes[len(drawn):]:
        ax.set_visible(False)
    fig.suptitle("validation accuracy (solid) and training accuracy (dashed) per epoch")
    return fig


def plot_search(trials: Sequence[Any], path: str | os.PathLike[str], n: int = BOOK_DRAWN,
                columns: int = BOOK_COLUMNS) -> Path:
    """:func:`search_figure` written to a PNG at ``path`` (atomically); returns the path."""
    from nnxp.plot.canvas import save_figure

    return save_figure(search_figure(trials, n, columns), path)
