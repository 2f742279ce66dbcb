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


# -- Python numbers and 0-d arrays, as the book's optimizer_compare_naive.py updates them ----

def _df(x, y):
    """The gradient of the book's f(x, y) = x**2 / 20 + y**2."""
    return x / 10.0, 2.0 * y


# Two steps from (-7, 2), worked by hand from the book's formulas (eps = 1e-7):
HAND = {
    # x -= lr g: g = (-0.7, 4) -> (-6.335, -1.8); g = (-0.6335, -3.6) -> (-5.733175, 1.62)
    "sgd": ({"lr": 0.95}, [(-6.335, -1.8), (-5.733175, 1.62)]),
    # v = 0.9 v - 0.1 g: v = (0.07, -0.4) -> (-6.93, 1.6); g = (-0.693, 3.2),
    # v = (0.063 + 0.0693, -0.36 - 0.32) = (0.1323, -0.68) -> (-6.7977, 0.92)
    "momentum": ({"lr": 0.1}, [(-6.93, 1.6), (-6.7977, 0.92)]),
    # v = 0.9 v - 0.1 g; p += 0.81 v - 0.19 g: (-7 + 0.0567 + 0.133, 2 - 0.324 - 0.76);
    # g = (-0.68103, 1.832), v = (0.131103, -0.5432):
    # (-6.8103 + 0.10619343 + 0.1293957, 0.916 - 0.439992 - 0.34808)
    "nesterov": ({"lr": 0.1}, [(-6.8103, 0.916), (-6.57471087, 0.127928)]),
    # h = g**2, p -= 1.5 g / (|g| + eps); g = (-0.55, 1), h = (0.7925, 17)
    "adagrad": ({"lr": 1.5}, [(-7 + 1.05 / (0.7 + 1e-7), 2 - 6 / (4 + 1e-7)),
                              (-5.5 + 0.825 / 0.7925**0.5, 0.5 - 1.5 / 17**0.5)]),
    # h = 0.01 g**2, p -= 0.1 g / (0.1 |g| + eps) ~ 1 per coordinate; g = (-0.6, 2),
    # h = (0.99 * 0.0049 + 0.0036, 0.99 * 0.16 + 0.04) = (0.008451, 0.1984)
    "rmsprop": ({"lr": 0.1}, [(-7 + 0.07 / (0.07 + 1e-7), 2 - 0.4 / (0.4 + 1e-7)),
                              (-6 + 0.06 / 0.008451**0.5, 1 - 0.2 / 0.1984**0.5)]),
    # lr_t = 0.3 sqrt(0.001) / 0.1, m = 0.1 g, v = 0.001 g**2: a step of 0.3 (less eps);
    # g = (-0.67, 3.4), m = 0.09 g1 + 0.1 g2 = (-0.13, 0.7), v = 0.000999 g1**2 + 0.001 g2**2
    # = (0.00093841, 0.027544), lr_t = 0.3 sqrt(0.001999) / 0.19
    "adam": ({"lr": 0.3}, [(-6.7, 1.7),
                           (-6.7 + 0.3 * 0.001999**0.5 / 0.19 * 0.13 / 0.00093841**0.5,
                            1.7 - 0.3 * 0.001999**0.5 / 0.19 * 0.7 / 0.027544**0.5)]),
}


@pytest.mark.parametrize("name", list(HAND))
def test_python_floats_take_the_books_steps(name) -> None:
    kwargs, steps = HAND[name]
    optimizer = get_optimizer(name, **kwargs)
    params = {"x": -7.0, "y": 2.0}
    for x, y in steps:
        gx, gy = _df(params["x"], params["y"])
        optimizer.update(params, {"x": gx, "y": gy})
        assert type(params["x"]) is float and type(params["y"]) is float
        assert params["x"] == pytest.approx(x, rel=1e-6, abs=1e-9)
        assert params["y"] == pytest.approx(y, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", list(HAND))
def test_0d_arrays_take_the_same_steps_as_floats(backend, name) -> None:
    kwargs, _ = HAND[name]
    floats, arrays = get_optimizer(name, **kwargs), get_optimizer(name, **kwargs)
    p = {"x": -7.0, "y": 2.0}
    q = {key: backend.asarray(np.asarray(value)) for key, value in p.items()}
    for _ in range(30):  # the book's 30 steps
        floats.update(p, dict(zip("xy", _df(p["x"], p["y"]), strict=True)))
        arrays.update(q, dict(zip("xy", _df(q["x"], q["y"]), strict=True)))
        for key in p:
            assert_close(q[key], p[key], backend, rtol=1e-13, atol=1e-15,
                         dtype=backend.xp.float64)


def test_a_parameter_that_is_no_number_is_one_line() -> None:
    for name in OPTIMIZERS:
        with pytest.raises(NnxpError, match="updates arrays or numbers, got str") as e:
            get_optimizer(name).update({"x": "7"}, {"x": 1.0})
        assert "\n" not in str(e.value)
