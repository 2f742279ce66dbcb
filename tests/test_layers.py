"""The computational-graph layers: the seed's shopping examples and gradient checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnxp.gradient import numerical_gradient
from nnxp.layers import AddLayer, Affine, MulLayer, Relu, Sigmoid, SoftmaxWithLoss, Tanh
from tests.helpers import assert_close


def test_apple(backend):
    def s(v):
        return backend.asarray(np.asarray(v, dtype=np.float64))

    mul_apple, mul_tax = MulLayer(), MulLayer()
    price = mul_tax.forward(mul_apple.forward(s(100.0), s(2.0)), s(1.1))
    assert float(price) == pytest.approx(220.0)
    dapple_price, dtax = mul_tax.backward(s(1.0))
    dapple, dapple_num = mul_apple.backward(dapple_price)
    assert (float(dapple), float(dapple_num), float(dtax)) == pytest.approx((2.2, 110.0, 200.0))


def test_apple_and_orange(backend):
    def s(v):
        return backend.asarray(np.asarray(v, dtype=np.float64))

    mul_apple, mul_orange, add, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    apple = mul_apple.forward(s(100.0), s(2.0))
    orange = mul_orange.forward(s(150.0), s(3.0))
    price = mul_tax.forward(add.forward(apple, orange), s(1.1))
    assert float(price) == pytest.approx(715.0)
    dall, dtax = mul_tax.backward(s(1.0))
    dapple_price, dorange_price = add.backward(dall)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    got = [float(v) for v in (dapple_num, dapple, dorange, dorange_num, dtax)]
    assert got == pytest.approx([110.0, 2.2, 3.3, 165.0, 650.0])


def test_relu_leaves_its_inputs_alone(backend):
    x_host = np.array([[-1.0, 2.0], [3.0, -4.0]])
    d_host = np.ones((2, 2))
    x, dout = backend.asarray(x_host), backend.asarray(d_host)
    layer = Relu()
    assert_close(layer.forward(x), np.maximum(x_host, 0), backend)
    assert_close(layer.backward(dout), (x_host > 0) * 1.0, backend)
    assert_close(x, x_host, backend, rtol=0)
    assert_close(dout, d_host, backend, rtol=0)


def test_affine_nd_input_returns_dx_in_input_shape(backend):
    rng = np.random.default_rng(1)
    x_host, W_host = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5))
    b_host = rng.standard_normal(5)
    layer = Affine(backend.asarray(W_host), backend.asarray(b_host))
    out = layer.forward(backend.asarray(x_host))
    assert_close(out, x_host.reshape(4, 6) @ W_host + b_host, backend, rtol=1e-12)
    dout = rng.standard_normal((4, 5))
    dx = layer.backward(backend.asarray(dout))
    assert_close(dx, (dout @ W_host.T).reshape(4, 2, 3), backend, rtol=1e-12)
    assert_close(layer.dW, x_host.reshape(4, 6).T @ dout, backend, rtol=1e-12)
    assert_close(layer.db, dout.sum(axis=0), backend, rtol=1e-12)


def test_softmax_with_loss_one_hot_and_integer_labels_agree(backend):
    rng = np.random.default_rng(2)
    x_host = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    one_hot = np.eye(4)[labels]
    a, b = SoftmaxWithLoss(), SoftmaxWithLoss()
    loss_a = a.forward(backend.asarray(x_host), backend.asarray(one_hot))
    loss_b = b.forward(backend.asarray(x_host), backend.asarray(labels))
    assert float(loss_a) == pytest.approx(float(loss_b), rel=1e-14)
    e = np.exp(x_host - x_host.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    assert_close(a.backward(), (y - one_hot) / 5, backend, rtol=1e-12)
    assert_close(b.backward(), (y - one_hot) / 5, backend, rtol=1e-12)


shapes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))


@settings(max_examples=15, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1))
def test_layer_backward_matches_numerical_gradient(backend, shape, seed):
    """Each layer's backward equals the numerical gradient of sum(dout * forward(x))."""
    n, d, m = shape
    rng = np.random.default_rng(seed)
    xp = backend.xp
    z = rng.standard_normal((n, d))
    x_host = z + 0.05 * np.sign(z)  # at least 0.05 from ReLU's kink, far beyond h
    dout = backend.asarray(rng.standard_normal((n, m)))
    dout_act = backend.asarray(rng.standard_normal((n, d)))
    W = backend.asarray(rng.standard_normal((d, m)))
    b = backend.asarray(rng.standard_normal(m))
    x = backend.asarray(x_host)

    for layer, upstream in ((Sigmoid(), dout_act), (Relu(), dout_act), (Tanh(), dout_act),
                            (Affine(W, b), dout)):
        layer.forward(x)
        dx = layer.backward(upstream)
        expected = numerical_gradient(lambda a, L=layer, u=upstream: xp.sum(u * L.forward(a)), x)
        assert_close(dx, backend.to_numpy(expected), backend, atol=1e-7)

    affine = Affine(W, b)
    affine.forward(x)
    affine.backward(dout)
    dW = numerical_gradient(lambda w: xp.sum(dout * Affine(w, b).forward(x)), W)
    db = numerical_gradient(lambda c: xp.sum(dout * Affine(W, c).forward(x)), b)
    assert_close(affine.dW, backend.to_numpy(dW), backend, atol=1e-7)
    assert_close(affine.db, backend.to_numpy(db), backend, atol=1e-7)

    labels = backend.asarray(rng.integers(0, m, size=n))
    scores = backend.asarray(rng.standard_normal((n, m)))
    loss_layer = SoftmaxWithLoss()
    loss_layer.forward(scores, labels)
    dscores = loss_layer.backward()
    expected = numerical_gradient(lambda s: SoftmaxWithLoss().forward(s, labels), scores)
    # backward's (y - t) / N ignores the loss's delta of 1e-7: relative error about 1e-7 / y
    assert_close(dscores, backend.to_numpy(expected), backend, rtol=1e-5, atol=1e-7)


