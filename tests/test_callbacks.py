"""The Trainer's callback protocol: hook order and arguments, the divergence guard, and the
files each built-in callback writes."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.io import read_model_file
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import (
    FLUSH_EVERY,
    Callback,
    Checkpoint,
    DivergenceGuard,
    EpochLog,
    HistoryPlot,
    MetricsLog,
    ProgressBar,
    Trainer,
    TrainingDiverged,
)
from tests.blobs import blobs
from tests.test_train import _PoisonAt


def _net(backend):
    return TwoLayerNet(20, 8, 3, weight_init_std=0.1, activation="relu", backend=backend,
                       dtype="float64", seed=0)


def _trainer(net, **kw):
    (x, t), (xt, tt) = blobs()
    kw = {"epochs": 2, "mini_batch_size": 40, "optimizer_param": {"lr": 0.5}, "seed": 0,
          "verbose": False, **kw}
    return Trainer(net, x, t, xt, tt, **kw)


class Recorder(Callback):
    """Writes down each hook call with a summary of its arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.trainers: set[int] = set()

    def _log(self, trainer: Trainer, *entry: Any) -> None:
        self.trainers.add(id(trainer))
        self.calls.append(entry)

    def on_train_begin(self, trainer):
        self._log(trainer, "train_begin", trainer.current_iter)

    def on_epoch_begin(self, trainer, epoch, steps):
        self._log(trainer, "epoch_begin", epoch, steps)

    def on_flush(self, trainer, losses, first_step, epoch):
        assert isinstance(losses, np.ndarray) and losses.dtype == np.float64
        assert len(trainer.train_loss_list) == first_step - 1  # not yet in the history
        self._log(trainer, "flush", len(losses), first_step, epoch)

    def on_step_end(self, trainer, losses):
        self._log(trainer, "step_end", trainer.current_iter, len(losses))

    def on_epoch_steps_end(self, trainer, epoch):
        self._log(trainer, "epoch_steps_end", epoch, len(trainer.train_acc_list))

    def on_epoch_end(self, trainer, record):
        assert record is trainer.records[-1]
        self._log(trainer, "epoch_end", record["epoch"], record["step"])

    def on_train_end(self, trainer):
        self._log(trainer, "train_end", trainer.final["steps"])

    def on_error(self, trainer, error):
        self._log(trainer, "error", type(error).__name__)


def _steps(first: int, last: int) -> list[tuple[Any, ...]]:
    return [("step_end", i, 0) for i in range(first, last + 1)]


def test_a_callback_sees_each_hook_in_order(backend):
    recorder = Recorder()
    trainer = _trainer(_net(backend), callbacks=[recorder])
    trainer.train()
    assert recorder.trainers == {id(trainer)}
    assert recorder.calls == [
        ("train_begin", 0), ("epoch_end", 0, 0),
        ("epoch_begin", 1, 10), *_steps(1, 10), ("flush", 10, 1, 1),
        ("epoch_steps_end", 1, 1), ("epoch_end", 1, 10),
        ("epoch_begin", 2, 10), *_steps(11, 20), ("flush", 10, 11, 2),
        ("epoch_steps_end", 2, 2), ("epoch_end", 2, 20),
        ("train_end", 20),
    ]


def test_a_flush_inside_a_step_comes_before_that_steps_end(backend):
    """FLUSH_EVERY steps bring the losses to the host inside ``step``: on_flush, then the
    step's on_step_end with those losses; the epoch's rest is flushed after its last step."""
    recorder = Recorder()
    steps = FLUSH_EVERY + 7
    _trainer(_net(backend), mini_batch_size=5, iters=steps, callbacks=[recorder]).train()
    calls = recorder.calls
    at = calls.index(("flush", FLUSH_EVERY, 1, 1))
    assert calls[at - 1] == ("step_end", FLUSH_EVERY - 1, 0)
    assert calls[at + 1] == ("step_end", FLUSH_EVERY, FLUSH_EVERY)
    assert calls[-4:] == [("flush", 7, FLUSH_EVERY + 1, 1), ("epoch_steps_end", 1, 1),
                          ("epoch_end", 1, steps), ("train_end", steps)]


