"""Training: the book's mini-batch loop (its common/trainer.py), on any backend.

The data is moved to the net's backend, device and dtype once; mini-batch indices are drawn
on the host from ``numpy.random.Generator(PCG64(seed))`` (one seed, the same batches on every
backend), moved to the device once per epoch and gathered there with ``xp.take``. Step
losses stay on the device and are brought to the host in groups, for the history, the
progress bar and the NaN check, so a GPU is not made to wait every step.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nnxp.errors import NnxpError
from nnxp.functions import check_label_range, check_labels
from nnxp.optim import get_optimizer

SAMPLINGS: tuple[str, ...] = ("shuffle", "replace")
"""shuffle: each epoch visits a fresh permutation; replace: the book's np.random.choice."""

GRADIENTS: tuple[str, ...] = ("backprop", "numerical")

FLUSH_EVERY = 50
"""Step losses are copied to the host (and checked for NaN) every this many steps."""


class TrainingDiverged(NnxpError):
    """The loss became NaN or infinite; training stopped at ``step``."""

    def __init__(self, message: str, step: int, epoch: int) -> None:
        super().__init__(message)
        self.step = step
        self.epoch = epoch


class Trainer:
    """Train ``network`` by mini-batch gradient descent and record how it went.

    Follows the book's Trainer: ``epochs`` passes of ``mini_batch_size`` batches (or exactly
    ``iters`` steps, the last epoch then partial), evaluation of train and test accuracy at
    the end of each epoch (on the first ``evaluate_sample_num_per_epoch`` samples when given,
    in chunks of ``eval_batch_size``), and the lists ``train_loss_list`` (one value per step:
    the batch's cross-entropy before the update), ``train_acc_list`` and ``test_acc_list``.
    ``optimizer`` is a name from :data:`nnxp.optim.OPTIMIZERS` or an object with
    ``update(params, grads)``. ``sampling="replace"`` draws each batch with replacement as the
    book's chapter scripts do. ``save_path`` gets the model after every good epoch (so a
    NaN keeps the last good file), ``metrics_path`` one JSON line per epoch, ``plot_path``
    a PNG of accuracy per epoch and loss per step at the end.
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
    ) -> None:
        from nnxp.files import distinct_outputs

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
        self.sampling, self.gradient, self.seed = sampling, gradient, seed
        self.rng = be.rng(seed)
        distinct_outputs({"save_path": save_path, "metrics_path": metrics_path,
                          "plot_path": plot_path})
        self.save_path = Path(save_path) if save_path is not None else None
        self.save_info = dict(save_info or {})
        self.metrics_path = Path(metrics_path) if metrics_path is not None else None
        self.plot_path = Path(plot_path) if plot_path is not None else None
        if self.plot_path is not None:
            from nnxp.plot import require_matplotlib

            require_matplotlib()
        self.out = out

        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []
        self.records: list[dict[str, Any]] = []
        self.final: dict[str, Any] = {}
        self.step_seconds = 0.0
        self._pending: list[Any] = []

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

    def _print(self, line: str) -> None:
        if self.verbose:
            print(line, file=self.out or sys.stdout, flush=True)

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
        self.optimizer.update(net.params, grads)
        return loss

    def step(self, batch_indices: Any) -> list[float]:
        """One iteration of the training loop, everything the loop does per step.

        Gathers the batch on the device by ``batch_indices``, updates the net, keeps the loss
        on the device, and every FLUSH_EVERY steps brings the pending losses to the host and
        returns them (else an empty list). Benchmarks time exactly this method.
        """
        xp = self.backend.xp
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
        """Bring the pending step losses to the host; stop if one is NaN or infinite."""
        if not self._pending:
            return []
        xp = self.backend.xp
        values = self.backend.to_numpy(xp.stack(self._pending)).astype(np.float64)
        self._pending = []
        first = len(self.train_loss_list) + 1
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            self.train_loss_list.extend(values[: bad[0]].tolist())
            step = first + int(bad[0])
            raise TrainingDiverged(
                f"training stopped: the loss is {values[bad[0]]} at step {step} (epoch {epoch}); "
                f"{self._kept()}{self._advice()}",
                step,
                epoch,
            )
        self.train_loss_list.extend(values.tolist())
        return values.tolist()

    def accuracy(self, x: Any, t: Any, n: int | None = None) -> float:
        """Accuracy on the first ``n`` samples (all by default), predicted in chunks."""
        total = int(x.shape[0]) if n is None else min(int(n), int(x.shape[0]))
        return self.network.accuracy(x[:total, ...], t[:total], self.eval_batch_size)

    def train(self) -> dict[str, Any]:
        """Run every step, evaluating each epoch; returns :attr:`history`.

        Raises :class:`TrainingDiverged` when a loss or a parameter is NaN or infinite
        (NumPy's overflow warnings are silenced meanwhile: the check reports it once).
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train()

    def _train(self) -> dict[str, Any]:
        be, bs = self.backend, self.batch_size
        n_eval = self.evaluate_sample_num_per_epoch
        start = time.perf_counter()
        while self.current_iter < self.max_iter:
            epoch = self.current_epoch + 1
            steps = min(self.iter_per_epoch, self.max_iter - self.current_iter)
            epoch_start = time.perf_counter()
            indices = self._batch_indices(steps)
            bar = self._bar(epoch, steps)
            losses: list[float] = []
            try:
                for i in range(steps):
                    flushed = self.step(indices[i * bs : (i + 1) * bs])
                    if flushed:
                        losses += flushed
                        if bar is not None:
                            bar.set_postfix(loss=f"{np.mean(flushed):.4f}", refresh=False)
                    if bar is not None:
                        bar.update(1)
                losses += self._flush(epoch)
            finally:
                if bar is not None:
                    bar.close()
            be.synchronize()
            self.step_seconds += time.perf_counter() - epoch_start
            self.current_epoch = epoch
            self._check_params(epoch)
            train_acc = self.accuracy(self.x_train, self.t_train, n_eval)
            test_acc = self.accuracy(self.x_test, self.t_test, n_eval)
            self.train_acc_list.append(train_acc)
            self.test_acc_list.append(test_acc)
            now = time.perf_counter()
            record = {
                "epoch": epoch,
                "step": self.current_iter,
                "train_loss": float(np.mean(losses)),
                "train_acc": train_acc,
                "test_acc": test_acc,
                "epoch_seconds": round(now - epoch_start, 4),
                "seconds": round(now - start, 4),
            }
            self.records.append(record)
            self._print(
                f"epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}  step {self.current_iter}"
                f"  loss {record['train_loss']:.4f}  train acc {train_acc:.4f}"
                f"  test acc {test_acc:.4f}  {record['epoch_seconds']:.1f} s"
            )
            if self.current_iter < self.max_iter:
                self._checkpoint()
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
        self._checkpoint()
        if self.plot_path is not None:
            from nnxp.plot import plot_history

            plot_history(self.history, self.plot_path)
        return self.history

    def _check_params(self, epoch: int) -> None:
        """Stop before saving if an update left a parameter NaN or infinite."""
        xp = self.backend.xp
        params = self.network.params
        finite = [xp.all(xp.isfinite(params[key])) for key in params]
        if not all(bool(f) for f in finite):
            bad = [key for key, f in zip(params, finite, strict=True) if not bool(f)]
            raise TrainingDiverged(
                f"training stopped: parameters {', '.join(bad)} are not finite after step "
                f"{self.current_iter} (epoch {epoch}); {self._kept()}{self._advice()}",
                self.current_iter,
                epoch,
            )

    def _advice(self) -> str:
        lr = getattr(self.optimizer, "lr", None)
        now = f" (now {lr:g})" if isinstance(lr, int | float) else ""
        return f"lower the learning rate{now} or check the data"

    def _kept(self) -> str:
        """What became of the model file at a stop: the last good epoch, or left alone."""
        if self.save_path is None:
            return ""
        if self.records:
            return f"{self.save_path} keeps the model of epoch {len(self.records)}; "
        return f"{self.save_path} was not written; "

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
        }

    def _checkpoint(self) -> None:
        """Write the model and metrics files for the epochs done so far (atomically)."""
        from nnxp.io import atomic_write_text, save_model

        if self.save_path is not None:
            last = self.records[-1]
            result = self.final or {
                "steps": self.current_iter,
                "epochs": self.current_epoch,
                "train_acc": last["train_acc"],
                "test_acc": last["test_acc"],
                "train_loss": last["train_loss"],
            }
            info = {**self.save_info, "training": {**self.settings(), "result": result}}
            save_model(self.save_path, self.network, info)
        if self.metrics_path is not None:
            text = "".join(json.dumps(r) + "\n" for r in self.records)
            atomic_write_text(self.metrics_path, text)

    def _bar(self, epoch: int, steps: int) -> Any:
        """A tqdm bar for one epoch, or None when progress is off."""
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(
            total=steps, desc=f"epoch {epoch}/{self.epochs}", unit="step", leave=False,
            disable=None,
        )


