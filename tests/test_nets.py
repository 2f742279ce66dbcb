"""The book's networks: the seed's three-layer example, TwoLayerNet and MultiLayerNet."""

import numpy as np
import pytest

from nnxp import MultiLayerNet, NnxpError, TwoLayerNet
from nnxp.models import build
from nnxp.models.three_layer import forward, init_network
from tests.helpers import assert_close


def test_three_layer_forward_seed_figure(backend):
    network = init_network(backend)
    y = forward(network, backend.asarray(np.array([1.0, 0.5])))
    assert_close(y, [0.31682708, 0.69627909], backend, atol=5e-9, dtype=backend.xp.float64)


def small_batch(rng, n=6, d=8, classes=4, one_hot=False):
    x = rng.standard_normal((n, d))
    labels = rng.integers(0, classes, size=n)
    return x, (np.eye(classes)[labels] if one_hot else labels)


NETS = {
    "two-layer-sigmoid": lambda be: TwoLayerNet(8, 6, 4, activation="sigmoid",
                                                backend=be, dtype="float64", seed=1),
    "two-layer-relu": lambda be: TwoLayerNet(8, 6, 4, weight_init_std="he", activation="relu",
                                             backend=be, dtype="float64", seed=2),
    "multi-layer-relu": lambda be: MultiLayerNet(8, [5, 4, 3], 4, activation="relu",
                                                 weight_init_std="he", backend=be, dtype="float64",
                                                 seed=3),
    "multi-layer-sigmoid": lambda be: MultiLayerNet(8, [5, 4], 4, activation="sigmoid",
                                                    weight_init_std="xavier", backend=be,
                                                    dtype="float64", seed=4),
    "multi-layer-decay": lambda be: MultiLayerNet(8, [5], 4, weight_decay_lambda=0.1, backend=be,
                                                  dtype="float64", seed=5),
}


@pytest.mark.parametrize("one_hot", [False, True], ids=["labels", "one-hot"])
@pytest.mark.parametrize("make", NETS.values(), ids=NETS.keys())
def test_gradient_check(backend, make, one_hot):
    """Backprop equals the numerical gradient to 1e-7 on every parameter (the book only prints)."""
    net = make(backend)
    x, t = small_batch(np.random.default_rng(7), one_hot=one_hot)
    grad_backprop = net.gradient(x, t)
    grad_numerical = net.numerical_gradient(x, t)
    assert set(grad_backprop) == set(net.params)
    for key in net.params:
        diff = np.abs(backend.to_numpy(grad_backprop[key]) - backend.to_numpy(grad_numerical[key]))
        assert diff.max() <= 1e-7, f"{key}: max |backprop - numerical| = {diff.max():.3g}"
        assert grad_backprop[key].dtype == backend.xp.float64


def test_float32_net_stays_float32(backend):
    net = TwoLayerNet(8, 6, 4, activation="relu", backend=backend, dtype="float32", seed=0)
    x, t = small_batch(np.random.default_rng(0))
    f32 = backend.xp.float32
    assert net.predict(x).dtype == f32
    assert net.loss(x, t).dtype == f32
    assert all(g.dtype == f32 for g in net.gradient(x, t).values())
    assert all(p.dtype == f32 for p in net.params.values())
    assert isinstance(net.accuracy(x, t), float)


def test_same_seed_same_weights_on_every_backend(backend):
    net = MultiLayerNet(8, [5, 4], 3, backend=backend, dtype="float32", seed=11)
    ref = MultiLayerNet(8, [5, 4], 3, backend="numpy", dtype="float32", seed=11)
    for key in ref.params:
        assert_close(net.params[key], ref.params[key], backend, rtol=0, atol=0)


def test_init_std_scales(backend):
    he = MultiLayerNet(400, [300], 10, weight_init_std="he", backend=backend, seed=0)
    xavier = MultiLayerNet(400, [300], 10, weight_init_std="xavier", backend=backend, seed=0)
    assert backend.to_numpy(he.params["W1"]).std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert backend.to_numpy(xavier.params["W1"]).std() == pytest.approx(np.sqrt(1 / 400), rel=0.02)
    assert backend.to_numpy(he.params["b1"]).tolist() == [0.0] * 300


def test_params_is_a_live_view_of_the_layers(backend):
    net = TwoLayerNet(4, 3, 2, activation="relu", backend=backend, dtype="float64", seed=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    net.params["b2"] = backend.asarray(np.array([5.0, -5.0]))
    out = net.predict(np.zeros((1, 4)))
    assert_close(out, [[5.0, -5.0]], backend)
    net.params["W1"] -= 1.0
    assert_close(net.layers["Affine1"].W, backend.to_numpy(net.params["W1"]), backend, rtol=0)
    with pytest.raises(KeyError, match="not a parameter"):
        net.params["W9"] = net.params["W1"]


def test_accuracy_with_labels_and_one_hot(backend):
    net = TwoLayerNet(3, 4, 3, backend=backend, dtype="float64", seed=0)
    x = np.eye(3)
    scores = backend.to_numpy(net.predict(x))
    labels = scores.argmax(axis=1)
    assert net.accuracy(x, labels) == 1.0
    assert net.accuracy(x, np.eye(3)[(labels + 1) % 3]) == 0.0


@pytest.mark.host
def test_rebuild_from_config():
    for net in (TwoLayerNet(5, 4, 3, activation="relu", seed=0),
                MultiLayerNet(5, [4, 3], 2, activation="sigmoid", weight_init_std=0.1,
                              weight_decay_lambda=0.01, seed=0)):
        again = build(net.config, seed=0)
        assert type(again) is type(net) and again.config == net.config
        for key in net.params:
            np.testing.assert_array_equal(again.params[key], net.params[key])


@pytest.mark.host
def test_bad_configs_say_what_is_wrong():
    with pytest.raises(NnxpError, match="unknown model 'cnn'"):
        build({"model": "cnn"})
    with pytest.raises(NnxpError, match="unknown activation 'gelu'"):
        TwoLayerNet(2, 2, 2, activation="gelu")
    with pytest.raises(NnxpError, match="weight_init_std"):
        MultiLayerNet(2, [2], 2, weight_init_std="uniform")
    with pytest.raises(NnxpError, match="bad config"):
        build({"model": "two-layer", "input_size": 3})
