"""Callbacks: what a training run does besides stepping and evaluating.

A callback is any object with some of the hooks of :class:`Callback`; the
:class:`~nnxp.train.Trainer` calls the hooks each callback defines, in the order the
callbacks were given, and skips the rest (a hook left as :class:`Callback`'s no-op costs
nothing). So a new feature (distributed training, resumable checkpoints, a hyperparameter
search) is a new callback, not a new argument of the Trainer.

Hooks, in the order a run calls them::

    on_train_begin(trainer)
    on_epoch_end(trainer, record)                         # epoch 0: the untrained net's scores
    for each epoch:
        on_epoch_begin(trainer, epoch, steps)
        for each step:
            on_flush(trainer, losses, first_step, epoch)  # every FLUSH_EVERY steps and at
                                                            # the epoch's end, losses on the host
            on_step_end(trainer, losses)                  # losses: those just flushed, or []
        on_epoch_steps_end(trainer, epoch)                # steps done, before evaluation
        on_epoch_end(trainer, record)                     # record: trainer.records[-1]
    on_train_end(trainer)                                 # trainer.final is set
    on_error(trainer, error)                              # instead, when the run raised

Three hooks change what a step or an evaluation computes (data parallelism,
:class:`nnxp.train.distributed.DataParallel`): ``on_batch(trainer, indices)`` returns the
indices of the batch this process computes, ``on_gradients(trainer, grads, loss)`` the
gradients and loss the update uses, and ``on_accuracy(trainer, x, t, n)`` an accuracy (None:
the Trainer's own). A callback whose ``reports`` is True prints or writes files: a callback
whose ``reporting`` is False (a process other than a job's rank 0) makes the Trainer leave
those out.

A hook that raises :class:`TrainingDiverged` stops the run; ``trainer.train_loss_list`` then
keeps the losses of the steps before the one it names. ``outputs()`` names the files a
callback writes, so the Trainer checks them all (``nnxp.files.distinct_outputs``) before
training starts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from nnxp.errors import NnxpError

if TYPE_CHECKING:
    from nnxp.train.loop import Trainer

HOOKS: tuple[str, ...] = (
    "on_train_begin", "on_epoch_begin", "on_flush", "on_step_end", "on_epoch_steps_end",
    "on_epoch_end", "on_train_end", "on_error", "on_batch", "on_gradients", "on_accuracy",
)


__all__ = ["Callback", "Checkpoint", "DivergenceGuard", "EpochLog", "HistoryPlot", "MetricsLog",
           "ProgressBar", "TrainingDiverged"]

class TrainingDiverged(NnxpError):
    """The loss became NaN or infinite; training stopped at ``step``.

    ``collective``: every process of a data-parallel job raises it at the same step (the
    loss and parameters it checks are the same everywhere)."""

    collective = True

    def __init__(self, message: str, step: int, epoch: int) -> None:
        super().__init__(message)
        self.step = step
        self.epoch = epoch


class Callback:
    """Base of the callbacks: every hook a no-op; override the ones needed."""

    reports = False
    """True for a callback that prints or writes files (one process of a job runs it)."""

    def outputs(self) -> dict[str, Path]:
        """The files this callback writes, by the option that named them (checked up front)."""
        return {}

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first step."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int, steps: int) -> None:
        """Before the first step of ``epoch`` (1-based), which will run ``steps`` steps."""

    def on_flush(self, trainer: Trainer, losses: np.ndarray, first_step: int,
                 epoch: int) -> None:
        """Step losses just brought to the host (float64; ``losses[0]`` is of ``first_step``),
        before they join ``trainer.train_loss_list``. Called inside ``Trainer.step``."""

    def on_step_end(self, trainer: Trainer, losses: list[float]) -> None:
        """After each step; ``losses`` holds the losses flushed by it (usually none)."""

    def on_epoch_steps_end(self, trainer: Trainer, epoch: int) -> None:
        """After the epoch's last step and flush, before its evaluation."""

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """After the epoch's evaluation; ``record`` is already in ``trainer.records``. Also
        once before the first step, for the untrained net: ``record["epoch"]`` is 0 (and its
        ``train_loss`` None: no step has run)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch and the final evaluation (``trainer.final``)."""

    def on_error(self, trainer: Trainer, error: BaseException) -> None:
        """The run raised ``error`` (re-raised after every callback saw it)."""

    def on_batch(self, trainer: Trainer, indices: Any) -> Any:
        """The indices (of ``trainer.x_train``) of the batch this process computes, from the
        batch's ``indices`` (on the device)."""
        return indices

    def on_gradients(self, trainer: Trainer, grads: dict[str, Any], loss: Any
                     ) -> tuple[dict[str, Any], Any]:
        """The gradients and loss (a device scalar) the update and the history use, from
        this process's (after backward, before the update)."""
        return grads, loss

    def on_accuracy(self, trainer: Trainer, x: Any, t: Any, n: int | None) -> float | None:
        """The accuracy on the first ``n`` samples (all when None) of ``x``, or None to
        leave it to the Trainer."""
        return None


