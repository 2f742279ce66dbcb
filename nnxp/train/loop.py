"""The training loop: the book's mini-batch loop (its common/trainer.py), on any backend.

The data is moved to the net's backend, device and dtype once; mini-batch indices are drawn
on the host from ``numpy.random.Generator(PCG64(seed))`` (one seed, the same batches on every
backend), moved to the device once per epoch and gathered there with ``xp.take``. Step
losses stay on the device and are brought to the host in groups, for the history, the
progress bar and the NaN check, so a GPU is not made to wait every step. Everything else a
run does (progress bar, epoch lines, model, metrics and plot files, the divergence stop) is a
callback (:mod:`nnxp.train.callbacks`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nnxp.backends import HALF, check_train_dtype
from nnxp.errors import NnxpError
from nnxp.functions import check_label_range, check_labels
from nnxp.optim import get_optimizer
from nnxp.threads import DEFAULT_THREADS, check_threads, limit_threads
from nnxp.train.callbacks import (
    HOOKS,
    Callback,
    Checkpoint,
    DivergenceGuard,
    EpochLog,
    HistoryPlot,
    MetricsLog,
    ProgressBar,
    TrainingDiverged,
    advice,
)
from nnxp.train.evaluate import accuracy

SAMPLINGS: tuple[str, ...] = ("shuffle", "replace")
"""shuffle: each epoch visits a fresh permutation; replace: the book's np.random.choice."""

GRADIENTS: tuple[str, ...] = ("backprop", "numerical")

FLUSH_EVERY = 50
"""Step losses are copied to the host (and checked for NaN) every this many steps."""


