"""Trainer on the backend under test, with small synthetic data; references from NumPy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnxp.backends import array_namespace, device
from nnxp.errors import NnxpError
from nnxp.io import read_model_file
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import Trainer, TrainingDiverged, confusion_matrix, predict_labels
from tests.blobs import blobs
from tests.helpers import assert_close


def _net(backend, dtype="float64", seed=0):
    return TwoLayerNet(20, 8, 3, weight_init_std=0.1, activation="relu", backend=backend,
                       dtype=dtype, seed=seed)


def _trainer(net, data=None, **kw):
    (x, t), (xt, tt) = data or blobs()
    kw = {"epochs": 3, "mini_batch_size": 40, "optimizer_param": {"lr": 0.5}, "seed": 0,
          "verbose": False, **kw}
    return Trainer(net, x, t, xt, tt, **kw)


def test_trains_to_high_accuracy(backend):
    trainer = _trainer(_net(backend), epochs=5)
    history = trainer.train()
    assert len(history["train_loss"]) == 5 * 10
    assert len(history["train_acc"]) == len(history["test_acc"]) == 5 + 1  # epoch 0 first
    assert history["test_acc"][0] < 0.9 <= 0.95 <= history["test_acc"][-1]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert trainer.final["steps"] == 50 and trainer.final["epochs"] == 5
    assert [r["epoch"] for r in history["epochs"]] == [0, 1, 2, 3, 4, 5]
    assert [r["step"] for r in history["epochs"]] == [0, 10, 20, 30, 40, 50]
    assert {"epoch", "step", "train_loss", "train_acc", "test_acc", "seconds"} <= set(
        history["epochs"][0]
    )
    assert history["epochs"][0]["train_loss"] is None
    assert all(isinstance(r["train_loss"], float) for r in history["epochs"][1:])


def test_epoch_0_scores_the_untrained_net_and_changes_no_step(backend):
    """The evaluation before the first step (the book's Trainer scores the net at iteration
    0) is the untrained net's accuracy, and training goes on exactly as without it."""
    (x, t), (xt, tt) = blobs()
    untrained = _net(backend)
    trainer = _trainer(_net(backend), epochs=2)
    history = trainer.train()
    assert history["train_acc"][0] == pytest.approx(untrained.accuracy(x, t))
    assert history["test_acc"][0] == pytest.approx(untrained.accuracy(xt, tt))
    reference = _net(backend)
    rng = np.random.Generator(np.random.PCG64(0))
    for _ in range(2):
        order = rng.permutation(400)
        for i in range(10):
            mask = order[i * 40:(i + 1) * 40]
            grads = reference.gradient(x[mask], t[mask].astype(np.int64))
            for key in reference.params:
                reference.params[key] = reference.params[key] - 0.5 * grads[key]
    for key in reference.params:
        assert_close(trainer.network.params[key], backend.to_numpy(reference.params[key]),
                     backend, rtol=1e-12, atol=1e-15)


def test_data_moved_once_to_the_nets_device_and_dtype(backend):
    net = _net(backend, dtype="float32")
    trainer = _trainer(net)
    for x in (trainer.x_train, trainer.x_test):
        assert array_namespace(x) is backend.xp
        assert device(x) == backend.device
        assert x.dtype == backend.xp.float32
    assert trainer.t_train.dtype == backend.xp.int64
    trainer.train()
    for key in net.params:
        assert net.params[key].dtype == backend.xp.float32
        assert device(net.params[key]) == backend.device


def test_files_after_training(backend, tmp_path):
    trainer = _trainer(_net(backend), epochs=2, save_path=tmp_path / "m.npz",
                       metrics_path=tmp_path / "m.jsonl", plot_path=tmp_path / "m.png")
    trainer.train()
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1, 2]
    assert json.loads(lines[0])["train_loss"] is None
    meta = read_model_file(tmp_path / "m.npz")[1]
    assert meta["training"]["result"]["test_acc"] == trainer.final["test_acc"]
    assert meta["training"]["backend"] == backend.name


def test_iters_makes_a_partial_last_epoch(backend):
    trainer = _trainer(_net(backend), iters=25, epochs=99)
    history = trainer.train()
    assert trainer.iter_per_epoch == 10 and trainer.epochs == 3
    assert len(history["train_loss"]) == 25
    assert [r["step"] for r in history["epochs"]] == [0, 10, 20, 25]


