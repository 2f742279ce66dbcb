"""The model registry: each model's name, the class it builds (imported on first use, so
the registry imports no model and no model imports the registry), and what the command line
needs to know of it as data: the options it takes and how they become its config.

``build(config)`` makes a net from a plain config such as ``net.config``;
``config_from_options`` turns ``nnxp train``'s options into one; ``describe`` says a config
in a few words.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

from nnxp.errors import NnxpError

_CLASSES: dict[str, str | type] = {
    "two-layer": "nnxp.models.two_layer:TwoLayerNet",
    "multi-layer": "nnxp.models.multi_layer:MultiLayerNet",
    "multi-layer-extend": "nnxp.models.multi_layer:MultiLayerNetExtend",
    "simple-conv": "nnxp.models.conv:SimpleConvNet",
    "deep-conv": "nnxp.models.conv:DeepConvNet",
}
"""Model name -> its class, or "module:Class" until first asked for."""


class _Models(Mapping[str, type]):
    """The model table, name -> class, importing each model's module on first lookup."""

    def __getitem__(self, name: str) -> type:
        where = _CLASSES[name]
        if isinstance(where, str):
            module, _, cls = where.partition(":")
            where = _CLASSES[name] = getattr(importlib.import_module(module), cls)
        return where

    def __iter__(self) -> Iterator[str]:
        return iter(_CLASSES)

    def __len__(self) -> int:
        return len(_CLASSES)


MODELS: Mapping[str, type] = _Models()
"""Every model nnxp builds, by the name configs and ``--model`` use."""


def register(name: str, cls: type | str) -> None:
    """Add a model (a Network subclass, or "module:Class" to import on first use)."""
    _CLASSES[name] = cls


def model_class(name: Any) -> type:
    """The class of model ``name``, or a one-line NnxpError listing the models."""
    if not isinstance(name, str) or name not in _CLASSES:
        raise NnxpError(f"unknown model {name!r}: use one of {', '.join(_CLASSES)}")
    return MODELS[name]


def build(config: Mapping[str, Any], *, backend: Any = "numpy", dtype: str = "float32",
          seed: int | None = None) -> Any:
    """A new net from a config dict such as ``net.config`` (weights freshly initialised)."""
    config = dict(config)
    model = config.pop("model", None)
    cls = model_class(model)
    try:
        return cls(**config, backend=backend, dtype=dtype, seed=seed)
    except TypeError as exc:
        raise NnxpError(f"bad config for model {model!r}: {exc}") from None


def param_shapes(config: Mapping[str, Any]) -> tuple[dict[str, tuple[int, ...]],
                                                      dict[str, tuple[int, ...]]]:
    """The (parameter, buffer) shapes the net ``config`` describes, without building it."""
    return model_class(config.get("model")).param_shapes(config)


DENSE_MODELS: tuple[str, ...] = ("two-layer", "multi-layer", "multi-layer-extend")
"""Models of Affine layers on flattened images; the others take (N, C, H, W) images."""

MODEL_OPTIONS: dict[str, tuple[str, ...]] = {
    "activation": DENSE_MODELS,
    "init": (*DENSE_MODELS, "simple-conv"),
    "weight_decay": ("multi-layer", "multi-layer-extend"),
    "dropout": ("multi-layer-extend", "deep-conv"),
    "batchnorm": ("multi-layer-extend",),
}
"""Each architecture option of ``nnxp train`` -> the models that take it."""

DEFAULT_HIDDEN: dict[str, list[int]] = {"simple-conv": [100], "deep-conv": [50]}
"""--hidden by model where it is not [50]: the book's SimpleConvNet and DeepConvNet sizes."""

MULTI_HIDDEN: tuple[str, ...] = ("multi-layer", "multi-layer-extend")
"""Models that take several hidden sizes; the others take one."""


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def check_model_options(model: str, options: Mapping[str, Any]) -> None:
    """Refuse architecture options (MODEL_OPTIONS' keys, None or False when not given) that
    ``model`` does not take, in one line."""
    for key, models in MODEL_OPTIONS.items():
        value = options.get(key)
        if value is not None and value is not False and model not in models:
            raise NnxpError(f"{_flag(key)} applies to --model {' or '.join(models)}, not {model}")


def weight_init(text: str | None, model: str, activation: str) -> float | str:
    """--init as the nets take it: a number, or he/xavier; by default the book's choice."""
    if text is None:
        if model in ("two-layer", "simple-conv"):
            return 0.01
        return "he" if activation == "relu" else "xavier"
    try:
        return float(text)
    except ValueError:
        return text


def config_from_options(model: str, options: Mapping[str, Any], input_shape: tuple[int, ...],
                        output_size: int) -> dict[str, Any]:
    """The config ``nnxp train``'s options describe for samples of ``input_shape``.

    ``options`` maps hidden (a list of sizes), activation, init (the text given), weight_decay,
    dropout and batchnorm to their values, None (or absent) where not given.
    """
    model_class(model)
    check_model_options(model, options)
    hidden = list(options.get("hidden") or DEFAULT_HIDDEN.get(model, [50]))
    if model not in MULTI_HIDDEN and len(hidden) != 1:
        raise NnxpError(
            f"--model {model} takes one hidden size, got {len(hidden)} ({hidden}); "
            "pass one --hidden size or use --model multi-layer"
        )
    activation = options.get("activation") or "relu"
    dropout = options.get("dropout")
    config: dict[str, Any] = {"model": model, "output_size": output_size}
    if model in DENSE_MODELS:
        config.update(input_size=math.prod(input_shape), activation=activation,
                      weight_init_std=weight_init(options.get("init"), model, activation))
        if model == "two-layer":
            config["hidden_size"] = hidden[0]
        else:
            config.update(hidden_size_list=hidden,
                          weight_decay_lambda=options.get("weight_decay") or 0.0)
        if model == "multi-layer-extend":
            config.update(use_dropout=dropout is not None,
                          dropout_ratio=0.5 if dropout is None else dropout,
                          use_batchnorm=bool(options.get("batchnorm")))
        return config
    if len(input_shape) != 3:
        raise NnxpError(f"--model {model} takes images (channels, height, width), got samples "
                        f"of shape {input_shape}")
    config.update(input_dim=list(input_shape), hidden_size=hidden[0])
    if model == "simple-conv":
        config["weight_init_std"] = weight_init(options.get("init"), model, activation)
    elif dropout is not None:
        config["dropout_ratio"] = dropout
    return config


def takes_images(config: Mapping[str, Any]) -> bool:
    """Whether a net of this config takes (N, C, H, W) images rather than flat rows."""
    return "input_dim" in config


def describe(config: Mapping[str, Any]) -> str:
    """The architecture in a few words: "784-50-10 relu", "1x28x28 images, hidden 100"."""
    if takes_images(config):
        text = f"{'x'.join(map(str, config['input_dim']))} images, hidden {config['hidden_size']}"
        if "dropout_ratio" in config:
            text += f", dropout {config['dropout_ratio']:g}"
        return text
    hidden = config.get("hidden_size_list", [config.get("hidden_size")])
    sizes = "-".join(str(n) for n in [config["input_size"], *hidden, config["output_size"]])
    text = f"{sizes} {config['activation']}"
    if config.get("use_batchnorm"):
        text += ", batchnorm"
    if config.get("use_dropout"):
        text += f", dropout {config['dropout_ratio']:g}"
    if config.get("weight_decay_lambda"):
        text += f", weight decay {config['weight_decay_lambda']:g}"
    return text
