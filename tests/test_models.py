"""The model registry and the nets' layout: every model built from its config, the config
round-tripped, the shapes a config implies, the command line's options as configs, and
TwoLayerNet laid out as the book's ch05 file."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.cli import build_parser
from nnxp.cli.model_options import describe, network_config
from nnxp.errors import NnxpError
from nnxp.models import registry
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.models.options import MODEL_OPTIONS, takes_images
from nnxp.models.registry import MODELS, build, model_class, param_shapes
from nnxp.models.two_layer import TwoLayerNet
from tests.helpers import assert_close

SMALL = {
    "two-layer": {"model": "two-layer", "input_size": 6, "hidden_size": 4, "output_size": 3},
    "multi-layer": {"model": "multi-layer", "input_size": 6, "hidden_size_list": [5, 4],
                    "output_size": 3, "weight_decay_lambda": 0.1},
    "multi-layer-extend": {"model": "multi-layer-extend", "input_size": 6,
                           "hidden_size_list": [5, 4], "output_size": 3, "use_batchnorm": True,
                           "use_dropout": True, "dropout_ratio": 0.2},
    "simple-conv": {"model": "simple-conv", "input_dim": [1, 8, 8], "hidden_size": 5,
                    "output_size": 3, "conv_param": {"filter_num": 2, "filter_size": 3,
                                                     "pad": 0, "stride": 1}},
    "deep-conv": {"model": "deep-conv", "input_dim": [1, 8, 8], "hidden_size": 5,
                  "output_size": 3,
                  **{f"conv_param_{i}": {"filter_num": 2} for i in range(1, 7)}},
}


def test_the_registry_knows_every_model():
    assert list(MODELS) == list(SMALL)
    for name, cls in MODELS.items():
        assert cls.model == name and model_class(name) is cls
    with pytest.raises(NnxpError, match="unknown model 'resnet'"):
        model_class("resnet")


@pytest.mark.parametrize("name", list(SMALL))
def test_build_round_trips_the_config(backend, name):
    net = build(SMALL[name], backend=backend, dtype="float64", seed=3)
    again = build(net.config, backend=backend, dtype="float64", seed=3)
    assert type(net) is MODELS[name] and again.config == net.config
    for key in net.params:
        assert_close(again.params[key], backend.to_numpy(net.params[key]), backend, rtol=0)


@pytest.mark.parametrize("name", list(SMALL))
def test_param_shapes_are_the_shapes_a_net_allocates(name):
    net = build(SMALL[name], seed=0)
    params, buffers = param_shapes(SMALL[name])
    assert params == {k: tuple(v.shape) for k, v in net.params.items()}
    assert buffers == {k: tuple(v.shape) for k, v in getattr(net, "buffers", {}).items()}


def test_param_shapes_check_the_config_as_the_constructor():
    with pytest.raises(NnxpError, match="hidden size is 0"):
        param_shapes({**SMALL["two-layer"], "hidden_size": 0})
    with pytest.raises(NnxpError, match="bad config"):
        param_shapes({**SMALL["two-layer"], "depth": 3})


def test_seeded_weights_are_the_book_draws():
    """std * randn drawn on the host in float64, then cast: what today's model files hold."""
    net = TwoLayerNet(6, 4, 3, weight_init_std=0.01, dtype="float32", seed=5)
    rng = np.random.Generator(np.random.PCG64(5))
    W1 = (0.01 * rng.standard_normal((6, 4))).astype("float32")
    W2 = (0.01 * rng.standard_normal((4, 3))).astype("float32")
    np.testing.assert_array_equal(net.params["W1"], W1)
    np.testing.assert_array_equal(net.params["W2"], W2)


def test_extend_without_extras_draws_multilayernets_weights():
    plain = MultiLayerNet(6, [5, 4], 3, seed=2)
    extend = build({**SMALL["multi-layer-extend"], "use_batchnorm": False,
                    "use_dropout": False}, seed=2)
    assert list(extend.params) == list(plain.params)
    for key in plain.params:
        np.testing.assert_array_equal(extend.params[key], plain.params[key])


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_two_layer_net_reads_like_the_book(activation):
    net = TwoLayerNet(6, 4, 3, activation=activation, seed=0)
    name = {"relu": "Relu1", "sigmoid": "Sigmoid1", "tanh": "Tanh1"}[activation]
    assert list(net.layers) == ["Affine1", name, "Affine2"]
    assert net.lastLayer is net.last_layer
    assert net.layers["Affine1"].W is net.params["W1"]
    assert net.layers["Affine2"].b is net.params["b2"]


