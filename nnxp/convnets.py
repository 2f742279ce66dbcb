"""The book's convolutional nets: SimpleConvNet (chapter 7) and DeepConvNet (chapter 8).

Both take images (N, C, H, W), or the same images flattened to (N, C*H*W), name their
parameters as the book (W1, b1, ...), are built from a config dict like every nnxp net, and
score accuracy in mini-batches (an im2col of 10,000 images would not fit in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnxp.backend import Backend
from nnxp.conv import Convolution, Pooling, conv_output_size
from nnxp.errors import NnxpError
from nnxp.layers import Affine, Dropout, Relu
from nnxp.nets import (
    MODELS,
    ModalNetwork,
    ParamMap,
    check_init_std,
    check_param_memory,
    dropout_fraction,
    init_std,
    non_negative_int,
    positive_int,
)

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
        x = super().check_inputs(x)
        if x.ndim not in (2, 4) or (x.ndim == 4 and tuple(x.shape[1:]) != self.input_dim):
            raise NnxpError(f"inputs of shape {tuple(x.shape)} do not fit this net: pass images "
                            f"(N, {', '.join(map(str, self.input_dim))}) or rows "
                            f"(N, {self.input_features})")
        return x

    def predict(self, x: Any, train_flg: bool | None = None) -> Any:
        """Scores for images (N, C, H, W); flattened rows (N, C*H*W) are reshaped first."""
        x = self.backend.adopt(x, self.dtype)
        if x.ndim == 2:
            x = self.backend.xp.reshape(x, (x.shape[0], *self.input_dim))
        return super().predict(x, train_flg)

    def _weights(self, rng: Any, shape: tuple[int, ...], std: float) -> Any:
        """std times standard-normal draws from the host generator, in the net's dtype."""
        return self.backend.asarray((std * rng.standard_normal(shape)).astype(self.dtype))


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
        channels, height, width = self.input_dim
        num, size = self.conv_param["filter_num"], self.conv_param["filter_size"]
        pad, stride = self.conv_param["pad"], self.conv_param["stride"]
        conv_h = conv_output_size(height, size, stride, pad)
        conv_w = conv_output_size(width, size, stride, pad)
        pool_output_size = num * conv_output_size(conv_h, 2, 2) * conv_output_size(conv_w, 2, 2)
        check_param_memory([(num, channels, size, size), (num,),
                            (pool_output_size, self.hidden_size), (self.hidden_size,),
                            (self.hidden_size, self.output_size), (self.output_size,)],
                           self.dtype)
        be, rng = self.backend, self.backend.rng(seed)
        fan_in = channels * size * size
        conv = Convolution(
            self._weights(rng, (num, channels, size, size), init_std(weight_init_std, fan_in)),
            be.zeros((num,)), stride, pad,
        )
        affine1 = Affine(
            self._weights(rng, (pool_output_size, self.hidden_size),
                          init_std(weight_init_std, pool_output_size)),
            be.zeros((self.hidden_size,)),
        )
        affine2 = Affine(
            self._weights(rng, (self.hidden_size, self.output_size),
                          init_std(weight_init_std, self.hidden_size)),
            be.zeros((self.output_size,)),
        )
        self.layers = [conv, Relu(), Pooling(2, 2, stride=2), affine1, Relu(), affine2]
        self.params = ParamMap({
            "W1": (conv, "W"), "b1": (conv, "b"),
            "W2": (affine1, "W"), "b2": (affine1, "b"),
            "W3": (affine2, "W"), "b3": (affine2, "b"),
        })



class DeepConvNet(ConvNetwork):
    """The book's chapter-8 net, He-initialised, without batch normalisation::

        conv - relu - conv - relu - pool -
        conv - relu - conv - relu - pool -
        conv - relu - conv - relu - pool -
        affine - relu - dropout - affine - dropout - softmax

    Parameters W1..W6 are the filters, W7 and W8 the affine weights (b1..b8 their biases).
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
        self.dropout_ratio = dropout_fraction(dropout_ratio)

        channels, height, width = self.input_dim
        shapes: list[tuple[int, ...]] = []
        for i, p in enumerate(self.conv_params, 1):
            num, size = p["filter_num"], p["filter_size"]
            shapes += [(num, channels, size, size), (num,)]
            height = conv_output_size(height, size, p["stride"], p["pad"])
            width = conv_output_size(width, size, p["stride"], p["pad"])
            if i % 2 == 0:
                height, width = conv_output_size(height, 2, 2), conv_output_size(width, 2, 2)
            channels = num
        flat = channels * height * width
        check_param_memory([*shapes, (flat, self.hidden_size), (self.hidden_size,),
                            (self.hidden_size, self.output_size), (self.output_size,)],
                           self.dtype)

        be, rng = self.backend, self.backend.rng(seed)
        channels = self.input_dim[0]
        slots: dict[str, tuple[Any, str]] = {}
        for i, p in enumerate(self.conv_params, 1):
            num, size = p["filter_num"], p["filter_size"]
            std = init_std("he", channels * size * size)
            conv = Convolution(
                self._weights(rng, (num, channels, size, size), std),
                be.zeros((num,)), p["stride"], p["pad"],
            )
            self.layers += [conv, Relu()]
            if i % 2 == 0:
                self.layers.append(Pooling(2, 2, stride=2))
            slots[f"W{i}"], slots[f"b{i}"] = (conv, "W"), (conv, "b")
            channels = num
        affine7 = Affine(
            self._weights(rng, (flat, self.hidden_size), init_std("he", flat)),
            be.zeros((self.hidden_size,)),
        )
        affine8 = Affine(
            self._weights(rng, (self.hidden_size, self.output_size),
                          init_std("he", self.hidden_size)),
            be.zeros((self.output_size,)),
        )
        self.layers += [
            affine7, Relu(), Dropout(self.dropout_ratio, seed=None if seed is None else (seed, 7)),
            affine8, Dropout(self.dropout_ratio, seed=None if seed is None else (seed, 8)),
        ]
        slots.update({"W7": (affine7, "W"), "b7": (affine7, "b"),
                      "W8": (affine8, "W"), "b8": (affine8, "b")})
        self.params = ParamMap(slots)

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


MODELS.update({"simple-conv": SimpleConvNet, "deep-conv": DeepConvNet})