def test_backward_params_gives_backwards_parameter_gradients(backend):
    rng = np.random.default_rng(5)
    W, b = backend.asarray(rng.standard_normal((6, 4))), backend.asarray(rng.standard_normal(4))
    x, dout = backend.asarray(rng.standard_normal((3, 2, 3))), backend.asarray(rng.standard_normal((3, 4)))
    full, params_only = Affine(W, b), Affine(W, b)
    full.forward(x)
    params_only.forward(x)
    full.backward(dout)
    assert params_only.backward_params(dout) is None
    assert_close(params_only.dW, backend.to_numpy(full.dW), backend, rtol=0)
    assert_close(params_only.db, backend.to_numpy(full.db), backend, rtol=0)


def test_net_gradient_skips_the_datas_gradient(backend, monkeypatch):
    from nnxp.models.conv import SimpleConvNet
    from nnxp.models.multi_layer import MultiLayerNet

    rng = np.random.default_rng(6)
    nets = [
        (MultiLayerNet(5, [4, 3], 2, backend=backend, dtype="float64", seed=0),
         rng.standard_normal((3, 5))),
        (SimpleConvNet(input_dim=(1, 6, 6), conv_param={"filter_num": 2, "filter_size": 3,
                                                        "pad": 0, "stride": 1},
                       hidden_size=4, output_size=2, backend=backend, dtype="float64", seed=0),
         rng.standard_normal((3, 1, 6, 6))),
    ]
    for net, x in nets:
        t = rng.integers(0, 2, 3)
        expected = {k: backend.to_numpy(v) for k, v in net.gradient(x, t).items()}

        def refuse(dout):
            raise AssertionError("the first layer's input gradient was computed")

        monkeypatch.setattr(net.layers[0], "backward", refuse)
        got = net.gradient(x, t)
        for key, value in expected.items():
            assert_close(got[key], value, backend, rtol=0)
