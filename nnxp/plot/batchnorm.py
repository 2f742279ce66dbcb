"""The book's batch-normalization figure (figure 6-18): for 16 initial weight scales, the
training accuracy of a deep net with batch norm and without, epoch by epoch.

:func:`compare_batchnorm` trains MultiLayerNetExtend(784, [100]*5, 10) with and without
BatchNormalization from the same weights on the same batches of 1000 training images, as the
book's ``batch_norm_test.py``; :func:`draw_batchnorm` draws the 4x4 grid;
``nnxp plot batchnorm`` (:func:`plot_batchnorm`) does both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.backends import Backend, get_backend
from nnxp.errors import NnxpError
from nnxp.models.checks import check_init_std, non_negative_int, positive_int, positive_ints
from nnxp.plot.weight_init import (
    MAX_SCALES,
    Report,
    batch_within,
    check_threads,
    flat_images,
    thread_limit,
)


def book_scales(n: int = 16) -> list[float]:
    """``n`` weight scales from 1 down to 0.0001, evenly spaced in log: the book's
    ``np.logspace(0, -4, num=16)``."""
    n = positive_int("scales", n)
    if n > MAX_SCALES:
        raise NnxpError(f"scales must be at most {MAX_SCALES}, got {n}")
    return [float(w) for w in np.logspace(0, -4, num=n)]


@dataclass(frozen=True)
class BatchNormRun:
    """One panel of the figure: the weight scale and the training accuracy of the net
    without batch norm (``train_acc``) and with it (``bn_train_acc``), one per epoch."""

    weight_scale: float
    train_acc: list[float]
    bn_train_acc: list[float]


def compare_batchnorm(
    x_train: Any,
    t_train: Any,
    weight_scales: Sequence[float] | None = None,
    epochs: int = 20,
    batch_size: int = 100,
    lr: float = 0.01,
    hidden_size_list: Sequence[int] = (100, 100, 100, 100, 100),
    *,
    backend: str | Backend = "numpy",
    dtype: str = "float32",
    seed: int = 0,
    threads: int = 1,
    report: Report | None = None,
) -> list[BatchNormRun]:
    """Train a net with batch norm and one without for each weight scale (default: the
    book's 16), with SGD on batches drawn with replacement, and record the accuracy on all of
    ``x_train`` after the first update of each epoch (the book's ``i % iter_per_epoch == 0``,
    an epoch being ``len(x_train) // batch_size`` updates).

    Both nets of a scale start from the same standard-normal draws (``seed``) times the scale
    and see the same batches. A net that diverges (no batch norm at scale 1: its losses turn
    to NaN) stays at chance, as in the book's figure; NumPy's overflow warnings are silenced.
    ``report`` gets the book's lines: ``============== 1/16 ==============`` per scale and
    ``epoch:0 | 0.097 - 0.117`` (without - with) per epoch. The CPU's thread pools are
    limited to ``threads`` meanwhile (0: left alone).
    """
    from nnxp.models.multi_layer import MultiLayerNetExtend
    from nnxp.optim import SGD

    scales = book_scales() if weight_scales is None else [
        _scale(w) for w in _scale_list(weight_scales)]
    epochs = positive_int("epochs", epochs)
    seed, threads = non_negative_int("seed", seed), check_threads(threads)
    hidden = positive_ints("hidden_size_list", hidden_size_list)
    optimizer = SGD(lr=lr)
    be = get_backend(backend, dtype=dtype)
    x, t = flat_images(be, x_train, t_train, dtype)
    train_size = int(x.shape[0])
    batch_size = batch_within(batch_size, train_size)
    iter_per_epoch = max(train_size // batch_size, 1)
    runs = []
    with thread_limit(threads), np.errstate(over="ignore", invalid="ignore"):  # NumPy's words on divergence
        for n, scale in enumerate(scales, 1):
            if report is not None:
                report(f"============== {n}/{len(scales)} ==============")
            nets = [MultiLayerNetExtend(int(x.shape[1]), hidden, 10, weight_init_std=scale,
                                        use_batchnorm=bn, backend=be, dtype=dtype, seed=seed)
                    for bn in (False, True)]
            accuracies = _train_pair(nets, x, t, epochs * iter_per_epoch, iter_per_epoch,
                                     batch_size, optimizer, be.rng(seed + 1), report)
            runs.append(BatchNormRun(scale, *accuracies))
    return runs


def _train_pair(nets: list[Any], x: Any, t: Any, iterations: int, iter_per_epoch: int,
                batch_size: int, optimizer: Any, rng: np.random.Generator,
                report: Report | None) -> list[list[float]]:
    """Each net's accuracy on (x, t) after the first update of each epoch, both nets
    updated on the same batches (the book's ``__train``)."""
    xp, be = nets[0].backend.xp, nets[0].backend
    accuracies: list[list[float]] = [[] for _ in nets]
    for i in range(iterations):
        index = be.asarray(rng.integers(0, int(x.shape[0]), batch_size))
        x_batch, t_batch = xp.take(x, index, axis=0), xp.take(t, index, axis=0)
        for net in nets:
            optimizer.update(net.params, net.gradient(x_batch, t_batch))
        if i % iter_per_epoch == 0:
            for net, acc in zip(nets, accuracies, strict=True):
                acc.append(net.accuracy(x, t))
            if report is not None:
                report(f"epoch:{i // iter_per_epoch} | {accuracies[0][-1]} - "
                       f"{accuracies[1][-1]}")
    return accuracies


def draw_batchnorm(runs: Sequence[BatchNormRun], path: str | os.PathLike[str]) -> Path:
    """The grid of figure 6-18 (4x4 for 16 scales): per scale, the accuracy with batch norm
    (solid) and without (dashed) by epoch, the legend in the last panel. Returns the path."""
    from nnxp.plot.canvas import new_figure, save_figure

    if not runs:
        raise NnxpError("no runs to draw")
    ncols = math.ceil(math.sqrt(len(runs)))
    nrows = math.ceil(len(runs) / ncols)
    width, height = 3.0 * ncols, 2.4 * nrows + 0.6
    fig, axes = new_figure(ncols, width, height, nrows)
    fig.set_layout_engine(None)  # the constrained layout of 16 panels takes a second more
    fig.subplots_adjust(left=0.7 / width, right=1 - 0.15 / width, bottom=0.5 / height,
                        top=1 - 0.35 / height, wspace=0.06, hspace=0.3)
    for i, (ax, run) in enumerate(zip(axes, runs, strict=False)):
        x = np.arange(len(run.train_acc))
        ax.plot(x, run.bn_train_acc, label="Batch Normalization")
        ax.plot(x, run.train_acc, linestyle="--", label="Normal(without BatchNorm)")
        ax.set_title(f"W:{run.weight_scale:.3g}")
        ax.set_ylim(0, 1.0)
        if i % ncols:
            ax.set_yticks([])
        else:
            ax.set_ylabel("accuracy")
        if i < len(runs) - ncols:
            ax.set_xticks([])
        else:
            ax.set_xlabel("epochs")
    for ax in axes[len(runs):]:
        ax.set_axis_off()
    axes[len(runs) - 1].legend(loc="lower right", fontsize=7)
    return save_figure(fig, path)


def plot_batchnorm(
    path: str | os.PathLike[str], *, weight_scales: Sequence[float] | None = None,
    epochs: int = 20, train_size: int = 1000, batch_size: int = 100, lr: float = 0.01,
    dataset: str = "auto", data_dir: str | os.PathLike[str] | None = None,
    backend: str = "numpy", device: str | None = None, seed: int = 0,
    report: Report | None = None,
) -> Path:
    """``nnxp plot batchnorm``: :func:`compare_batchnorm` on the first ``train_size`` MNIST
    training images (by default the book's 1000, 16 scales, 20 epochs of batch 100), the
    grid to a PNG; ``report`` gets the book's lines and a summary. The caller limits the
    CPU's threads (``nnxp plot --threads``)."""
    from nnxp.optim import SGD
    from nnxp.plot.canvas import require_matplotlib
    from nnxp.plot.data import check_output, load_splits

    scales = book_scales() if weight_scales is None else [
        _scale(w) for w in _scale_list(weight_scales)]
    epochs, train_size = positive_int("epochs", epochs), positive_int("train_size", train_size)
    batch_size, seed = positive_int("batch_size", batch_size), non_negative_int("seed", seed)
    lr = SGD(lr).lr
    if batch_size > train_size:
        raise NnxpError(f"batch size {batch_size} is larger than the {train_size} training "
                        "images")
    check_output(path)
    require_matplotlib()
    be = get_backend(backend, device, "float32")
    ((x_train, t_train), _), name = load_splits(path, dataset, data_dir, report=report)
    if train_size > x_train.shape[0]:
        raise NnxpError(f"train_size {train_size} is more than {name}'s {x_train.shape[0]} "
                        "training images")
    say = report or (lambda line: None)
    say(f"batchnorm: MultiLayerNetExtend {x_train.shape[1]}-100-100-100-100-100-10 with and "
        f"without batch norm on the first {train_size} images of {name}, {len(scales)} "
        f"weight scales, {epochs} epochs of batch {batch_size}, SGD lr {lr}, {be.name} "
        f"{be.device_name} float32, seed {seed}")
    runs = compare_batchnorm(x_train[:train_size], t_train[:train_size], scales, epochs,
                             batch_size, lr, backend=be, seed=seed, threads=0, report=report)
    better = sum(run.bn_train_acc[-1] > run.train_acc[-1] for run in runs)
    say(f"last epoch: batch norm ahead at {better} of {len(runs)} weight scales")
    return draw_batchnorm(runs, path)


def _scale_list(weight_scales: Any) -> list[Any]:
    """weight_scales as a list of 1 to MAX_SCALES values, or a one-line NnxpError."""
    if isinstance(weight_scales, str) or not isinstance(weight_scales, Sequence | np.ndarray):
        raise NnxpError(f"weight_scales must be a list of numbers, got {weight_scales!r:.40}")
    values = list(weight_scales)
    if not 1 <= len(values) <= MAX_SCALES:
        raise NnxpError(f"weight_scales must hold 1 to {MAX_SCALES} numbers, got {len(values)}")
    return values


def _scale(w: Any) -> float:
    """A weight scale as a float if it is a finite number > 0, else a one-line NnxpError."""
    if isinstance(w, str):
        raise NnxpError(f"a weight scale must be a number > 0, got {w!r:.40}")
    return float(check_init_std(w))


__all__ = ["BatchNormRun", "book_scales", "compare_batchnorm", "draw_batchnorm",
           "plot_batchnorm"]
