"""The book's chapter-6 optimizer comparison: one MultiLayerNet per optimizer, same batches.

:func:`compare_optimizers` trains MultiLayerNet(784, [100]*4, 10) with SGD, Momentum,
AdaGrad and Adam on the same mini-batches from the same initial weights, recording the loss
of every iteration as the book's ``optimizer_compare_mnist.py`` does;
:func:`plot_optimizer_comparison` draws the smoothed curves to a PNG (matplotlib imported
lazily, Agg canvas, no pyplot state); :func:`plot_optimizers` (``nnxp plot optimizers``)
loads MNIST and runs both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.backends import Backend, get_backend
from nnxp.errors import NnxpError
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.optim import get_optimizer

BOOK_OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adagrad", "adam")
LABELS = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad",
          "rmsprop": "RMSprop", "adam": "Adam"}
MARKERS = {"sgd": "o", "momentum": "x", "adagrad": "s", "adam": "D", "nesterov": "v",
           "rmsprop": "^"}


def compare_optimizers(
    x_train: Any,
    t_train: Any,
    optimizers: Sequence[str] = BOOK_OPTIMIZERS,
    iterations: int = 2000,
    batch_size: int = 128,
    hidden_size_list: Sequence[int] = (100, 100, 100, 100),
    *,
    backend: str | Backend = "numpy",
    dtype: str = "float32",
    seed: int = 0,
) -> dict[str, list[float]]:
    """The loss after each update, per optimizer (book defaults), on flattened images.

    Every net starts from the same weights (``seed``) and sees the same batches, drawn with
    replacement on the host as the book's ``np.random.choice`` does.
    """
    if iterations < 1 or batch_size < 1:
        raise NnxpError("iterations and batch_size must be >= 1")
    be = get_backend(backend, dtype=dtype)
    xp = be.xp
    x = be.adopt(x_train, dtype)
    if not xp.isdtype(x.dtype, "real floating"):
        raise NnxpError(
            f"images must be floating point, not {x.dtype}: load them with normalize=True"
        )
    if x.ndim != 2:
        x = xp.reshape(x, (x.shape[0], -1))
    t = be.adopt(t_train)
    if t.ndim != 1:
        t = xp.argmax(t, axis=1)
    nets = {
        name: MultiLayerNet(x.shape[1], list(hidden_size_list), 10, backend=be, dtype=dtype,
                            seed=seed)
        for name in optimizers
    }
    updaters = {name: get_optimizer(name) for name in optimizers}
    losses: dict[str, list[float]] = {name: [] for name in optimizers}
    rng = be.rng(seed + 1)
    for _ in range(iterations):
        index = be.asarray(rng.integers(0, x.shape[0], batch_size))
        x_batch, t_batch = xp.take(x, index, axis=0), xp.take(t, index, axis=0)
        for name in optimizers:
            net = nets[name]
            updaters[name].update(net.params, net.gradient(x_batch, t_batch))
            losses[name].append(float(net.loss(x_batch, t_batch)))
    return losses


def smooth_curve(values: Sequence[float]) -> np.ndarray:
    """The book's smoothing of a loss curve: a Kaiser window of 11 points, edges mirrored."""
    x = np.asarray(values, dtype=np.float64)
    window_len = 11
    if len(x) < window_len:
        return x
    s = np.r_[x[window_len - 1 : 0 : -1], x, x[-1:-window_len:-1]]
    w = np.kaiser(window_len, 2)
    y = np.convolve(w / w.sum(), s, mode="valid")
    return y[5 : len(y) - 5]


def plot_optimizer_comparison(
    losses: dict[str, Sequence[float]], path: str | os.PathLike[str], ylim: float = 1.0
) -> str:
    """Draw the smoothed loss curves (the book's figure 6-9) to a PNG at path; returns path.

    The PNG is written atomically (see :func:`nnxp.plot.canvas.save_figure`).
    """
    from nnxp.plot.canvas import new_figure, save_figure

    fig, (ax,) = new_figure()
    for name, curve in losses.items():
        y = smooth_curve(curve)
        ax.plot(np.arange(len(y)), y, marker=MARKERS.get(name, "."),
                markevery=max(1, len(y) // 20), label=LABELS.get(name, name))
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss")
    ax.set_ylim(0, ylim)
    ax.legend()
    return os.fspath(save_figure(fig, path))


def plot_optimizers(
    path: str | os.PathLike[str],
    optimizers: Sequence[str] = BOOK_OPTIMIZERS,
    iters: int = 500,
    batch_size: int = 128,
    dataset: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    backend: str = "numpy",
    device: str | None = None,
    seed: int = 0,
    report: Callable[[str], None] | None = None,
) -> Path:
    """``nnxp plot optimizers``: :func:`compare_optimizers` on MNIST (float32, ``iters``
    updates each; the book runs 2000), drawn by :func:`plot_optimizer_comparison`."""
    from nnxp.plot.canvas import require_matplotlib
    from nnxp.plot.data import check_output, load_splits

    say = report or (lambda line: None)
    check_output(path)
    require_matplotlib()
    be = get_backend(backend, device, "float32")
    ((x_train, t_train), _), name = load_splits(path, dataset, data_dir, report=report)
    if batch_size > x_train.shape[0]:
        raise NnxpError(f"--batch-size {batch_size} is larger than {name}'s "
                        f"{x_train.shape[0]} training images")
    n = "iteration" if iters == 1 else "iterations"
    say(f"optimizers: MultiLayerNet {x_train.shape[1]}-100-100-100-100-10 on {name} "
        f"({x_train.shape[0]} train) with {be.name} {be.device_name} float32, {iters} {n} of "
        f"batch {batch_size} each for {', '.join(optimizers)}, seed {seed}")
    started = time.perf_counter()
    losses = compare_optimizers(x_train, t_train, optimizers, iters, batch_size, backend=be,
                                seed=seed)
    final = ", ".join(f"{key} {smooth_curve(curve)[-1]:.4f}" for key, curve in losses.items())
    say(f"final loss (smoothed): {final}; {time.perf_counter() - started:.1f} s")
    return Path(plot_optimizer_comparison(losses, path))
