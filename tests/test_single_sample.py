"""One sample at a time, as the book's chapter 3 calls ``predict(network, x[i])``: a dense
net takes x of shape (input_size,), a conv net one image (C, H, W) or its flattened row, and
predict returns the scores of shape (classes,); loss, accuracy and gradient take the sample
with its label (an int or a one-hot row) as a batch of one."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNet, MultiLayerNetExtend
from nnxp.models.two_layer import TwoLayerNet
from tests.helpers import assert_close

SMALL_CONV = {"filter_num": 2, "filter_size": 3, "pad": 1, "stride": 1}

NETS = {
    "two-layer": lambda be: TwoLayerNet(64, 6, 4, backend=be, dtype="float64", seed=1),
    "two-layer-tanh": lambda be: TwoLayerNet(64, 6, 4, activation="tanh", backend=be,
                                             dtype="float64", seed=1),
    "multi-layer": lambda be: MultiLayerNet(64, [5, 4], 4, weight_decay_lambda=0.1, backend=be,
                                            dtype="float64", seed=2),
    "multi-layer-extend": lambda be: MultiLayerNetExtend(64, [5], 4, use_batchnorm=True,
                                                         backend=be, dtype="float64", seed=3),
    "simple-conv": lambda be: SimpleConvNet((1, 8, 8), SMALL_CONV, 5, 4, backend=be,
                                            dtype="float64", seed=4),
    "deep-conv": lambda be: DeepConvNet((1, 8, 8), *[SMALL_CONV] * 6, hidden_size=5,
                                        output_size=4, backend=be, dtype="float64", seed=5),
}
CONV = ("simple-conv", "deep-conv")


def batch(name, n=3):
    rng = np.random.default_rng(7)
    x = rng.random((n, 64))
    return (x.reshape(n, 1, 8, 8) if name in CONV else x), rng.integers(0, 4, n)


@pytest.mark.parametrize("name", list(NETS))
def test_predict_one_sample_gives_its_row_of_the_batch(backend, name):
    net = NETS[name](backend)
    x, _ = batch(name)
    scores = backend.to_numpy(net.predict(backend.asarray(x)))
    assert scores.shape == (3, 4)
    samples = [x[1]] + ([x[1].reshape(64)] if name in CONV else [])
    for sample in samples:
        one = net.predict(backend.asarray(sample))
        assert_close(one, scores[1], backend, rtol=1e-12, dtype=backend.xp.float64)
    assert tuple(net.predict(x[1]).shape) == (4,)  # a host array is moved, then scored


@pytest.mark.parametrize("name", list(NETS))
def test_loss_accuracy_and_gradient_take_one_sample(backend, name):
    net = NETS[name](backend)
    x, t = batch(name)
    sample, label = backend.asarray(x[1]), int(t[1])
    pair = backend.asarray(x[1:2]), backend.asarray(t[1:2])
    expected = float(net.loss(*pair))
    assert float(net.loss(sample, label)) == pytest.approx(expected, rel=1e-12)
    assert float(net.loss(sample, backend.asarray(np.eye(4)[label]))) == pytest.approx(
        expected, rel=1e-12)
    predicted = int(np.argmax(backend.to_numpy(net.predict(sample))))
    assert net.accuracy(sample, predicted) == 1.0
    assert net.accuracy(sample, (predicted + 1) % 4) == 0.0
    if name == "multi-layer-extend":
        return  # batch normalisation of a batch of one: its statistics are the sample itself
    if name == "deep-conv":
        net.keep_dropout_masks()  # the same dropout masks for both gradients
    one, whole = net.gradient(sample, label), net.gradient(*pair)
    for key in whole:
        assert_close(one[key], backend.to_numpy(whole[key]), backend, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["two-layer", "simple-conv"])
def test_a_sample_of_the_wrong_shape_is_one_line(backend, name):
    net = NETS[name](backend)
    with pytest.raises(NnxpError, match=r"one sample of shape \(63,\) does not fit") as e:
        net.loss(backend.asarray(np.zeros(63)), 1)
    assert "\n" not in str(e.value)
    with pytest.raises(NnxpError, match="labels of shape"):
        net.loss(backend.asarray(batch(name)[0][0]), backend.asarray(np.array([1, 2])))
