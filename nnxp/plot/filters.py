"""Chapter 7's filters drawn: the first-layer filters of a conv net at random initialisation
beside the trained ones (the book's ``visualize_filter.py``: SimpleConvNet's 30 filters of
5 x 5), and what the trained filters make of an image (``apply_filter.py``: each filter slid
over the image by nnxp's Convolution layer, bias 0 as in the book)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.errors import NnxpError

BOOK_FILTERS = "ch07/params.pkl"
"""The trained SimpleConvNet the book's chapter-7 scripts load."""
CONV_ARCHS = ("ch07", "ch08")
"""The book's pickles that hold conv filters."""
SHOWN = 16
"""Filters whose responses apply_filter.py draws."""


def filter_responses(filters: Any, image: Any, count: int = SHOWN) -> np.ndarray:
    """The first ``count`` filters (FN, C, FH, FW; channel 0 used) slid over the 2-D
    ``image`` by :class:`nnxp.conv.Convolution`, bias 0: an array (count, H', W')."""
    from nnxp.conv import Convolution

    w = np.asarray(filters, dtype=np.float64)[:count, :1]
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise NnxpError(f"the image must be 2-D (height, width), not of shape {img.shape}")
    if img.shape[0] < w.shape[2] or img.shape[1] < w.shape[3]:
        raise NnxpError(f"the image ({img.shape[0]} x {img.shape[1]}) is smaller than the "
                        f"filters ({w.shape[2]} x {w.shape[3]})")
    conv = Convolution(w, np.zeros(w.shape[0]))
    return conv.forward(img.reshape(1, 1, *img.shape))[0]


def _filter_grid(target: Any, filters: np.ndarray, title: str, ncols: int) -> None:
    from nnxp.plot.grid import image_grid

    image_grid(target, list(filters[:, 0]), ncols=ncols, cmap="gray_r", title=title)


def draw_filters(random_filters: Any, trained_filters: Any, trained_label: str = "after training",
                 ncols: int = 8) -> Any:
    """Two grids of first-layer filters (FN, C, FH, FW; channel 0 shown, dark = large as in
    the book): at random initialisation and after training. Returns the figure."""
    from nnxp.plot.grid import blank_figure

    before, after = np.asarray(random_filters), np.asarray(trained_filters)
    nrows = math.ceil(after.shape[0] / ncols)
    fig = blank_figure(2 * 0.9 * ncols + 0.6, 0.9 * nrows + 0.8)
    left, right = fig.subfigures(1, 2, wspace=0.05)
    _filter_grid(left, before, "random initialisation", ncols)
    _filter_grid(right, after, trained_label, ncols)
    return fig


def draw_filter_responses(filters: Any, image: Any, count: int = SHOWN,
                          image_label: str = "input") -> Any:
    """The image, the first ``count`` filters and their responses (the two figures of the
    book's apply_filter.py), side by side; returns the figure."""
    from nnxp.plot.grid import blank_figure, image_grid

    responses = filter_responses(filters, image, count)
    ncols = math.ceil(math.sqrt(responses.shape[0]))
    fig = blank_figure(15, 5.4)
    source, kernels, outputs = fig.subfigures(1, 3, width_ratios=[1, 1, 1])
    image_grid(source, [np.asarray(image)], ncols=1, cmap="gray", title=image_label)
    _filter_grid(kernels, np.asarray(filters)[:count], f"the first {responses.shape[0]} filters",
                 ncols)
    image_grid(outputs, list(responses), ncols=ncols, cmap="gray_r", title="their responses")
    return fig


def _trained_filters(weights: Any, path: str | os.PathLike[str],
                     inputs: dict[str, Any]) -> tuple[Any, np.ndarray, str]:
    """(net, its W1 on the host, words) for ``--weights``, the output checked first."""
    from nnxp.plot.data import check_output
    from nnxp.plot.weights import conv_filters, load_trained_net, weights_path

    source = weights_path(weights, BOOK_FILTERS)
    check_output(path, {"--weights": source, **inputs})
    net, words = load_trained_net(source, CONV_ARCHS)
    return net, conv_filters(net, words), words


def plot_filters(
    path: str | os.PathLike[str],
    weights: str | os.PathLike[str] | None = None,
    seed: int = 0,
    report: Callable[[str], None] | None = None,
) -> Path:
    """``nnxp plot filters``: the conv net of ``weights`` (a model file of a conv net, or the
    book's ch07/params.pkl under $NNXP_BOOK_DIR by default), its first-layer filters freshly
    initialised (``seed``) beside the trained ones, to a PNG at ``path``."""
    from nnxp.models.registry import build
    from nnxp.plot.canvas import require_matplotlib, save_figure
    from nnxp.plot.weights import conv_filters

    require_matplotlib()
    net, trained, words = _trained_filters(weights, path, {})
    fresh = conv_filters(build(net.config, backend="numpy", dtype=net.dtype, seed=seed), words)
    if report is not None:
        report(f"filters: the {trained.shape[0]} first-layer filters "
               f"({'x'.join(map(str, trained.shape[1:]))}) of {words}, and a fresh init "
               f"(seed {seed})")
    return save_figure(draw_filters(fresh, trained, "after training"), path)


def default_image(dataset: str | None, data_dir: Any, path: Any,
                  report: Any) -> tuple[np.ndarray, str, str]:
    """(pixels, words, title): the book's lena_gray.png under $NNXP_BOOK_DIR when no dataset
    is named, else the first MNIST test digit."""
    root = os.environ.get("NNXP_BOOK_DIR")
    lena = Path(root, "dataset", "lena_gray.png") if root else None
    if dataset is None and data_dir is None and lena is not None and lena.is_file():
        from nnxp.plot.images import read_gray_png

        return read_gray_png(lena), f"the book's {lena}", lena.name
    from nnxp.plot.data import load_splits

    (_, (x_test, t_test)), name = load_splits(path, dataset or "auto", data_dir,
                                              flatten=False, report=report)
    digit = f"{name} test digit 0 (a {int(t_test[0])})"
    return np.asarray(x_test[0, 0]), digit, digit


def plot_filter_responses(
    path: str | os.PathLike[str],
    weights: str | os.PathLike[str] | None = None,
    image: str | os.PathLike[str] | None = None,
    dataset: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    report: Callable[[str], None] | None = None,
) -> Path:
    """``nnxp plot filter-responses``: the first 16 trained filters of ``weights`` (default:
    the book's ch07/params.pkl) applied to a grayscale PNG ``image`` (default: the book's
    dataset/lena_gray.png under $NNXP_BOOK_DIR, else the first MNIST test digit of
    ``dataset``), to a PNG at ``path``."""
    from nnxp.plot.canvas import require_matplotlib, save_figure
    from nnxp.plot.images import read_gray_png

    if image is not None and (dataset is not None or data_dir is not None):
        raise NnxpError("--dataset and --data-dir choose the MNIST digit used without --image: "
                        "give either --image or them")
    require_matplotlib()
    _, filters, words = _trained_filters(weights, path, {"--image": image})
    if image is not None:
        pixels, label, title = read_gray_png(image), os.fspath(image), Path(image).name
    else:
        pixels, label, title = default_image(dataset, data_dir, path, report)
    if report is not None:
        report(f"filter-responses: {min(SHOWN, filters.shape[0])} filters of {words} applied "
               f"to {label} ({pixels.shape[0]} x {pixels.shape[1]})")
    return save_figure(draw_filter_responses(filters, pixels, SHOWN, title), path)