def _train_config(*argv, input_shape=(1, 4, 4)):
    args = build_parser().parse_args(["train", *argv])
    return network_config(args, "train", input_shape, 10)


def test_every_model_has_its_command_line_options():
    assert list(MODEL_OPTIONS) == list(MODELS)
    assert [m for m in MODELS if takes_images(m)] == ["simple-conv", "deep-conv"]


def test_options_become_configs():
    config = _train_config("--model", "multi-layer-extend", "--hidden", "7", "5", "--dropout",
                           "0.3", "--batchnorm")
    assert config == {"model": "multi-layer-extend", "output_size": 10, "input_size": 16,
                      "activation": "relu", "weight_init_std": "he", "hidden_size_list": [7, 5],
                      "weight_decay_lambda": 0.0, "use_dropout": True, "dropout_ratio": 0.3,
                      "use_batchnorm": True}
    assert describe(config) == "16-7-5-10 relu, batchnorm, dropout 0.3"
    conv = _train_config("--model", "simple-conv", input_shape=(1, 28, 28))
    assert conv == {"model": "simple-conv", "output_size": 10, "input_dim": [1, 28, 28],
                    "hidden_size": 100, "weight_init_std": 0.01}
    assert describe(conv) == "1x28x28 images, hidden 100"
    two = _train_config("--init", "xavier", "--activation", "sigmoid", input_shape=(784,))
    assert two["weight_init_std"] == "xavier" and describe(two) == "784-50-10 sigmoid"
    tanh = _train_config("--model", "multi-layer", "--activation", "tanh", input_shape=(784,))
    assert tanh["weight_init_std"] == "xavier" and describe(tanh) == "784-50-10 tanh"
    for each in (config, conv, two, tanh):
        build(each, seed=0)


def test_options_a_model_does_not_take_are_refused():
    with pytest.raises(NnxpError, match="--batchnorm applies to --model multi-layer-extend"):
        _train_config("--batchnorm")
    with pytest.raises(NnxpError, match="takes one hidden size"):
        _train_config("--hidden", "3", "4")
    with pytest.raises(NnxpError, match="takes images"):
        _train_config("--model", "deep-conv", input_shape=(784,))


def test_a_registered_model_is_built():
    class Tiny(TwoLayerNet):
        model = "tiny"

    registry.register("tiny", Tiny)
    try:
        assert type(build({**SMALL["two-layer"], "model": "tiny"})) is Tiny
    finally:
        del registry._CLASSES["tiny"]


def test_the_books_spelling_dropout_ration_is_dropout_ratio():
    from nnxp.models.multi_layer import MultiLayerNetExtend

    net = MultiLayerNetExtend(6, [5, 4], 3, use_dropout=True, dropout_ration=0.2, seed=0)
    assert net.dropout_ratio == 0.2 and net.config["dropout_ratio"] == 0.2
    assert [layer.dropout_ratio for layer in net.layers if hasattr(layer, "keep_mask")] == [0.2] * 2
    assert MultiLayerNetExtend(6, [4], 3, "relu", "relu", 0, True, 0.3).dropout_ratio == 0.3
    assert build({**SMALL["multi-layer-extend"], "dropout_ratio": 0.5,
                  "dropout_ration": 0.1}).dropout_ratio == 0.1
    deep = build({**SMALL["deep-conv"], "dropout_ration": 0.3}, seed=0)
    assert deep.config["dropout_ratio"] == 0.3 and deep.layers[-1].dropout_ratio == 0.3
    with pytest.raises(NnxpError, match="dropout_ratio 0.4 and dropout_ration 0.2 .* both given"):
        MultiLayerNetExtend(6, [4], 3, dropout_ratio=0.4, dropout_ration=0.2)
    with pytest.raises(NnxpError, match="dropout_ration must be a number in"):
        MultiLayerNetExtend(6, [4], 3, dropout_ration=1.0)