class ProgressBar(Callback):
    """A tqdm bar per epoch on stderr (steps, and the mean of the last flushed losses)."""

    reports = True

    def __init__(self) -> None:
        self.bar: Any = None

    def on_epoch_begin(self, trainer: Trainer, epoch: int, steps: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=steps, desc=f"epoch {epoch}/{trainer.epochs}", unit="step",
                        leave=False, disable=None)

    def on_step_end(self, trainer: Trainer, losses: list[float]) -> None:
        if losses:
            self.bar.set_postfix(loss=f"{np.mean(losses):.4f}", refresh=False)
        self.bar.update(1)

    def on_epoch_steps_end(self, trainer: Trainer, epoch: int) -> None:
        self._close()

    def on_error(self, trainer: Trainer, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochLog(Callback):
    """One line per epoch, epoch 0 (the untrained net) first: step, loss (the epoch's mean;
    "-" for epoch 0), train and test accuracy, seconds (``verbose``)."""

    reports = True

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        loss = record["train_loss"]
        print(
            f"epoch {record['epoch']:>{len(str(trainer.epochs))}}/{trainer.epochs}  step "
            f"{record['step']}  loss {'-' if loss is None else format(loss, '.4f'):>6}  train acc "
            f"{record['train_acc']:.4f}  test acc {record['test_acc']:.4f}  "
            f"{record['epoch_seconds']:.1f} s",
            file=self.out or sys.stdout, flush=True,
        )


class Checkpoint(Callback):
    """The model file (``save_model``, atomic) after every epoch but the last, and at the end
    with the final result, so a run that stops keeps the last good epoch's model. ``info``
    joins the training settings in the file's metadata."""

    reports = True

    def __init__(self, path: str | Path, info: dict[str, Any] | None = None,
                 option: str = "save_path") -> None:
        self.path, self.info, self.option = Path(path), dict(info or {}), option
        self.saved_epoch: int | None = None

    def outputs(self) -> dict[str, Path]:
        return {self.option: self.path}

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if 0 < trainer.current_iter < trainer.max_iter:  # not the untrained net of epoch 0
            self.save(trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        self.save(trainer)

    def save(self, trainer: Trainer) -> None:
        """Write the model with the settings and the result of the epochs done so far."""
        from nnxp.io import save_model

        last = trainer.records[-1]
        result = trainer.final or {
            "steps": trainer.current_iter,
            "epochs": trainer.current_epoch,
            "train_acc": last["train_acc"],
            "test_acc": last["test_acc"],
            "train_loss": last["train_loss"],
        }
        info = {**self.info, "training": {**trainer.settings(), "result": result}}
        save_model(self.path, trainer.network, info)
        self.saved_epoch = trainer.current_epoch

    def kept(self) -> str:
        """What a stop leaves in the file: the last good epoch's model, or nothing written."""
        if self.saved_epoch is not None:
            return f"{self.path} keeps the model of epoch {self.saved_epoch}; "
        return f"{self.path} was not written; "


class MetricsLog(Callback):
    """Every epoch's record as a JSON line, the file rewritten atomically after each epoch;
    the first line is epoch 0, the untrained net (its ``train_loss`` null), written with
    epoch 1's (as the model file, nothing is written before an epoch was trained)."""

    reports = True

    def __init__(self, path: str | Path, option: str = "metrics_path") -> None:
        self.path, self.option = Path(path), option

    def outputs(self) -> dict[str, Path]:
        return {self.option: self.path}

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        from nnxp.files import atomic_write_text

        if record["epoch"] == 0:
            return

        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in trainer.records),
                          "metrics")


class HistoryPlot(Callback):
    """A PNG of accuracy per epoch and loss per step, at the end (matplotlib checked now,
    before a long run that would end without its plot)."""

    reports = True

    def __init__(self, path: str | Path, option: str = "plot_path") -> None:
        from nnxp.plot import require_matplotlib

        require_matplotlib()
        self.path, self.option = Path(path), option

    def outputs(self) -> dict[str, Path]:
        return {self.option: self.path}

    def on_train_end(self, trainer: Trainer) -> None:
        from nnxp.plot import plot_history

        plot_history(trainer.history, self.path)


class DivergenceGuard(Callback):
    """Stop with :class:`TrainingDiverged` at the first NaN or infinite loss (checked as the
    losses reach the host) or parameter (checked after each epoch's steps, before the epoch
    is evaluated or saved); the message names the step, the checkpoint kept and the lr."""

    def on_flush(self, trainer: Trainer, losses: np.ndarray, first_step: int,
                 epoch: int) -> None:
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            step = first_step + int(bad[0])
            raise TrainingDiverged(
                f"training stopped: the loss is {losses[bad[0]]} at step {step} (epoch "
                f"{epoch}); {kept(trainer)}{advice(trainer)}",
                step,
                epoch,
            )

    def on_epoch_steps_end(self, trainer: Trainer, epoch: int) -> None:
        xp = trainer.backend.xp
        params = trainer.network.params
        finite = [xp.all(xp.isfinite(params[key])) for key in params]
        if not all(bool(f) for f in finite):
            bad = [key for key, f in zip(params, finite, strict=True) if not bool(f)]
            raise TrainingDiverged(
                f"training stopped: parameters {', '.join(bad)} are not finite after step "
                f"{trainer.current_iter} (epoch {epoch}); {kept(trainer)}{advice(trainer)}",
                trainer.current_iter,
                epoch,
            )


def kept(trainer: Trainer) -> str:
    """What became of the trainer's model files at a stop."""
    return "".join(cb.kept() for cb in trainer.callbacks if isinstance(cb, Checkpoint))


def advice(trainer: Trainer) -> str:
    """What to try after a divergence, naming the optimizer's own learning rate."""
    lr = getattr(trainer.optimizer, "lr", None)
    now = f" (now {lr:g})" if isinstance(lr, int | float) else ""
    return f"lower the learning rate{now} or check the data"
