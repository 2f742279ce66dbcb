"""Dropout, BatchNormalization and MultiLayerNetExtend (chapter 6) on the backend under test."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.gradient import numerical_gradient
from nnxp.layers import BatchNormalization, Dropout
from nnxp.models import build
from nnxp.models.multi_layer import MultiLayerNet, MultiLayerNetExtend
from tests.helpers import assert_close


def _host(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# Dropout


def test_dropout_masks_are_the_host_generators(backend) -> None:
    x_host = _host(0, 4, 6)
    layer = Dropout(0.3, seed=7)
    out = layer.forward(backend.asarray(x_host))
    keep = np.random.Generator(np.random.PCG64(7)).random((4, 6)) > 0.3
    assert_close(out, np.where(keep, x_host, 0.0), backend)
    dx = layer.backward(backend.asarray(np.ones((4, 6))))
    assert_close(dx, keep.astype(np.float64), backend)


def test_dropout_inference_scales_and_keeps_dtype(backend) -> None:
    x_host = _host(1, 3, 5).astype(np.float32)
    x = backend.asarray(x_host)
    layer = Dropout(0.25, seed=0)
    assert_close(layer.forward(x, train_flg=False), x_host * 0.75, backend, rtol=1e-6)
    assert layer.forward(x, train_flg=True).dtype == backend.xp.float32
    assert_close(x, x_host, backend)


def test_dropout_draws_new_masks_unless_kept(backend) -> None:
    x = backend.asarray(np.ones((50, 40)))
    layer = Dropout(0.5, seed=3)
    first = backend.to_numpy(layer.forward(x))
    second = backend.to_numpy(layer.forward(x))
    assert not np.array_equal(first, second)
    assert 0.4 < first.mean() < 0.6
    layer.keep_mask = True
    np.testing.assert_array_equal(backend.to_numpy(layer.forward(x)), second)


@pytest.mark.host
def test_dropout_ratio_is_checked() -> None:
    with pytest.raises(NnxpError, match=r"dropout_ratio must be in \[0, 1\)"):
        Dropout(1.0)


# BatchNormalization


def _book_bn_forward(x, gamma, beta, eps=10e-7):
    shape = x.shape
    x = x.reshape(shape[0], -1)
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc**2, axis=0)
    return (gamma * (xc / np.sqrt(var + eps)) + beta).reshape(shape), mu, var


@pytest.mark.parametrize("shape", [(6, 4), (5, 2, 3, 3)])
def test_batchnorm_training_forward_and_running_stats(backend, shape) -> None:
    x_host = _host(2, *shape) * 3.0 + 1.0
    features = int(np.prod(shape[1:]))
    gamma_host, beta_host = _host(3, features), _host(4, features)
    layer = BatchNormalization(backend.asarray(gamma_host), backend.asarray(beta_host))
    out = layer.forward(backend.asarray(x_host), train_flg=True)
    expected, mu, var = _book_bn_forward(x_host, gamma_host, beta_host)
    assert_close(out, expected, backend, rtol=1e-10, atol=1e-12)
    assert_close(layer.running_mean, 0.1 * mu, backend, rtol=1e-12)
    assert_close(layer.running_var, 0.1 * var, backend, rtol=1e-12)
    out2 = layer.forward(backend.asarray(x_host), train_flg=False)
    inference = (x_host.reshape(shape[0], -1) - 0.1 * mu) / np.sqrt(0.1 * var + 10e-7)
    assert_close(out2, (gamma_host * inference + beta_host).reshape(shape), backend, rtol=1e-10)


@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 2, 3)])
def test_batchnorm_backward_matches_numerical_gradient(backend, shape) -> None:
    features = int(np.prod(shape[1:]))
    x = backend.asarray(_host(5, *shape))
    weights = backend.asarray(_host(6, *shape))
    gamma, beta = backend.asarray(_host(7, features)), backend.asarray(_host(8, features))
    layer = BatchNormalization(gamma, beta)
    xp = backend.xp

    def f(_: object) -> object:
        return xp.sum(layer.forward(x, train_flg=True) * weights)

    f(None)
    dx = layer.backward(weights)
    assert_close(dx, backend.to_numpy(numerical_gradient(f, x)), backend, rtol=1e-5, atol=1e-8)
    dgamma, dbeta = layer.dgamma, layer.dbeta
    assert_close(dgamma, backend.to_numpy(numerical_gradient(f, layer.gamma)), backend,
                 rtol=1e-5, atol=1e-8)
    assert_close(dbeta, backend.to_numpy(numerical_gradient(f, layer.beta)), backend,
                 rtol=1e-5, atol=1e-8)


def test_batchnorm_keeps_float32(backend) -> None:
    x = backend.asarray(_host(9, 4, 3).astype(np.float32))
    ones = backend.asarray(np.ones(3, dtype=np.float32))
    layer = BatchNormalization(ones, backend.asarray(np.zeros(3, dtype=np.float32)))
    out = layer.forward(x)
    dx = layer.backward(out)
    for a in (out, dx, layer.dgamma, layer.dbeta, layer.running_mean, layer.running_var):
        assert a.dtype == backend.xp.float32


# MultiLayerNetExtend


def _data(n: int = 6, d: int = 5, classes: int = 3):
    rng = np.random.default_rng(11)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"use_batchnorm": True},
        {"use_dropout": True, "dropout_ratio": 0.3},
        {"use_batchnorm": True, "use_dropout": True, "weight_decay_lambda": 0.1},
        {"use_batchnorm": True, "activation": "sigmoid", "weight_init_std": "xavier"},
    ],
)
def test_extend_backprop_matches_numerical_gradient(backend, options) -> None:
    net = MultiLayerNetExtend(5, [4, 3], 3, backend=backend, dtype="float64", seed=1, **options)
    net.keep_dropout_masks()
    for key in net.params:
        if key.startswith("b"):  # zero biases put ReLU at its kink where Dropout zeroes a row
            net.params[key] = backend.asarray(_host(12, *net.params[key].shape) * 0.1)
    x, t = _data()
    grads = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    assert set(grads) == set(numerical) == set(net.params)
    for key in grads:
        assert np.count_nonzero(backend.to_numpy(grads[key])) > 0, f"{key}: no gradient flows"
        assert_close(grads[key], backend.to_numpy(numerical[key]), backend, rtol=1e-5, atol=1e-7)


def test_extend_params_are_named_as_the_book(backend) -> None:
    net = MultiLayerNetExtend(5, [4, 3], 2, use_batchnorm=True, backend=backend, seed=0)
    assert list(net.params) == [
        "W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"
    ]
    assert list(net.buffers) == ["running_mean1", "running_var1", "running_mean2", "running_var2"]
    assert tuple(net.params["gamma2"].shape) == (3,)


def test_extend_without_options_is_multilayernet(backend) -> None:
    x, _ = _data()
    plain = MultiLayerNet(5, [4, 3], 3, backend=backend, dtype="float64", seed=4)
    extend = MultiLayerNetExtend(5, [4, 3], 3, backend=backend, dtype="float64", seed=4)
    assert_close(extend.predict(x), backend.to_numpy(plain.predict(x)), backend)


def test_extend_inference_uses_running_statistics(backend) -> None:
    net = MultiLayerNetExtend(
        5, [4], 3, use_batchnorm=True, use_dropout=True, backend=backend, dtype="float64", seed=2
    )
    x, t = _data(8)
    net.gradient(x, t)
    first = backend.to_numpy(net.predict(x))
    np.testing.assert_array_equal(backend.to_numpy(net.predict(x)), first)
    assert not np.allclose(backend.to_numpy(net.predict(x, train_flg=True)), first)
    net.gradient(x, t)
    assert not np.allclose(backend.to_numpy(net.predict(x)), first)


def test_numerical_gradient_restores_mode_and_running_statistics(backend) -> None:
    net = MultiLayerNetExtend(5, [4], 3, use_batchnorm=True, backend=backend, dtype="float64")
    x, t = _data()
    net.gradient(x, t)
    before = {k: backend.to_numpy(v) for k, v in net.buffers.items()}
    net.numerical_gradient(x, t)
    assert net.train_flg is False
    for key, value in before.items():
        np.testing.assert_array_equal(backend.to_numpy(net.buffers[key]), value)


def test_extend_float32_stays_float32(backend) -> None:
    net = MultiLayerNetExtend(
        5, [4], 3, use_batchnorm=True, use_dropout=True, backend=backend, seed=0
    )
    x, t = _data()
    grads = net.gradient(x.astype(np.float32), t)
    for key, value in grads.items():
        assert value.dtype == backend.xp.float32, key
    for value in net.buffers.values():
        assert value.dtype == backend.xp.float32


def test_extend_config_rebuilds(backend) -> None:
    net = MultiLayerNetExtend(
        5, [4, 4], 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.2,
        weight_decay_lambda=0.01, backend=backend, dtype="float64", seed=9,
    )
    again = build(net.config, backend=backend, dtype="float64", seed=9)
    assert isinstance(again, MultiLayerNetExtend)
    assert again.config == net.config
    for key in net.params:
        assert_close(again.params[key], backend.to_numpy(net.params[key]), backend)


def test_dropout_masks_agree_across_nets_with_one_seed(backend) -> None:
    x, t = _data()
    a = MultiLayerNetExtend(5, [4], 3, use_dropout=True, backend=backend, dtype="float64", seed=5)
    b = MultiLayerNetExtend(5, [4], 3, use_dropout=True, backend="numpy", dtype="float64", seed=5)
    assert_close(a.predict(x, train_flg=True), b.predict(x, train_flg=True), backend, rtol=1e-12)
