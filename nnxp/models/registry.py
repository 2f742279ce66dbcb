"""The model registry: each model's name, the class it builds (imported on first use, so
the registry imports no model and no model imports the registry); ``build(config)`` makes
a net from a plain config such as ``net.config``, ``param_shapes(config)`` says the shapes it
would have without building it. What the command line may ask of each model is data in
:mod:`nnxp.models.options`.
"""

from __future__ import annotations

import importlib
import sys
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


def defined_class(name: str) -> type | None:
    """The Network subclass defined in this process whose ``model`` is ``name`` (the last
    defined, if several), or None. A user's net is found this way once its module has run,
    without a call to :func:`register`; nothing is imported (a model file may be hostile,
    and importing a module it names could run anything)."""
    base = sys.modules.get("nnxp.models.base")
    if base is None:
        return None
    found = None
    todo = list(base.Network.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if cls.__dict__.get("model") == name:
            found = cls
        todo += cls.__subclasses__()
    return found


def model_class(name: Any) -> type:
    """The class of model ``name`` (a registered model, or a Network subclass defined in
    this process), or a one-line NnxpError listing the models."""
    if isinstance(name, str) and name in _CLASSES:
        return MODELS[name]
    cls = defined_class(name) if isinstance(name, str) else None
    if cls is not None:
        return cls
    if isinstance(name, str) and ":" in name:
        module, _, qualname = name.partition(":")
        where = ("define it in the script that loads the file" if module == "__main__" else
                 f"import {module:.60} first")
        raise NnxpError(f"unknown model {name!r:.120}: a net of your own class {qualname:.60}, "
                        f"which is not defined here; {where} (nnxp imports no module a file "
                        "names)")
    raise NnxpError(f"unknown model {name!r:.80}: use one of {', '.join(_CLASSES)}, or define "
                    f"your own Network subclass with model = {name!r:.80} before loading")


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
