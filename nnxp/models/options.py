"""Each model's command-line options as data: what the options of ``nnxp train`` and
``nnxp gradcheck`` can set on it, its default sizes per command, whether it takes images, and
how the values resolved from the options become its config. The registry lists the models;
this table says what the command line may ask of each (nnxp.cli.model_options reads it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Values:
    """An architecture as one command's options and defaults resolve it, for any model."""

    input_shape: tuple[int, ...]
    output_size: int
    hidden: list[int]
    activation: str
    init: float | str
    weight_decay: float
    use_dropout: bool
    dropout_ratio: float
    batchnorm: bool
    filters: int | None


def _dense(v: Values) -> dict[str, Any]:
    return {"input_size": math.prod(v.input_shape), "activation": v.activation,
            "weight_init_std": v.init}


def _two_layer(v: Values) -> dict[str, Any]:
    return {**_dense(v), "hidden_size": v.hidden[0]}


def _multi_layer(v: Values) -> dict[str, Any]:
    return {**_dense(v), "hidden_size_list": v.hidden, "weight_decay_lambda": v.weight_decay}


def _multi_layer_extend(v: Values) -> dict[str, Any]:
    return {**_multi_layer(v), "use_dropout": v.use_dropout, "dropout_ratio": v.dropout_ratio,
            "use_batchnorm": v.batchnorm}


def _simple_conv(v: Values) -> dict[str, Any]:
    config = {"input_dim": list(v.input_shape), "hidden_size": v.hidden[0],
              "weight_init_std": v.init}
    if v.filters is not None:
        config["conv_param"] = {"filter_num": v.filters}
    return config


def _deep_conv(v: Values) -> dict[str, Any]:
    config: dict[str, Any] = {"input_dim": list(v.input_shape), "hidden_size": v.hidden[0],
                              "dropout_ratio": v.dropout_ratio}
    if v.filters is not None:
        config.update({f"conv_param_{i}": {"filter_num": v.filters} for i in range(1, 7)})
    return config


@dataclass(frozen=True)
class Defaults:
    """One model's defaults in one command."""

    hidden: tuple[int, ...]
    init: float | str | None = None
    """Initial weight std; None: "he" for relu, else "xavier" (the book's MultiLayerNet)."""
    filters: int | None = None
    """Filters of each conv layer; None: the net's own."""


@dataclass(frozen=True)
class ModelOptions:
    """What the command line knows of one model."""

    takes: frozenset[str]
    """What of the net options can set: activation, init, weight_decay, dropout (switched
    on or off), dropout_ratio, batchnorm, filters, input_size."""
    defaults: dict[str, Defaults]
    """By command."""
    config: Callable[[Values], dict[str, Any]]
    """The config keys beyond model and output_size."""
    images: bool = False
    """Takes (C, H, W) images; else flattened rows."""
    many_hidden: bool = False
    """Takes several hidden sizes; else one."""


_MULTI = frozenset({"activation", "init", "weight_decay", "input_size"})

MODEL_OPTIONS: dict[str, ModelOptions] = {
    "two-layer": ModelOptions(
        frozenset({"activation", "init", "input_size"}),
        {"train": Defaults((50,), 0.01), "gradcheck": Defaults((50,), 0.01)}, _two_layer),
    "multi-layer": ModelOptions(
        _MULTI, {"train": Defaults((50,)), "gradcheck": Defaults((100, 100), "he")},
        _multi_layer, many_hidden=True),
    "multi-layer-extend": ModelOptions(
        _MULTI | {"dropout", "dropout_ratio", "batchnorm"},
        {"train": Defaults((50,)), "gradcheck": Defaults((100, 100), "he")},
        _multi_layer_extend, many_hidden=True),
    "simple-conv": ModelOptions(
        frozenset({"init", "filters"}),
        {"train": Defaults((100,), 0.01), "gradcheck": Defaults((10,), "he", filters=4)},
        _simple_conv, images=True),
    "deep-conv": ModelOptions(
        frozenset({"dropout_ratio", "filters"}),
        {"train": Defaults((50,)), "gradcheck": Defaults((10,), filters=2)},
        _deep_conv, images=True),
}
"""Each model's command-line knowledge (train's defaults are the book's sizes; gradcheck's
are small, as the numerical gradient costs two forward passes a parameter)."""


def takes_images(model: str) -> bool:
    """Whether ``model`` takes (N, C, H, W) images rather than flat rows."""
    return MODEL_OPTIONS[model].images