def test_any_object_with_hooks_is_a_callback_and_sees_the_error(backend):
    seen: list[Any] = []

    class Stop:
        def on_step_end(self, trainer, losses):
            if trainer.current_iter == 15:
                assert bar.bar is not None
                raise KeyboardInterrupt

        def on_error(self, trainer, error):
            seen.append(error)

    bar = ProgressBar()
    trainer = _trainer(_net(backend), epochs=3, callbacks=[bar, Stop()])
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert len(seen) == 1 and isinstance(seen[0], KeyboardInterrupt)
    assert trainer.current_epoch == 1 and bar.bar is None


def test_the_divergence_guard_stops_at_the_step_of_the_first_bad_loss(backend):
    recorder = Recorder()
    trainer = _trainer(_net(backend), epochs=5, optimizer=_PoisonAt(23),
                       callbacks=[DivergenceGuard(), recorder])
    assert sum(isinstance(cb, DivergenceGuard) for cb in trainer.callbacks) == 1
    with pytest.raises(TrainingDiverged, match=r"loss is nan at step 24 \(epoch 3\); lower"):
        trainer.train()
    assert trainer.train_loss_list and len(trainer.train_loss_list) == 23
    assert [c for c in recorder.calls if c[0] == "epoch_end"] == [
        ("epoch_end", 0, 0), ("epoch_end", 1, 10), ("epoch_end", 2, 20)]
    assert ("flush", 10, 21, 3) not in recorder.calls  # the guard runs first and stops
    assert recorder.calls[-1] == ("error", "TrainingDiverged")


@pytest.mark.host
def test_the_divergence_guard_names_the_step_and_what_the_checkpoint_kept(tmp_path):
    checkpoint = Checkpoint(tmp_path / "m.npz")
    trainer = SimpleNamespace(callbacks=[checkpoint], optimizer=SimpleNamespace(lr=0.25))
    guard = DivergenceGuard()
    guard.on_flush(trainer, np.array([2.0, 1.5]), 1, 1)
    with pytest.raises(TrainingDiverged, match=r"loss is inf at step 13 \(epoch 2\); \S*m.npz "
                       r"was not written; lower the learning rate \(now 0.25\)") as info:
        guard.on_flush(trainer, np.array([1.0, 0.5, np.inf, np.nan]), 11, 2)
    assert (info.value.step, info.value.epoch) == (13, 2)
    checkpoint.saved_epoch = 4
    with pytest.raises(TrainingDiverged, match="m.npz keeps the model of epoch 4; "):
        guard.on_flush(trainer, np.array([np.nan]), 50, 5)


def test_each_built_in_callback_writes_its_file(backend, tmp_path):
    paths = {name: tmp_path / name for name in ("m.npz", "m.jsonl", "m.png")}
    saved: list[int] = []

    class ReadBack(Callback):
        def on_epoch_end(self, trainer, record):
            if record["epoch"] == 0:  # the untrained net is not saved
                assert not paths["m.npz"].exists()
            elif trainer.current_iter < trainer.max_iter:
                saved.append(read_model_file(paths["m.npz"])[1]["training"]["result"]["epochs"])

    lines = io.StringIO()
    trainer = _trainer(_net(backend), epochs=3, callbacks=[
        Checkpoint(paths["m.npz"], {"dataset": {"name": "blobs"}}), MetricsLog(paths["m.jsonl"]),
        HistoryPlot(paths["m.png"]), EpochLog(lines), ReadBack(),
    ])
    trainer.train()
    assert saved == [1, 2]
    meta = read_model_file(paths["m.npz"])[1]
    assert meta["dataset"] == {"name": "blobs"}
    assert meta["training"]["result"] == json.loads(json.dumps(trainer.final))
    records = [json.loads(line) for line in paths["m.jsonl"].read_text().splitlines()]
    assert records == trainer.records
    assert paths["m.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = lines.getvalue().splitlines()
    assert len(text) == 4 and text[3].startswith("epoch 3/3  step 30  loss ")
    assert text[0].startswith("epoch 0/3  step 0  loss      -  train acc ")
    assert [r["epoch"] for r in records] == [0, 1, 2, 3] and records[0]["train_loss"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(paths)


def test_callback_outputs_are_checked_before_training(backend, tmp_path):
    with pytest.raises(NnxpError, match="metrics_path and save_path both name"):
        _trainer(_net(backend), callbacks=[MetricsLog(tmp_path / "x"), Checkpoint(tmp_path / "x")])
    with pytest.raises(NnxpError, match=r"save_path and save_path \(1\) both name"):
        _trainer(_net(backend), save_path=tmp_path / "y", callbacks=[Checkpoint(tmp_path / "y")])
    assert list(tmp_path.iterdir()) == []
