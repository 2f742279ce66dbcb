"""The book's convolutional nets: SimpleConvNet (chapter 7) and DeepConvNet (chapter 8).

Both take images (N, C, H, W), or the same images flattened to (N, C*H*W), name their
parameters as the book (W1, b1, ...), are built from a config dict like every nnxp net, and
score accuracy in mini-batches (an im2col of 10,000 images would not fit in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnxp.backends import Backend
from nnxp.conv import Convolution, Pooling, conv_output_size
from nnxp.errors import NnxpError
from nnxp.layers import Affine, Dropout, Relu
from nnxp.models.base import ModalNetwork, Shapes
from nnxp.models.checks import (
    check_init_std,
    dropout_fraction,
    init_std,
    non_negative_int,
    positive_int,
    show,
    size,
)
from nnxp.models.params import ParamMap

SIMPLE_CONV_PARAM: dict[str, int] = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
"""The book's conv_param default for SimpleConvNet."""

DEEP_CONV_PARAMS: tuple[dict[str, int], ...] = (
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
)
"""The book's conv_param_1 ... conv_param_6 defaults for DeepConvNet."""


def _conv_param(given: dict[str, int] | None, default: dict[str, int]) -> dict[str, int]:
    """default updated by given, checked for unknown keys, as plain ints: filter_num,
    filter_size and stride positive, pad >= 0."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise NnxpError(f"conv_param must be a dict of {', '.join(default)}, got {given!r:.60}")
    unknown = set(map(str, given)) - set(default)
    if unknown:
        raise NnxpError(
            f"unknown conv_param keys {sorted(unknown)}: use {', '.join(default)}"
        )
    param = {}
    for key, value in default.items():
        value = given.get(key, value)
        check = non_negative_int if key == "pad" else positive_int
        param[key] = check(f"conv_param {key}", value)
    return param


class ConvNetwork(ModalNetwork):
    """What the conv nets share: image-shaped input, weight drawing, chunked accuracy."""

    input_dim: tuple[int, int, int] = (1, 28, 28)
    accuracy_batch_size = 100

    @property
    def input_features(self) -> int:
        c, h, w = self.input_dim
        return c * h * w

    def check_inputs(self, x: Any) -> Any:
        """Images (N, C, H, W) of input_dim, or the same flattened to (N, C*H*W)."""
        x = self.backend.adopt(x, self.dtype)
        shape = tuple(int(n) for n in x.shape)
        if len(shape) not in (2, 4) or shape[1:] not in self.sample_shapes():
            image = ", ".join(map(str, self.input_dim))
            raise NnxpError(f"inputs of shape {shape} do not fit this net: pass images "
                            f"(N, {image}) or rows (N, {self.input_features}), or one image "
                            f"({image})")
        return super().check_inputs(x)

    def is_sample(self, x: Any) -> bool:
        """One image (C, H, W), or one flattened image (C*H*W,)."""
        return x.ndim in (1, 3)

    def sample_shapes(self) -> tuple[tuple[int, ...], ...]:
        return self.input_dim, (self.input_features,)

    def as_batch(self, x: Any) -> tuple[Any, bool]:
        """Images (N, C, H, W) as they are; flattened rows (N, C*H*W) as images; one image
        (C, H, W) or (C*H*W,) as a batch of one image."""
        x, one = super().as_batch(x)
        if x.ndim == 2 and x.shape[1] == self.input_features:
            x = self.backend.xp.reshape(x, (x.shape[0], *self.input_dim))
        return x, one


class SimpleConvNet(ConvNetwork):
    """conv - relu - pool - affine - relu - affine - softmax, the book's chapter 7.

    weight_init_std is a number (the book's 0.01) or "he"/"xavier" per layer fan-in.
    """

    model = "simple-conv"
    config_keys = ("input_dim", "conv_param", "hidden_size", "output_size", "weight_init_std")

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param: dict[str, int] | None = None,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: float | str = 0.01,
        *,
        backend: str | Backend = "numpy",
        dtype: str = "float32",
        seed: int | None = None,
    ) -> None:
        super().__init__(backend, dtype)
        self.input_dim = _input_dim(input_dim)
        self.conv_param = _conv_param(conv_param, SIMPLE_CONV_PARAM)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.output_size = positive_int("output_size", output_size)
        self.weight_init_std = check_init_std(weight_init_std)
        self.check_param_memory()
        shapes, _ = self.param_shapes(self.config)
        be, rng = self.backend, self.backend.rng(seed)
        channels, size = self.input_dim[0], self.conv_param["filter_size"]
        conv = Convolution(
            self.draw_weights(rng, shapes["W1"], init_std(weight_init_std, channels * size * size)),
            be.zeros(shapes["b1"]), self.conv_param["stride"], self.conv_param["pad"],
        )
        affine1 = Affine(
            self.draw_weights(rng, shapes["W2"], init_std(weight_init_std, shapes["W2"][0])),
            be.zeros(shapes["b2"]),
        )
        affine2 = Affine(
            self.draw_weights(rng, shapes["W3"], init_std(weight_init_std, self.hidden_size)),
            be.zeros(shapes["b3"]),
        )
        self.layers = [conv, Relu(), Pooling(2, 2, stride=2), affine1, Relu(), affine2]
        self.params = ParamMap({
            "W1": (conv, "W"), "b1": (conv, "b"),
            "W2": (affine1, "W"), "b2": (affine1, "b"),
            "W3": (affine2, "W"), "b3": (affine2, "b"),
        })

    @classmethod
    def param_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        a = cls.arguments(config)
        output = size(a["output_size"], "output_size")
        channels, height, width = _config_input_dim(a["input_dim"])
        hidden = size(a["hidden_size"], "hidden_size")
        num, side, conv_h, conv_w = _conv_shape(a["conv_param"], SIMPLE_CONV_PARAM, "conv_param",
                                                height, width)
        pool = num * conv_output_size(conv_h, 2, 2) * conv_output_size(conv_w, 2, 2)
        return {"W1": (num, channels, side, side), "b1": (num,), "W2": (pool, hidden),
                "b2": (hidden,), "W3": (hidden, output), "b3": (output,)}, {}


class DeepConvNet(ConvNetwork):
    """The book's chapter-8 net, He-initialised, without batch normalisation::

        conv - relu - conv - relu - pool -
        conv - relu - conv - relu - pool -
        conv - relu - conv - relu - pool -
        affine - relu - dropout - affine - dropout - softmax

    Parameters W1..W6 are the filters, W7 and W8 the affine weights (b1..b8 their biases).
    The book fixes both dropout ratios at 0.5; ``dropout_ratio`` (or ``dropout_ration``, the
    spelling of the book's MultiLayerNetExtend) sets them.
    """

    model = "deep-conv"
    weighted_layers: tuple[int, ...] = (0, 2, 5, 7, 10, 12, 15, 18)
    """Indices in ``layers`` of the layers holding W1..W8, as the book's load_params uses."""

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param_1: dict[str, int] | None = None,
        conv_param_2: dict[str, int] | None = None,
        conv_param_3: dict[str, int] | None = None,
        conv_param_4: dict[str, int] | None = None,
        conv_param_5: dict[str, int] | None = None,
        conv_param_6: dict[str, int] | None = None,
        hidden_size: int = 50,
        output_size: int = 10,
        dropout_ratio: float = 0.5,
        *,
        dropout_ration: float | None = None,
        backend: str | Backend = "numpy",
        dtype: str = "float32",
        seed: int | None = None,
    ) -> None:
        super().__init__(backend, dtype)
        self.input_dim = _input_dim(input_dim)
        given = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5,
                 conv_param_6)
        self.conv_params = [
            _conv_param(p, default) for p, default in zip(given, DEEP_CONV_PARAMS, strict=True)
        ]
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.output_size = positive_int("output_size", output_size)
        self.dropout_ratio = dropout_fraction(dropout_ratio, dropout_ration)

        self.check_param_memory()
        shapes, _ = self.param_shapes(self.config)

        be, rng = self.backend, self.backend.rng(seed)
        slots: dict[str, tuple[Any, str]] = {}
        for i, p in enumerate(self.conv_params, 1):
            W = shapes[f"W{i}"]
            conv = Convolution(
                self.draw_weights(rng, W, init_std("he", W[1] * W[2] * W[3])),
                be.zeros(shapes[f"b{i}"]), p["stride"], p["pad"],
            )
            self.layers += [conv, Relu()]
            if i % 2 == 0:
                self.layers.append(Pooling(2, 2, stride=2))
            slots[f"W{i}"], slots[f"b{i}"] = (conv, "W"), (conv, "b")
        affine7 = Affine(
            self.draw_weights(rng, shapes["W7"], init_std("he", shapes["W7"][0])),
            be.zeros(shapes["b7"]),
        )
        affine8 = Affine(
            self.draw_weights(rng, shapes["W8"], init_std("he", self.hidden_size)),
            be.zeros(shapes["b8"]),
        )
        self.layers += [
            affine7, Relu(), Dropout(self.dropout_ratio, seed=None if seed is None else (seed, 7)),
            affine8, Dropout(self.dropout_ratio, seed=None if seed is None else (seed, 8)),
        ]
        slots.update({"W7": (affine7, "W"), "b7": (affine7, "b"),
                      "W8": (affine8, "W"), "b8": (affine8, "b")})
        self.params = ParamMap(slots)

    @classmethod
    def param_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        a = cls.arguments(config)
        output = size(a["output_size"], "output_size")
        channels, height, width = _config_input_dim(a["input_dim"])
        hidden = size(a["hidden_size"], "hidden_size")
        params: Shapes = {}
        for i, default in enumerate(DEEP_CONV_PARAMS, 1):
            num, side, height, width = _conv_shape(a[f"conv_param_{i}"], default,
                                                   f"conv_param_{i}", height, width)
            params[f"W{i}"], params[f"b{i}"] = (num, channels, side, side), (num,)
            if i % 2 == 0:
                height, width = conv_output_size(height, 2, 2), conv_output_size(width, 2, 2)
            channels = num
        params.update(W7=(channels * height * width, hidden), b7=(hidden,), W8=(hidden, output),
                      b8=(output,))
        return params, {}

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"model": self.model, "input_dim": list(self.input_dim)}
        for i, p in enumerate(self.conv_params, 1):
            config[f"conv_param_{i}"] = dict(p)
        config.update(hidden_size=self.hidden_size, output_size=self.output_size,
                      dropout_ratio=self.dropout_ratio)
        return config