def predict_labels(
    network: Any, x: Any, batch_size: int = 10_000, max_bytes: int = 64 << 20
) -> np.ndarray:
    """The class each sample's highest score picks, as a host int64 array, predicted in chunks
    so the widest layer's activations for a chunk stay under ``max_bytes`` (a legitimately
    wide model evaluates in bounded memory); ``batch_size`` caps the chunk (conv nets, whose
    widest activations the parameters do not show, rely on it)."""
    be = network.backend
    xp = be.xp
    x = be.adopt(x, network.dtype)
    widths = [int(n) for key in network.params for n in network.params[key].shape[-2:]
              if len(network.params[key].shape) == 2]
    per_sample = max([*widths, int(math.prod(x.shape[1:]))]) * np.dtype(network.dtype).itemsize
    chunk = max(1, min(batch_size, max_bytes // max(per_sample, 1)))
    out = []
    for start in range(0, int(x.shape[0]), chunk):
        stop = min(start + chunk, int(x.shape[0]))
        out.append(be.to_numpy(xp.argmax(network.predict(x[start:stop, ...]), axis=1)))
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def confusion_matrix(t: Any, y: Any, num_classes: int) -> np.ndarray:
    """counts[i, j]: samples of true class i predicted as class j (host arrays of labels)."""
    t = np.asarray(t, dtype=np.int64).reshape(-1)
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    return np.bincount(t * num_classes + y, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )
