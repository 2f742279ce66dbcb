"""im2col, col2im, Convolution, Pooling and the conv nets on the backend under test.

References are the book's NumPy im2col/col2im and plain loops; gradients are checked against
the numerical gradient on tiny shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.conv import Convolution, Pooling, col2im, im2col
from nnxp.errors import NnxpError
from nnxp.gradient import numerical_gradient
from nnxp.models import build
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from tests.helpers import assert_close


def book_im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def book_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return img[:, :, pad : H + pad, pad : W + pad]


def loop_conv(x, W, b, stride, pad):
    N, C, H, Wd = x.shape
    FN, _, FH, FW = W.shape
    xp_ = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    out_h, out_w = (H + 2 * pad - FH) // stride + 1, (Wd + 2 * pad - FW) // stride + 1
    out = np.zeros((N, FN, out_h, out_w))
    for n in range(N):
        for f in range(FN):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp_[n, :, i * stride : i * stride + FH, j * stride : j * stride + FW]
                    out[n, f, i, j] = np.sum(window * W[f]) + b[f]
    return out


def loop_pool(x, ph, pw, stride, pad):
    N, C, H, W = x.shape
    xp_ = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    out_h, out_w = (H + 2 * pad - ph) // stride + 1, (W + 2 * pad - pw) // stride + 1
    out = np.zeros((N, C, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = xp_[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def _host(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


GEOMETRIES = [  # (input shape, filter h, filter w, stride, pad)
    ((2, 1, 5, 5), 3, 3, 1, 0),
    ((2, 3, 6, 5), 3, 2, 1, 1),
    ((1, 2, 7, 7), 3, 3, 2, 0),
    ((2, 2, 6, 7), 2, 3, 2, 1),
    ((1, 1, 4, 4), 4, 4, 1, 0),
    ((1, 2, 5, 6), 1, 1, 3, 2),
]


@pytest.mark.parametrize(("shape", "fh", "fw", "stride", "pad"), GEOMETRIES)
def test_im2col_matches_the_book(backend, shape, fh, fw, stride, pad) -> None:
    x = _host(0, *shape)
    col = im2col(backend.asarray(x), fh, fw, stride, pad)
    assert_close(col, book_im2col(x, fh, fw, stride, pad), backend)


@pytest.mark.parametrize(("shape", "fh", "fw", "stride", "pad"), GEOMETRIES)
def test_col2im_matches_the_book_and_is_the_adjoint(backend, shape, fh, fw, stride, pad) -> None:
    rows = book_im2col(np.zeros(shape), fh, fw, stride, pad).shape
    c = _host(1, *rows)
    img = col2im(backend.asarray(c), shape, fh, fw, stride, pad)
    assert_close(img, book_col2im(c, shape, fh, fw, stride, pad), backend, rtol=1e-12)
    x = _host(2, *shape)
    lhs = np.sum(book_im2col(x, fh, fw, stride, pad) * c)
    assert np.isclose(lhs, np.sum(x * backend.to_numpy(img)), rtol=1e-12)


def test_im2col_keeps_dtype_and_input(backend) -> None:
    x_host = _host(3, 2, 2, 5, 5).astype(np.float32)
    x = backend.asarray(x_host)
    col = im2col(x, 3, 3, 1, 1)
    assert col.dtype == backend.xp.float32
    assert col2im(col, (2, 2, 5, 5), 3, 3, 1, 1).dtype == backend.xp.float32
    assert_close(x, x_host, backend)


@pytest.mark.parametrize(("shape", "fh", "fw", "stride", "pad"), GEOMETRIES)
def test_convolution_forward_matches_loops(backend, shape, fh, fw, stride, pad) -> None:
    x, W, b = _host(4, *shape), _host(5, 3, shape[1], fh, fw), _host(6, 3)
    layer = Convolution(backend.asarray(W), backend.asarray(b), stride, pad)
    out = layer.forward(backend.asarray(x))
    assert_close(out, loop_conv(x, W, b, stride, pad), backend, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("shape", "fh", "fw", "stride", "pad"), GEOMETRIES[:4])
def test_convolution_backward_matches_numerical_gradient(backend, shape, fh, fw, stride, pad):
    xp = backend.xp
    x = backend.asarray(_host(7, *shape))
    layer = Convolution(
        backend.asarray(_host(8, 2, shape[1], fh, fw)), backend.asarray(_host(9, 2)), stride, pad
    )
    weights = backend.asarray(_host(10, *tuple(layer.forward(x).shape)))

    def f(_: object) -> object:
        return xp.sum(layer.forward(x) * weights)

    f(None)
    dx = layer.backward(weights)
    for analytic, wrt in ((dx, x), (layer.dW, layer.W), (layer.db, layer.b)):
        expected = backend.to_numpy(numerical_gradient(f, wrt))
        assert_close(analytic, expected, backend, rtol=1e-6, atol=1e-8)


POOLS = [((2, 2, 4, 4), 2, 2, 2, 0), ((1, 3, 5, 5), 3, 3, 1, 0), ((2, 1, 5, 4), 2, 2, 2, 1)]


@pytest.mark.parametrize(("shape", "ph", "pw", "stride", "pad"), POOLS)
def test_pooling_forward_and_backward(backend, shape, ph, pw, stride, pad) -> None:
    xp = backend.xp
    x_host = _host(11, *shape)
    x = backend.asarray(x_host)
    layer = Pooling(ph, pw, stride, pad)
    out = layer.forward(x)
    assert_close(out, loop_pool(x_host, ph, pw, stride, pad), backend)
    weights = backend.asarray(_host(12, *tuple(out.shape)))

    def f(_: object) -> object:
        return xp.sum(layer.forward(x) * weights)

    f(None)
    dx = layer.backward(weights)
    expected = backend.to_numpy(numerical_gradient(f, x))
    assert_close(dx, expected, backend, rtol=1e-6, atol=1e-8)


def test_pooling_gradient_goes_to_the_first_maximum(backend) -> None:
    x = backend.asarray(np.ones((1, 1, 2, 2)))
    layer = Pooling(2, 2, stride=2)
    layer.forward(x)
    dx = layer.backward(backend.asarray(np.full((1, 1, 1, 1), 3.0)))
    assert_close(dx, np.array([[[[3.0, 0.0], [0.0, 0.0]]]]), backend)


@pytest.mark.host
def test_a_filter_that_does_not_fit_is_a_one_line_error() -> None:
    with pytest.raises(NnxpError, match="does not fit an input of 3"):
        im2col(np.zeros((1, 1, 3, 3)), 5, 5)


# The nets


def _positive_biases(net, backend) -> None:
    """Biases in [0.05, 0.3], so the ReLUs are alive and none sits at its kink."""
    for key in net.params:
        if key.startswith("b"):
            shape = net.params[key].shape
            net.params[key] = backend.asarray(np.abs(_host(13, *shape)) * 0.1 + 0.05)


def _check_gradients(net, x, t, backend) -> None:
    grads = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    assert set(grads) == set(numerical) == set(net.params)
    for key in grads:
        assert tuple(grads[key].shape) == tuple(net.params[key].shape), key
        assert np.count_nonzero(backend.to_numpy(grads[key])) > 0, f"{key}: no gradient flows"
        assert_close(grads[key], backend.to_numpy(numerical[key]), backend, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "conv_param",
    [
        {"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1},
        {"filter_num": 2, "filter_size": 3, "pad": 1, "stride": 2},
    ],
)
def test_simple_conv_net_backprop_matches_numerical_gradient(backend, conv_param) -> None:
    net = SimpleConvNet((2, 6, 6), conv_param, hidden_size=4, output_size=3, weight_init_std=0.3,
                        backend=backend, dtype="float64", seed=0)
    _positive_biases(net, backend)
    x, t = _host(14, 3, 2, 6, 6), np.array([0, 2, 1])
    _check_gradients(net, x, t, backend)


def test_deep_conv_net_backprop_matches_numerical_gradient(backend) -> None:
    small = [{"filter_num": 2}] * 6
    net = DeepConvNet((1, 8, 8), *small, hidden_size=6, output_size=3, dropout_ratio=0.2,
                      backend=backend, dtype="float64", seed=0)
    net.keep_dropout_masks()
    _positive_biases(net, backend)
    x, t = np.abs(_host(15, 3, 1, 8, 8)), np.array([1, 2, 0])
    _check_gradients(net, x, t, backend)


def test_simple_conv_net_has_the_books_shapes(backend) -> None:
    net = SimpleConvNet(backend=backend, seed=0)
    shapes = {key: tuple(value.shape) for key, value in net.params.items()}
    assert shapes == {
        "W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,),
        "W3": (100, 10), "b3": (10,),
    }
    assert net.params["W1"].dtype == backend.xp.float32
    assert abs(float(np.std(backend.to_numpy(net.params["W2"]))) - 0.01) < 1e-3


def test_deep_conv_net_has_the_books_shapes(backend) -> None:
    net = DeepConvNet(backend=backend, seed=0)
    shapes = {key: tuple(value.shape) for key, value in net.params.items() if key[0] == "W"}
    assert shapes == {
        "W1": (16, 1, 3, 3), "W2": (16, 16, 3, 3), "W3": (32, 16, 3, 3), "W4": (32, 32, 3, 3),
        "W5": (64, 32, 3, 3), "W6": (64, 64, 3, 3), "W7": (1024, 50), "W8": (50, 10),
    }
    for i, index in enumerate(net.weighted_layers, 1):
        assert net.layers[index].W is net.params[f"W{i}"]
    std7 = float(np.std(backend.to_numpy(net.params["W7"])))
    assert abs(std7 - np.sqrt(2.0 / 1024)) < 2e-3


@pytest.mark.parametrize("cls", [SimpleConvNet, DeepConvNet])
def test_conv_nets_keep_float32_and_take_flat_rows(backend, cls) -> None:
    net = cls(backend=backend, seed=1)
    images = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    y = net.predict(images)
    assert tuple(y.shape) == (2, 10) and y.dtype == backend.xp.float32
    assert_close(net.predict(images.reshape(2, 784)), backend.to_numpy(y), backend)
    grads = net.gradient(images, np.array([3, 4]))
    assert all(g.dtype == backend.xp.float32 for g in grads.values())


@pytest.mark.parametrize("cls", [SimpleConvNet, DeepConvNet])
def test_conv_net_config_rebuilds_the_same_net(backend, cls) -> None:
    net = cls(input_dim=(1, 12, 12), output_size=4, backend=backend, dtype="float64", seed=3)
    again = build(net.config, backend=backend, dtype="float64", seed=3)
    assert type(again) is cls and again.config == net.config
    for key in net.params:
        assert_close(again.params[key], backend.to_numpy(net.params[key]), backend)


def test_accuracy_in_batches(backend) -> None:
    net = SimpleConvNet((1, 8, 8), {"filter_num": 3, "filter_size": 3}, hidden_size=5,
                        output_size=3, backend=backend, dtype="float64", seed=2)
    x = _host(16, 7, 1, 8, 8)
    t = np.argmax(backend.to_numpy(net.predict(x)), axis=1)
    t[:2] = (t[:2] + 1) % 3
    assert net.accuracy(x, t, batch_size=3) == pytest.approx(5 / 7)
    assert net.accuracy(x, np.eye(3)[t]) == pytest.approx(5 / 7)


@pytest.mark.host
def test_bad_conv_settings_are_one_line_errors() -> None:
    with pytest.raises(NnxpError, match="unknown conv_param keys"):
        SimpleConvNet(conv_param={"filters": 3})
    with pytest.raises(NnxpError, match="input_dim must be"):
        SimpleConvNet(input_dim=(28, 28))