def _input_dim(input_dim: Sequence[int]) -> tuple[int, int, int]:
    """input_dim as a (C, H, W) tuple of positive ints, or a one-line NnxpError."""
    if not isinstance(input_dim, list | tuple) or len(input_dim) != 3:
        raise NnxpError(f"input_dim must be (channels, height, width), got {input_dim!r:.60}")
    c, h, w = (positive_int("each of input_dim", d) for d in input_dim)
    return c, h, w


def _config_input_dim(input_dim: Any) -> tuple[int, int, int]:
    """input_dim read from a config, for the shapes it implies."""
    if not isinstance(input_dim, list | tuple) or len(input_dim) != 3:
        raise NnxpError(f"input_dim is {show(input_dim)}, not (channels, height, width)")
    c, h, w = (size(d, "input_dim") for d in input_dim)
    return c, h, w


def _conv_shape(given: Any, default: dict[str, int], name: str, height: int,
                width: int) -> tuple[int, int, int, int]:
    """(filter_num, filter_size, out_h, out_w) of one conv layer read from a config."""
    if given is not None and not isinstance(given, dict):
        raise NnxpError(f"{name} is {show(given)}, not a mapping")
    p = {**default, **(given or {})}
    num = size(p.get("filter_num"), f"{name}.filter_num")
    side = size(p.get("filter_size"), f"{name}.filter_size")
    stride = size(p.get("stride", 1), f"{name}.stride")
    pad = size(p.get("pad", 0), f"{name}.pad", 0)
    return (num, side, conv_output_size(height, side, stride, pad),
            conv_output_size(width, side, stride, pad))
