"""Overfitting and its two remedies, the book's chapter-6 figures 6-20, 6-21 and 6-23.

The book's ``overfit_weight_decay.py`` and ``overfit_dropout.py`` train a deep net,
MultiLayerNet(784, [100] * 6, 10), by SGD (lr 0.01, batch 100, batches drawn with
replacement) on only the first 300 MNIST training images, and plot train and test accuracy
every epoch: without a remedy the net learns its 300 images perfectly while the test
accuracy stays far below (figure 6-20); a weight decay of 0.1 (figure 6-21) or dropout of
0.2 (MultiLayerNetExtend, figure 6-23) narrows the gap.

- :func:`overfit_history`: the accuracies per epoch, from epoch 0 (before training) on;
- :func:`overfit_figure` / :func:`draw_overfit`: the book's figure of them;
- :func:`plot_overfit`: both on MNIST, as ``nnxp plot overfit`` draws it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.errors import NnxpError
from nnxp.train.callbacks import Callback

BOOK_TRAIN_SIZE = 300
BOOK_HIDDEN: tuple[int, ...] = (100,) * 6
BOOK_LR = 0.01
BOOK_BATCH = 100
BOOK_EPOCHS = 200
"""The book's ``max_epochs = 201`` evaluations: epoch 0 (before training) to 200."""
BOOK_DROPOUT_EPOCHS = 300
"""overfit_dropout.py's Trainer: ``epochs=301`` evaluations, epoch 0 to 300."""

OnEpoch = Callable[[int, float, float], None]
"""Called as ``on_epoch(epoch, train_acc, test_acc)``, from epoch 0 on."""


class _Accuracies(Callback):
    """Train and test accuracy after every epoch, from the Trainer's epoch 0 (the untrained
    net) on, each pair also handed to ``on_epoch``."""

    def __init__(self, on_epoch: OnEpoch | None) -> None:
        self.on_epoch = on_epoch
        self.train_acc: list[float] = []
        self.test_acc: list[float] = []

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None:
        self.train_acc.append(record["train_acc"])
        self.test_acc.append(record["test_acc"])
        if self.on_epoch is not None:
            self.on_epoch(record["epoch"], record["train_acc"], record["test_acc"])


def overfit_history(
    x_train: Any,
    t_train: Any,
    x_test: Any,
    t_test: Any,
    *,
    weight_decay: float = 0.0,
    dropout: float | None = None,
    epochs: int | None = None,
    batch_size: int = BOOK_BATCH,
    lr: float = BOOK_LR,
    hidden_size_list: Sequence[int] = BOOK_HIDDEN,
    backend: Any = "numpy",
    dtype: str = "float32",
    seed: int | None = 0,
    threads: int = 1,
    on_epoch: OnEpoch | None = None,
) -> dict[str, list[float]]:
    """``{"train_acc": [...], "test_acc": [...]}``, ``epochs + 1`` values each: before
    training, then after each epoch. The book's net (MultiLayerNet; MultiLayerNetExtend with
    dropout of ratio ``dropout``) with L2 ``weight_decay``, trained by SGD on batches drawn
    with replacement; ``epochs`` defaults to the book's, 200 (300 with dropout).
    ``on_epoch(epoch, train_acc, test_acc)`` sees each pair as it is measured; the matrix
    products run on ``threads`` CPU threads (the Trainer's)."""
    from nnxp.models.multi_layer import MultiLayerNet, MultiLayerNetExtend
    from nnxp.train import Trainer

    if epochs is None:
        epochs = BOOK_EPOCHS if dropout is None else BOOK_DROPOUT_EPOCHS
    features = int(np.prod(np.shape(x_train)[1:]))
    common = {"weight_decay_lambda": weight_decay, "backend": backend, "dtype": dtype,
              "seed": seed}
    if dropout is None:
        net = MultiLayerNet(features, list(hidden_size_list), 10, **common)
    else:
        net = MultiLayerNetExtend(features, list(hidden_size_list), 10, use_dropout=True,
                                  dropout_ratio=dropout, **common)
    accuracies = _Accuracies(on_epoch)
    Trainer(net, x_train, t_train, x_test, t_test, epochs=epochs, mini_batch_size=batch_size,
            optimizer="sgd", optimizer_param={"lr": lr}, verbose=False, sampling="replace",
            seed=seed, threads=threads, callbacks=[accuracies]).train()
    return {"train_acc": accuracies.train_acc, "test_acc": accuracies.test_acc}