def test_same_seed_same_weights_and_loss_curve_as_numpy(backend):
    """numpy, torch and array_api_strict from one seed: identical initial weights, and in
    float64 the same loss curve to 1e-6 for the first 100 steps."""
    data = blobs(n_train=400, features=30, classes=4)
    nets = {
        name: TwoLayerNet(30, 16, 4, activation="relu", backend=be, dtype="float64", seed=7)
        for name, be in (("numpy", "numpy"), (backend.name, backend))
    }
    for key in nets["numpy"].params:
        assert_close(nets[backend.name].params[key], nets["numpy"].params[key], backend, rtol=0)
    curves = {}
    for name, net in nets.items():
        trainer = _trainer(net, data, iters=100, mini_batch_size=20, seed=3,
                           optimizer_param={"lr": 0.1})
        curves[name] = np.asarray(trainer.train()["train_loss"])
    assert curves["numpy"].shape == (100,)
    np.testing.assert_allclose(curves[backend.name], curves["numpy"], rtol=0, atol=1e-6)


def test_replace_sampling_is_the_books_loop(backend):
    """sampling="replace" draws each batch as the book's np.random.choice, from PCG64(seed)."""
    (x, t), test = blobs()
    net = _net(backend)
    reference = _net(backend)
    trainer = _trainer(net, ((x, t), test), iters=12, sampling="replace", seed=5)
    losses = trainer.train()["train_loss"]
    rng = np.random.Generator(np.random.PCG64(5))
    expected = []
    for _ in range(12):
        mask = rng.choice(400, 40)
        grads = reference.gradient(x[mask], t[mask].astype(np.int64))
        expected.append(float(reference.last_layer.loss))
        for key in reference.params:
            reference.params[key] = reference.params[key] - 0.5 * grads[key]
    np.testing.assert_allclose(losses, expected, rtol=1e-12)


def test_one_hot_labels_train_like_integer_labels(backend):
    (x, t), (xt, tt) = blobs()
    eye = np.eye(3, dtype=np.float32)
    a = _trainer(_net(backend), ((x, t), (xt, tt))).train()
    b = _trainer(_net(backend), ((x, eye[t]), (xt, eye[tt]))).train()
    np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-12)
    assert a["test_acc"] == b["test_acc"]


def test_evaluation_in_chunks_and_on_a_sample(backend):
    net = _net(backend)
    trainer = _trainer(net, eval_batch_size=7, evaluate_sample_num_per_epoch=30)
    trainer.train()
    (x, t), (xt, tt) = blobs()
    hits = predict_labels(net, xt, batch_size=13) == tt
    assert trainer.final["test_acc"] == pytest.approx(hits.mean())
    assert trainer.test_acc_list[-1] == pytest.approx(hits[:30].mean())
    assert trainer.accuracy(trainer.x_test, trainer.t_test) == pytest.approx(net.accuracy(xt, tt))


def test_numerical_gradient_follows_backprop(backend):
    data = blobs(n_train=40, n_test=10, features=4, classes=2)
    nets = [TwoLayerNet(4, 3, 2, weight_init_std=0.5, activation="sigmoid",
                        backend=backend, dtype="float64", seed=1) for _ in range(2)]
    curves = [
        _trainer(net, data, iters=4, mini_batch_size=10, gradient=g).train()["train_loss"]
        for net, g in zip(nets, ("backprop", "numerical"), strict=True)
    ]
    np.testing.assert_allclose(curves[1], curves[0], rtol=0, atol=1e-7)


def test_multi_layer_net_trains(backend):
    net = MultiLayerNet(20, [16, 16], 3, backend=backend, dtype="float32", seed=0)
    trainer = _trainer(net, epochs=4, optimizer_param={"lr": 0.1})
    assert trainer.train()["test_acc"][-1] >= 0.9


class _PoisonAt:
    """SGD that writes NaN into W1 at update number ``at`` (to test the divergence stop)."""

    def __init__(self, at: int, lr: float = 0.5) -> None:
        self.at, self.lr, self.count = at, lr, 0

    def update(self, params, grads):
        self.count += 1
        for key in params:
            params[key] = params[key] - self.lr * grads[key]
        if self.count == self.at:
            params["W1"] = params["W1"] * float("nan")


def test_nan_stops_naming_the_step_and_keeps_the_last_good_model(backend, tmp_path):
    net = _net(backend)
    model, metrics = tmp_path / "model.npz", tmp_path / "metrics.jsonl"
    trainer = _trainer(net, epochs=5, optimizer=_PoisonAt(23), save_path=model,
                       metrics_path=metrics)
    with pytest.raises(TrainingDiverged, match=r"at step 24 \(epoch 3\)") as info:
        trainer.train()
    assert info.value.step == 24 and info.value.epoch == 3
    assert "keeps the model of epoch 2" in str(info.value)
    assert isinstance(info.value, NnxpError)
    arrays, meta = read_model_file(model)
    assert all(np.isfinite(a).all() for a in arrays.values())
    assert meta["training"]["result"]["epochs"] == 2
    assert [json.loads(line)["epoch"] for line in metrics.read_text().splitlines()] == [0, 1, 2]
    assert len(trainer.train_loss_list) == 23
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl", "model.npz"]


