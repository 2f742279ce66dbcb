"""Optimizers against the book's NumPy formulas, on the backend under test."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.models.two_layer import TwoLayerNet
from nnxp.optim import OPTIMIZERS, Adam, get_optimizer
from tests.helpers import assert_close


class BookSGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params.keys():
            params[key] -= self.lr * grads[key]


class BookMomentum:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class BookNesterov:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class BookAdaGrad:
    def __init__(self, lr=0.01):
        self.lr, self.h = lr, None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class BookRMSprop:
    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr, self.decay_rate, self.h = lr, decay_rate, None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class BookAdam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter, self.m, self.v = 0, None, None

    def update(self, params, grads):
        if self.m is None:
            self.m = {key: np.zeros_like(val) for key, val in params.items()}
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


BOOK = {
    "sgd": BookSGD,
    "momentum": BookMomentum,
    "nesterov": BookNesterov,
    "adagrad": BookAdaGrad,
    "rmsprop": BookRMSprop,
    "adam": BookAdam,
}

SETTINGS = [
    ("sgd", {}),
    ("sgd", {"lr": 0.5}),
    ("momentum", {}),
    ("momentum", {"lr": 0.1, "momentum": 0.5}),
    ("nesterov", {}),
    ("adagrad", {}),
    ("adagrad", {"lr": 1.5}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 0.1, "decay_rate": 0.9}),
    ("adam", {}),
    ("adam", {"lr": 0.01, "beta1": 0.5, "beta2": 0.9}),
]


def _problem(seed: int = 0, steps: int = 4):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(steps)]
    return params, grads


def test_registry_has_the_books_optimizers() -> None:
    assert set(OPTIMIZERS) == set(BOOK)


@pytest.mark.parametrize(("name", "kwargs"), SETTINGS)
def test_matches_book_formulas(backend, name, kwargs) -> None:
    host, grads = _problem()
    params = {k: backend.asarray(v, dtype="float64") for k, v in host.items()}
    ours, book = get_optimizer(name, **kwargs), BOOK[name](**kwargs)
    for step in grads:
        ours.update(params, {k: backend.asarray(v, dtype="float64") for k, v in step.items()})
        book.update(host, step)
        for key in host:
            assert_close(params[key], host[key], backend, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(BOOK))
def test_float32_stays_float32(backend, name) -> None:
    host, grads = _problem(1, steps=2)
    params = {k: backend.asarray(v, dtype="float32") for k, v in host.items()}
    opt = get_optimizer(name)
    for step in grads:
        opt.update(params, {k: backend.asarray(v, dtype="float32") for k, v in step.items()})
    for key in host:
        assert params[key].dtype == backend.xp.float32


@pytest.mark.parametrize("name", sorted(BOOK))
def test_updates_the_layers_of_a_net(backend, name) -> None:
    net = TwoLayerNet(4, 3, 2, backend=backend, dtype="float64", seed=0)
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((5, 4)), rng.integers(0, 2, 5)
    before = {k: backend.to_numpy(v).copy() for k, v in net.params.items()}
    grads = net.gradient(x, t)
    host_grads = {k: backend.to_numpy(v) for k, v in grads.items()}
    get_optimizer(name).update(net.params, grads)
    BOOK[name]().update(before, host_grads)
    affine = net.layers["Affine1"]
    assert_close(affine.W, before["W1"], backend, rtol=1e-12, atol=1e-14)
    assert_close(net.params["b2"], before["b2"], backend, rtol=1e-12, atol=1e-14)


def test_adam_counts_iterations(backend) -> None:
    params = {"w": backend.asarray(np.ones(2))}
    opt = Adam()
    for _ in range(3):
        opt.update(params, {"w": backend.asarray(np.ones(2))})
    assert opt.iter == 3


@pytest.mark.host
@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("nadam", {}, "unknown optimizer 'nadam'"),
        ("sgd", {"lr": 0}, "learning rate must be > 0"),
        ("momentum", {"momentum": 1.0}, "momentum must be in [0, 1)"),
        ("rmsprop", {"decay_rate": -0.1}, "decay_rate must be in [0, 1)"),
        ("adam", {"beta2": 1.5}, "beta2 must be in [0, 1)"),
        ("adagrad", {"momentum": 0.9}, "bad parameters for optimizer 'adagrad'"),
    ],
)
def test_bad_settings_are_one_line_errors(name, kwargs, message) -> None:
    with pytest.raises(NnxpError) as info:
        get_optimizer(name, **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.host
def test_names_are_case_insensitive() -> None:
    assert type(get_optimizer("Adam", lr=0.01)).__name__ == "Adam"


def test_compare_optimizers_records_a_loss_per_update(backend) -> None:
    from nnxp.plot.optimizers import compare_optimizers

    rng = np.random.default_rng(0)
    x, t = rng.random((20, 12)), rng.integers(0, 10, 20)
    losses = compare_optimizers(x, t, iterations=3, batch_size=4, hidden_size_list=[5],
                                backend=backend, dtype="float64")
    assert list(losses) == ["sgd", "momentum", "adagrad", "adam"]
    assert all(len(v) == 3 and np.all(np.isfinite(v)) for v in losses.values())
    again = compare_optimizers(x, t, ["adam"], iterations=3, batch_size=4, hidden_size_list=[5],
                               backend="numpy", dtype="float64")
    np.testing.assert_allclose(again["adam"], losses["adam"], rtol=1e-10)


@pytest.mark.host
def test_optimizer_comparison_png(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from nnxp.plot.optimizers import plot_optimizer_comparison, smooth_curve

    curve = list(np.linspace(2.0, 0.1, 40))
    path = plot_optimizer_comparison({"sgd": curve, "adam": curve[::-1]}, tmp_path / "o.png")
    assert (tmp_path / "o.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.endswith("o.png")
    assert len(smooth_curve(curve)) == 40
    np.testing.assert_allclose(smooth_curve(np.ones(30)), np.ones(30))


def test_sgd_never_writes_into_a_callers_array(backend) -> None:
    host, grads = _problem(3, steps=3)
    mine = {k: backend.asarray(v.copy(), dtype="float64") for k, v in host.items()}
    params = dict(mine)
    opt = get_optimizer("sgd", lr=0.1)
    for step in grads:
        opt.update(params, {k: backend.asarray(v, dtype="float64") for k, v in step.items()})
    for key, value in host.items():
        assert_close(mine[key], value, backend, rtol=0)
        assert params[key] is not mine[key]


def test_sgd_updates_its_own_array_in_place_after_the_first_step(backend) -> None:
    host, grads = _problem(4, steps=4)
    params = {k: backend.asarray(v.copy(), dtype="float64") for k, v in host.items()}
    opt, book = get_optimizer("sgd", lr=0.1), BookSGD(lr=0.1)
    seen = []
    for step in grads:
        opt.update(params, {k: backend.asarray(v, dtype="float64") for k, v in step.items()})
        book.update(host, step)
        seen.append(params["W1"])
    assert seen[1] is seen[2] is seen[3], "later updates reuse the array the first one made"
    for key in host:
        assert_close(params[key], host[key], backend, rtol=1e-12, atol=1e-14)
    replaced = backend.asarray(np.ones((3, 4)), dtype="float64")
    params["W1"] = replaced
    opt.update(params, {k: backend.asarray(v, dtype="float64") for k, v in grads[0].items()})
    assert params["W1"] is not replaced
    assert_close(replaced, np.ones((3, 4)), backend, rtol=0)