def overfit_figure(train_acc: Sequence[float], test_acc: Sequence[float],
                   title: str | None = None) -> Any:
    """The book's figure, as a matplotlib Figure (Agg canvas): train (circles) and test
    (squares) accuracy per epoch from epoch 0, a marker every 10 epochs, accuracy 0 to 1."""
    from nnxp.plot.canvas import new_figure

    if not len(train_acc) or len(train_acc) != len(test_acc):
        raise NnxpError(f"train and test accuracies must be two lists of one length, got "
                        f"{len(train_acc)} and {len(test_acc)} values")
    fig, (ax,) = new_figure()
    x = np.arange(len(train_acc))
    ax.plot(x, train_acc, marker="o", label="train", markevery=10)
    ax.plot(x, test_acc, marker="s", label="test", markevery=10)
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.0)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def draw_overfit(train_acc: Sequence[float], test_acc: Sequence[float],
                 path: str | os.PathLike[str], title: str | None = None) -> Path:
    """:func:`overfit_figure` written to a PNG at ``path`` (atomically)."""
    from nnxp.plot.canvas import save_figure

    return save_figure(overfit_figure(train_acc, test_acc, title), path)


def _remedy(weight_decay: float, dropout: float | None) -> str:
    parts = [f"weight decay {weight_decay:g}"] if weight_decay else []
    parts += [f"dropout {dropout:g}"] if dropout is not None else []
    return ", ".join(parts) or "no weight decay or dropout"


def plot_overfit(
    path: str | os.PathLike[str],
    *,
    weight_decay: float = 0.0,
    dropout: float | None = None,
    epochs: int | None = None,
    train_size: int = BOOK_TRAIN_SIZE,
    batch_size: int = BOOK_BATCH,
    dataset: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    backend: str = "numpy",
    device: str | None = None,
    seed: int = 0,
    report: Callable[[str], None] | None = None,
) -> Path:
    """``nnxp plot overfit``: :func:`overfit_history` on the first ``train_size`` MNIST
    training images, tested on the whole test set, drawn by :func:`draw_overfit`. The
    default is the book's figure 6-20 (no remedy); ``weight_decay=0.1`` gives figure 6-21,
    ``dropout=0.2`` figure 6-23. ``report`` gets a line at the start, every tenth of the
    run and at the end."""
    from nnxp.backends import get_backend
    from nnxp.datasets.split import check_selection, select_splits
    from nnxp.models.checks import decay, dropout_fraction
    from nnxp.plot.canvas import require_matplotlib
    from nnxp.plot.data import check_output, load_splits

    say = report or (lambda line: None)
    decay(weight_decay)
    if dropout is not None:
        dropout_fraction(dropout)
    if epochs is None:
        epochs = BOOK_EPOCHS if dropout is None else BOOK_DROPOUT_EPOCHS
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise NnxpError(f"epochs must be a positive integer, got {epochs!r}")
    check_selection(train_size=train_size, batch_size=batch_size)
    check_output(path)
    require_matplotlib()
    be = get_backend(backend, device, "float32")
    splits, name = load_splits(path, dataset, data_dir, report=report)
    (x_train, t_train), (x_test, t_test) = select_splits(
        splits, train_size=train_size, batch_size=batch_size, dataset=name)
    remedy = _remedy(weight_decay, dropout)
    say(f"overfit: MultiLayerNet {x_train.shape[1]}-100x6-10 ({remedy}) on the first "
        f"{x_train.shape[0]} {name} training images, tested on {x_test.shape[0]}; SGD lr "
        f"{BOOK_LR:g}, batch {batch_size}, {epochs} epochs, {be.name} {be.device_name}, "
        f"seed {seed}")
    every = max(1, epochs // 10)
    started = time.perf_counter()

    def on_epoch(epoch: int, train_acc: float, test_acc: float) -> None:
        if epoch and (epoch % every == 0 or epoch == epochs):
            say(f"epoch {epoch}/{epochs}: train acc {train_acc:.4f}, test acc {test_acc:.4f}")

    history = overfit_history(x_train, t_train, x_test, t_test, weight_decay=weight_decay,
                              dropout=dropout, epochs=epochs, batch_size=batch_size,
                              backend=be, seed=seed, threads=0, on_epoch=on_epoch)
    # threads=0: the caller's thread limit stands (``nnxp plot --threads``, 1 by default)
    train_acc, test_acc = history["train_acc"][-1], history["test_acc"][-1]
    say(f"final: train acc {train_acc:.4f}, test acc {test_acc:.4f} (gap "
        f"{train_acc - test_acc:.4f}); {time.perf_counter() - started:.1f} s")
    title = f"{x_train.shape[0]} training images, {remedy}"
    return draw_overfit(history["train_acc"], history["test_acc"], path, title)