class Trainer:
    """Train ``network`` by mini-batch gradient descent and record how it went.

    Follows the book's Trainer: ``epochs`` passes of ``mini_batch_size`` batches (or exactly
    ``iters`` steps, the last epoch then partial), evaluation of train and test accuracy at
    the end of each epoch (on the first ``evaluate_sample_num_per_epoch`` samples when given,
    in chunks of ``eval_batch_size``) and once before the first step, as the book's Trainer
    evaluates at iteration 0; the lists ``train_loss_list`` (one value per step: the batch's
    cross-entropy before the update), ``train_acc_list`` and ``test_acc_list`` (epochs + 1
    values: the untrained net's first). ``records`` holds one dict per evaluation, epoch 0
    (step 0, ``train_loss`` None) first.
    ``optimizer`` is a name from :data:`nnxp.optim.OPTIMIZERS` or an object with
    ``update(params, grads)``. ``sampling="replace"`` draws each batch with replacement as the
    book's chapter scripts do.

    ``callbacks`` (:mod:`nnxp.train.callbacks`) run after the built-in ones, which the other
    keywords add: a :class:`DivergenceGuard` always (unless ``callbacks`` holds one), a
    :class:`ProgressBar` (``progress`` and ``verbose``), an :class:`EpochLog` (``verbose``,
    to ``out``), a :class:`Checkpoint` (``save_path``: the model after every good epoch, so a
    NaN keeps the last good file, with ``save_info`` in its metadata), a :class:`MetricsLog`
    (``metrics_path``: one JSON line per epoch) and a :class:`HistoryPlot` (``plot_path``: a
    PNG of accuracy per epoch and loss per step at the end).

    ``threads``: the CPU threads of the matrix products while it trains (1 by default, as
    ``nnxp train --threads``; 0 leaves the libraries' own choice): see :mod:`nnxp.threads`.
    """

    def __init__(
        self,
        network: Any,
        x_train: Any,
        t_train: Any,
        x_test: Any,
        t_test: Any,
        epochs: int = 20,
        mini_batch_size: int = 100,
        optimizer: str | Any = "sgd",
        optimizer_param: Mapping[str, Any] | None = None,
        evaluate_sample_num_per_epoch: int | None = None,
        verbose: bool = True,
        *,
        iters: int | None = None,
        sampling: str = "shuffle",
        gradient: str = "backprop",
        seed: int | None = None,
        eval_batch_size: int = 10_000,
        progress: bool = True,
        save_path: str | Path | None = None,
        save_info: Mapping[str, Any] | None = None,
        metrics_path: str | Path | None = None,
        plot_path: str | Path | None = None,
        out: TextIO | None = None,
        callbacks: Sequence[Any] = (),
        threads: int = DEFAULT_THREADS,
    ) -> None:
        from nnxp.files import distinct_outputs

        if getattr(network, "dtype", None) == HALF:  # float16 nets are for inference
            check_train_dtype(HALF)
        self.network = network
        be = self.backend = network.backend
        self.x_train, self.t_train = self._batch(x_train, t_train)
        self.x_test, self.t_test = self._batch(x_test, t_test)
        self.train_size = int(self.x_train.shape[0])

        if not isinstance(mini_batch_size, int) or mini_batch_size < 1:
            raise NnxpError(f"mini-batch size must be a positive integer, got {mini_batch_size!r}")
        if mini_batch_size > self.train_size:
            raise NnxpError(
                f"mini-batch size {mini_batch_size} is larger than the training set "
                f"({self.train_size} samples); use a batch size of at most {self.train_size}"
            )
        if sampling not in SAMPLINGS:
            raise NnxpError(f"unknown sampling {sampling!r}: use one of {', '.join(SAMPLINGS)}")
        if gradient not in GRADIENTS:
            raise NnxpError(f"unknown gradient {gradient!r}: use one of {', '.join(GRADIENTS)}")
        self.batch_size = mini_batch_size
        self.iter_per_epoch = max(self.train_size // mini_batch_size, 1)
        if iters is not None:
            if not isinstance(iters, int) or iters < 1:
                raise NnxpError(f"iterations must be a positive integer, got {iters!r}")
            self.max_iter = iters
        else:
            if not isinstance(epochs, int) or epochs < 1:
                raise NnxpError(f"epochs must be a positive integer, got {epochs!r}")
            self.max_iter = epochs * self.iter_per_epoch
        self.epochs = math.ceil(self.max_iter / self.iter_per_epoch)

        self.optimizer_name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
        if optimizer_param is None:
            lr = 0.01 if isinstance(optimizer, str) else getattr(optimizer, "lr", None)
            optimizer_param = {} if lr is None else {"lr": lr}
        self.optimizer_param = dict(optimizer_param)
        self.optimizer = (
            get_optimizer(optimizer, **self.optimizer_param)
            if isinstance(optimizer, str)
            else optimizer
        )
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.eval_batch_size = max(int(eval_batch_size), 1)
        self.verbose = verbose
        self.progress = progress and verbose
        self.threads = check_threads(threads)
        self.sampling, self.gradient, self.seed = sampling, gradient, seed
        self.rng = be.rng(seed)
        self.out = out
        self.callbacks = self._callbacks(callbacks, save_path, save_info, metrics_path,
                                         plot_path)
        if not all(getattr(cb, "reporting", True) for cb in self.callbacks):
            self.callbacks = [cb for cb in self.callbacks if not getattr(cb, "reports", False)]
        outputs: dict[str, Any] = {}
        for cb in self.callbacks:
            for option, path in (cb.outputs() if hasattr(cb, "outputs") else {}).items():
                outputs[option if option not in outputs else f"{option} ({len(outputs)})"] = path
        distinct_outputs(outputs)
        self._hooks: dict[str, list[Callable[..., None]]] = {
            name: [getattr(cb, name) for cb in self.callbacks
                   if callable(getattr(cb, name, None))
                   and getattr(type(cb), name, None) is not getattr(Callback, name)]
            for name in HOOKS
        }

        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []
        self.records: list[dict[str, Any]] = []
        self.final: dict[str, Any] = {}
        self.step_seconds = 0.0
        self._pending: list[Any] = []

    def _callbacks(self, extra: Sequence[Any], save_path: str | Path | None,
                   save_info: Mapping[str, Any] | None, metrics_path: str | Path | None,
                   plot_path: str | Path | None) -> list[Any]:
        """The built-in callbacks the keywords ask for, then ``extra`` in its order."""
        built: list[Any] = []
        if not any(isinstance(cb, DivergenceGuard) for cb in extra):
            built.append(DivergenceGuard())
        if self.progress:
            built.append(ProgressBar())
        if self.verbose:
            built.append(EpochLog(self.out))
        if save_path is not None:
            built.append(Checkpoint(save_path, dict(save_info or {})))
        if metrics_path is not None:
            built.append(MetricsLog(metrics_path))
        if plot_path is not None:
            built.append(HistoryPlot(plot_path))
        return [*built, *extra]

    def _call(self, hook: str, *args: Any) -> None:
        """Call ``hook`` on every callback that defines it, in order."""
        for fn in self._hooks[hook]:
            fn(self, *args)

    def _batch(self, x: Any, t: Any) -> tuple[Any, Any]:
        """Inputs and labels checked once, here, as the net's public methods check them (the
        labels' range on the host, before they are moved), so the steps need no checks: the
        labels as int64 class indices on the device (one-hot rows are reduced once)."""
        net, be = self.network, self.backend
        x = net.check_inputs(x)
        if isinstance(t, list | tuple):
            t = np.asarray(t)
        if hasattr(t, "shape") and t.ndim >= 1 and int(t.shape[0]) != int(x.shape[0]):
            raise NnxpError(f"{int(x.shape[0])} inputs but {int(t.shape[0])} labels; pass one "
                            "label per input")
        t = check_labels(t, (int(x.shape[0]), net.classes))
        check_label_range(t, net.classes)
        if isinstance(t, np.ndarray) and t.ndim == 2:
            t = np.argmax(t, axis=1)
        t = be.adopt(t)
        xp = be.xp
        if t.ndim == 2:
            t = xp.argmax(t, axis=1)
        return x, xp.astype(t, xp.int64) if t.dtype != xp.int64 else t

    @property
    def history(self) -> dict[str, Any]:
        """train_loss per step, train_acc and test_acc per epoch, and the epoch records."""
        return {
            "train_loss": list(self.train_loss_list),
            "train_acc": list(self.train_acc_list),
            "test_acc": list(self.test_acc_list),
            "epochs": [dict(r) for r in self.records],
        }

    def _batch_indices(self, steps: int) -> Any:
        """The next epoch's batch indices, ``steps * batch_size`` of them, on the device."""
        n = steps * self.batch_size
        if self.sampling == "shuffle":
            host = self.rng.permutation(self.train_size)[:n]
        else:
            host = self.rng.integers(0, self.train_size, size=n)
        return self.backend.asarray(host.astype(np.int64))

    def train_step(self, x_batch: Any, t_batch: Any) -> Any:
        """One update on a batch; returns its loss before the update, as a device scalar."""
        net = self.network
        if self.gradient == "backprop":
            grads = net._gradient(x_batch, t_batch)
            loss = net.last_layer.loss
        else:
            net._loss(x_batch, t_batch, train_flg=True)  # draws the masks the gradient holds
            loss = net.last_layer.loss
            grads = net._numerical_gradient(x_batch, t_batch)
        for hook in self._hooks["on_gradients"]:
            grads, loss = hook(self, grads, loss)
        self.optimizer.update(net.params, grads)
        return loss

    def step(self, batch_indices: Any) -> list[float]:
        """One iteration of the training loop, everything the loop does per step.

        Gathers the batch on the device by ``batch_indices``, updates the net, keeps the loss
        on the device, and every FLUSH_EVERY steps brings the pending losses to the host and
        returns them (else an empty list). Benchmarks time exactly this method.
        """
        xp = self.backend.xp
        for hook in self._hooks["on_batch"]:
            batch_indices = hook(self, batch_indices)
        loss = self.train_step(
            xp.take(self.x_train, batch_indices, axis=0),
            xp.take(self.t_train, batch_indices, axis=0),
        )
        self._pending.append(loss)
        self.current_iter += 1
        if len(self._pending) >= FLUSH_EVERY:
            return self._flush(self.current_epoch + 1)
        return []

    def _flush(self, epoch: int) -> list[float]:
        """Bring the pending step losses to the host, show them to the ``on_flush`` hooks (the
        divergence guard stops at a NaN), and add them to the history; returns them."""
        if not self._pending:
            return []
        xp = self.backend.xp
        values = self.backend.to_numpy(xp.stack(self._pending)).astype(np.float64)
        self._pending = []
        first = len(self.train_loss_list) + 1
        try:
            self._call("on_flush", values, first, epoch)
        except TrainingDiverged as stop:
            self.train_loss_list.extend(values[: max(stop.step - first, 0)].tolist())
            raise
        losses = values.tolist()
        self.train_loss_list.extend(losses)
        return losses

    def accuracy(self, x: Any, t: Any, n: int | None = None) -> float:
        """Accuracy on the first ``n`` samples (all by default), predicted in chunks (or as
        an ``on_accuracy`` hook computes it: split over the processes of a job)."""
        for hook in self._hooks["on_accuracy"]:
            value = hook(self, x, t, n)
            if value is not None:
                return value
        return accuracy(self.network, x, t, n, self.eval_batch_size)

    def train(self) -> dict[str, Any]:
        """Run every step, evaluating each epoch, on ``threads`` CPU threads; returns
        :attr:`history`.

        Raises :class:`TrainingDiverged` when a loss or a parameter is NaN or infinite
        (NumPy's overflow warnings are silenced meanwhile: the check reports it once). Every
        callback's ``on_error`` sees an exception before it propagates.
        """
        with limit_threads(self.threads), np.errstate(over="ignore", invalid="ignore",
                                                      divide="ignore"):
            try:
                return self._train()
            except BaseException as error:
                self._call("on_error", error)
                raise

    def _train(self) -> dict[str, Any]:
        be, bs = self.backend, self.batch_size
        start = time.perf_counter()
        self._call("on_train_begin")
        self._evaluate(0, [], start, start)  # the untrained net, as the book's Trainer at step 0
        step_hooks = self._hooks["on_step_end"]
        while self.current_iter < self.max_iter:
            epoch = self.current_epoch + 1
            steps = min(self.iter_per_epoch, self.max_iter - self.current_iter)
            epoch_start = time.perf_counter()
            indices = self._batch_indices(steps)
            self._call("on_epoch_begin", epoch, steps)
            losses: list[float] = []
            for i in range(steps):
                flushed = self.step(indices[i * bs : (i + 1) * bs])
                if flushed:
                    losses += flushed
                for hook in step_hooks:
                    hook(self, flushed)
            losses += self._flush(epoch)
            be.synchronize()
            self.step_seconds += time.perf_counter() - epoch_start
            self.current_epoch = epoch
            self._call("on_epoch_steps_end", epoch)
            self._evaluate(epoch, losses, epoch_start, start)
        n_eval = self.evaluate_sample_num_per_epoch
        train_acc, test_acc = self.train_acc_list[-1], self.test_acc_list[-1]
        if n_eval is not None and n_eval < max(self.train_size, int(self.x_test.shape[0])):
            train_acc = self.accuracy(self.x_train, self.t_train)
            test_acc = self.accuracy(self.x_test, self.t_test)
        total = time.perf_counter() - start
        self.final = {
            "train_acc": train_acc,
            "test_acc": test_acc,
            "train_loss": self.records[-1]["train_loss"],
            "steps": self.current_iter,
            "epochs": self.current_epoch,
            "seconds": total,
            "seconds_per_step": self.step_seconds / max(self.current_iter, 1),
        }
        self._call("on_train_end")
        return self.history

    def _evaluate(self, epoch: int, losses: list[float], epoch_start: float,
                  start: float) -> dict[str, Any]:
        """Score the net on train and test data after ``epoch`` (0: before any step), add
        the epoch's record (``train_loss``: the mean of its step losses, None for epoch 0)
        and call the ``on_epoch_end`` hooks."""
        n_eval = self.evaluate_sample_num_per_epoch
        train_acc = self.accuracy(self.x_train, self.t_train, n_eval)
        test_acc = self.accuracy(self.x_test, self.t_test, n_eval)
        self.train_acc_list.append(train_acc)
        self.test_acc_list.append(test_acc)
        now = time.perf_counter()
        record = {
            "epoch": epoch,
            "step": self.current_iter,
            "train_loss": float(np.mean(losses)) if losses else None,
            "train_acc": train_acc,
            "test_acc": test_acc,
            "epoch_seconds": round(now - epoch_start, 4),
            "seconds": round(now - start, 4),
        }
        self.records.append(record)
        self._call("on_epoch_end", record)
        return record

    def _advice(self) -> str:
        """What to try after a divergence (the guard's advice, naming the optimizer's lr)."""
        return advice(self)

    def settings(self) -> dict[str, Any]:
        """The training settings, as saved in model files."""
        return {
            "iters": self.max_iter,
            "epochs": self.epochs,
            "mini_batch_size": self.batch_size,
            "optimizer": self.optimizer_name,
            "optimizer_param": self.optimizer_param,
            "sampling": self.sampling,
            "gradient": self.gradient,
            "seed": self.seed,
            "backend": self.backend.name,
            "device": str(self.backend.device),
            "threads": self.threads,
        }
