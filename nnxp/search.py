"""Random hyperparameter search, the book's ``ch06/hyperparameter_optimization.py``.

Each trial draws a weight decay and a learning rate log-uniformly (the book's ranges:
``10 ** uniform(-8, -4)`` and ``10 ** uniform(-6, -2)``), trains the book's
MultiLayerNet(784, [100] * 6, 10) with that weight decay by SGD with that rate for 50 epochs
of batch 100 on a small training set, and records the train and validation accuracy before
training and after each epoch; trials are then ranked by their last validation accuracy::

    from nnxp.datasets import load_mnist, split_validation, take
    from nnxp.search import best, random_search

    (x, t), _ = load_mnist()
    (x_train, t_train), (x_val, t_val) = split_validation(*take(x, t, 500), 0.2, seed=0)
    trials = random_search(x_train, t_train, x_val, t_val, trials=100, seed=0)
    for rank, trial in enumerate(best(trials, 20), 1):
        print(rank, trial.val_acc, trial.key)

One ``seed`` gives the same trials: the hyperparameters, each net's initial weights and its
batches are drawn from ``numpy.random.default_rng(seed)`` in trial order (so a longer search
begins with the trials of a shorter one). A trial whose loss turns NaN or infinite stops
there and ranks last (``diverged`` holds why), instead of stopping the search.
``nnxp search`` runs this from the command line and :mod:`nnxp.plot.search` draws the
book's figure of the best 20.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnxp.errors import NnxpError

BOOK_LR_RANGE: tuple[float, float] = (-6.0, -2.0)
"""log10 bounds of the learning rate (the book's)."""
BOOK_WEIGHT_DECAY_RANGE: tuple[float, float] = (-8.0, -4.0)
"""log10 bounds of the weight decay lambda (the book's)."""
BOOK_HIDDEN: tuple[int, ...] = (100,) * 6
"""The book's MultiLayerNet hidden sizes for the search."""
BOOK_TRIALS, BOOK_EPOCHS, BOOK_BATCH = 100, 50, 100
LOG_BOUND = 38.0
"""log10 bounds must lie in [-38, 38], so every value drawn is a normal float32 number."""


@dataclass
class Trial:
    """One trial: its hyperparameters, the seed of its weights and batches, and what it did."""

    number: int
    """1-based, in the order the trials ran."""
    lr: float
    weight_decay: float
    seed: int
    val_acc_list: list[float] = field(default_factory=list)
    train_acc_list: list[float] = field(default_factory=list)
    seconds: float = 0.0
    diverged: str | None = None
    """Why the trial stopped early (its loss or parameters turned NaN or infinite), or None."""

    @property
    def val_acc(self) -> float:
        """The last validation accuracy (NaN for a trial that diverged)."""
        return math.nan if self.diverged or not self.val_acc_list else self.val_acc_list[-1]

    @property
    def train_acc(self) -> float:
        """The last training accuracy (NaN for a trial that diverged)."""
        return math.nan if self.diverged or not self.train_acc_list else self.train_acc_list[-1]

    @property
    def key(self) -> str:
        """The book's name for the trial: ``lr:..., weight decay:...``."""
        return f"lr:{self.lr}, weight decay:{self.weight_decay}"

    def line(self) -> str:
        """The book's line for the trial: ``val acc:0.8 | lr:..., weight decay:...``."""
        acc = "diverged" if self.diverged else f"{self.val_acc:g}"
        return f"val acc:{acc} | lr:{self.lr:.4g}, weight decay:{self.weight_decay:.4g}"

    def as_dict(self) -> dict[str, Any]:
        """The trial as JSON-ready values (NaN as None)."""
        def finite(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {"trial": self.number, "lr": self.lr, "weight_decay": self.weight_decay,
                "seed": self.seed, "val_acc": finite(self.val_acc),
                "train_acc": finite(self.train_acc), "val_acc_list": self.val_acc_list,
                "train_acc_list": self.train_acc_list, "seconds": round(self.seconds, 4),
                "diverged": self.diverged}


def best(trials: Sequence[Trial], n: int | None = None) -> list[Trial]:
    """The trials by last validation accuracy, best first (ties in trial order; diverged
    trials last), the first ``n`` of them (all by default)."""
    ranked = sorted(trials, key=lambda tr: (tr.diverged is not None,
                                            -tr.val_acc if tr.diverged is None else 0.0,
                                            tr.number))
    return ranked if n is None else ranked[:n]


def check_range(bounds: Any, what: str) -> tuple[float, float]:
    """Two finite log10 bounds, low <= high, within [-LOG_BOUND, LOG_BOUND]."""
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise NnxpError(f"{what} must be two numbers, log10 bounds such as -6 -2, got "
                        f"{bounds!r}") from None
    if not all(math.isfinite(b) and -LOG_BOUND <= b <= LOG_BOUND for b in (low, high)):
        raise NnxpError(f"{what} bounds are log10 exponents in [-{LOG_BOUND:g}, {LOG_BOUND:g}], "
                        f"got {low:g} {high:g}; e.g. -6 -2 draws values from 1e-06 to 0.01")
    if low > high:
        raise NnxpError(f"{what} goes from {low:g} up to {high:g}: give the lower bound first")
    return low, high


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise NnxpError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def draw_trials(trials: int, lr_range: Sequence[float] = BOOK_LR_RANGE,
                weight_decay_range: Sequence[float] = BOOK_WEIGHT_DECAY_RANGE,
                seed: int | None = 0) -> Iterator[Trial]:
    """The trials' hyperparameters and seeds, not yet run, drawn one at a time as they are
    asked for: for each, in the book's order, ``weight_decay = 10 **
    uniform(*weight_decay_range)``, then ``lr = 10 ** uniform(*lr_range)``, then the seed of
    its weights and batches. The arguments are checked at once, before the first draw."""
    from nnxp.datasets.split import check_seed

    trials = _count(trials, "trials")
    lr_low, lr_high = check_range(lr_range, "lr range")
    wd_low, wd_high = check_range(weight_decay_range, "weight decay range")
    rng = np.random.default_rng(check_seed(seed))

    def draws() -> Iterator[Trial]:
        for number in range(1, trials + 1):
            weight_decay = float(10 ** rng.uniform(wd_low, wd_high))
            lr = float(10 ** rng.uniform(lr_low, lr_high))
            yield Trial(number, lr, weight_decay, int(rng.integers(2**31)))

    return draws()


def run_trial(trial: Trial, x_train: Any, t_train: Any, x_val: Any, t_val: Any, *,
              epochs: int = BOOK_EPOCHS, hidden_size_list: Sequence[int] = BOOK_HIDDEN,
              batch_size: int = BOOK_BATCH, backend: Any = "numpy", dtype: str = "float32",
              sampling: str = "replace", threads: int = 1) -> Trial:
    """Train the trial's net (the book's ``__train``) and fill in its accuracy lists."""
    from nnxp.models.multi_layer import MultiLayerNet
    from nnxp.train import Trainer, TrainingDiverged

    started = time.perf_counter()
    net = MultiLayerNet(int(math.prod(x_train.shape[1:])), list(hidden_size_list), 10,
                        weight_decay_lambda=trial.weight_decay, backend=backend, dtype=dtype,
                        seed=trial.seed)
    trainer = Trainer(net, x_train, t_train, x_val, t_val, epochs=epochs,
                      mini_batch_size=batch_size, optimizer="sgd",
                      optimizer_param={"lr": trial.lr}, verbose=False, sampling=sampling,
                      seed=trial.seed, threads=threads)
    try:
        trainer.train()
    except TrainingDiverged as stop:
        trial.diverged = f"the loss or parameters turned non-finite at step {stop.step}"
    trial.val_acc_list = list(trainer.test_acc_list)
    trial.train_acc_list = list(trainer.train_acc_list)
    trial.seconds = time.perf_counter() - started
    return trial


def random_search(
    x_train: Any,
    t_train: Any,
    x_val: Any,
    t_val: Any,
    *,
    trials: int = BOOK_TRIALS,
    epochs: int = BOOK_EPOCHS,
    lr_range: Sequence[float] = BOOK_LR_RANGE,
    weight_decay_range: Sequence[float] = BOOK_WEIGHT_DECAY_RANGE,
    hidden_size_list: Sequence[int] = BOOK_HIDDEN,
    batch_size: int = BOOK_BATCH,
    seed: int | None = 0,
    backend: Any = "numpy",
    dtype: str = "float32",
    sampling: str = "replace",
    threads: int = 1,
    report: Callable[[Trial], None] | None = None,
) -> list[Trial]:
    """Run ``trials`` random trials (see the module docstring) on the training set, each
    evaluated every epoch on the validation set; ``report(trial)`` is called after each.
    Returns the trials in the order they ran (:func:`best` ranks them). Batches are drawn
    with replacement as the book's Trainer does (``sampling="shuffle"`` for permutations);
    the matrix products run on ``threads`` CPU threads (1: the fastest for these small nets;
    0: the libraries' own choice). Every argument is checked before the first trial trains."""
    from nnxp.backends import get_backend
    from nnxp.models.multi_layer import MultiLayerNet
    from nnxp.threads import check_threads

    epochs = _count(epochs, "epochs")
    threads = check_threads(threads)
    batch_size = _count(batch_size, "batch_size")
    drawn = draw_trials(trials, lr_range, weight_decay_range, seed)
    be = get_backend(backend, dtype=dtype) if isinstance(backend, str) else backend
    # the net's own checks (sizes, memory) and the data's, once, before any trial runs
    x_train, x_val = be.adopt(x_train, dtype), be.adopt(x_val, dtype)
    probe = MultiLayerNet(int(math.prod(x_train.shape[1:])), list(hidden_size_list), 10,
                          backend=be, dtype=dtype, seed=0)
    x_train, x_val = probe.check_inputs(x_train), probe.check_inputs(x_val)
    if batch_size > int(x_train.shape[0]):
        raise NnxpError(f"batch_size {batch_size} is larger than the training set "
                        f"({int(x_train.shape[0])} samples)")
    done = []
    for trial in drawn:
        done.append(run_trial(trial, x_train, t_train, x_val, t_val, epochs=epochs,
                              hidden_size_list=hidden_size_list, batch_size=batch_size,
                              backend=be, dtype=dtype, sampling=sampling, threads=threads))
        if report is not None:
            report(trial)
    return done