def test_nan_parameters_after_the_last_step_of_an_epoch_are_caught(backend, tmp_path):
    trainer = _trainer(_net(backend), epochs=3, optimizer=_PoisonAt(10),
                       save_path=tmp_path / "m.npz")
    with pytest.raises(TrainingDiverged, match=r"W1 are not finite after step 10 \(epoch 1\)"):
        trainer.train()
    assert not (tmp_path / "m.npz").exists()
    with pytest.raises(TrainingDiverged, match=r"\(epoch 1\); lower the learning rate \(now 0.5\)"):
        _trainer(_net(backend), optimizer=_PoisonAt(3)).train()


def test_bad_settings_are_one_line_errors(backend):
    net = _net(backend)
    cases = [
        ({"mini_batch_size": 401}, "larger than the training set"),
        ({"mini_batch_size": 0}, "positive integer"),
        ({"sampling": "bootstrap"}, "unknown sampling"),
        ({"gradient": "magic"}, "unknown gradient"),
        ({"iters": 0}, "positive integer"),
        ({"optimizer": "nope"}, "unknown optimizer"),
        ({"optimizer_param": {"lr": 0.0}}, "must be > 0"),
    ]
    for kw, message in cases:
        with pytest.raises(NnxpError, match=message) as info:
            _trainer(net, **kw)
        assert "\n" not in str(info.value)


def test_verbose_prints_one_line_per_epoch(backend, capsys):
    _trainer(_net(backend), epochs=2, verbose=True, progress=False).train()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 0/2  step 0  loss      -  train acc ")
    assert lines[1].startswith("epoch 1/2  step 10  loss ")
    assert "test acc" in lines[2]


@pytest.mark.host
def test_confusion_matrix_counts_true_rows_predicted_columns():
    m = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3)
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


@pytest.mark.host
def test_the_history_plot_starts_at_epoch_0(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import nnxp.plot.book as book

    figures = []
    monkeypatch.setattr(book, "save_figure", lambda fig, path: figures.append(fig) or path)
    history = {"train_acc": [0.1, 0.8, 0.9], "test_acc": [0.1, 0.7, 0.85],
               "train_loss": [2.3, 1.0, 0.5, 0.3], "epochs": [{"epoch": e} for e in range(3)]}
    book.plot_history(history, tmp_path / "h.png")
    assert list(figures[0].axes[0].lines[0].get_xdata()) == [0, 1, 2]
    book.plot_history({**history, "epochs": []}, tmp_path / "h.png")  # lists alone: from 1
    assert list(figures[1].axes[0].lines[0].get_xdata()) == [1, 2, 3]


class _Pools:
    """Writes down the BLAS/OpenMP thread counts each epoch of training sees."""

    def __init__(self):
        self.seen: list[set[int]] = []

    def on_epoch_end(self, trainer, record):
        import threadpoolctl

        self.seen.append({pool["num_threads"] for pool in threadpoolctl.threadpool_info()})


@pytest.mark.host
def test_the_trainer_trains_on_one_blas_thread_unless_told(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    outside = {pool["num_threads"] for pool in threadpoolctl.threadpool_info()}
    pools = _Pools()
    trainer = _trainer(_net("numpy"), callbacks=[pools])
    assert trainer.threads == 1 and trainer.settings()["threads"] == 1
    trainer.train()
    assert pools.seen and all(seen <= {1} for seen in pools.seen)
    assert {pool["num_threads"] for pool in threadpoolctl.threadpool_info()} == outside
    with threadpoolctl.threadpool_limits(limits=2):
        own = {pool["num_threads"] for pool in threadpoolctl.threadpool_info()}
        pools = _Pools()
        _trainer(_net("numpy"), callbacks=[pools], threads=0).train()
        assert all(seen == own for seen in pools.seen)  # 0: left as the libraries have them
        pools = _Pools()
        _trainer(_net("numpy"), callbacks=[pools], threads=3).train()
        assert all(seen <= {3} for seen in pools.seen)


@pytest.mark.host
@pytest.mark.parametrize("threads", [-1, 1.5, True, "2", None])
def test_bad_thread_counts_are_one_line(threads):
    with pytest.raises(NnxpError, match=r"threads must be an integer >= 0 \(0: the libraries'"):
        _trainer(_net("numpy"), threads=threads)
