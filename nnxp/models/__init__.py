"""The book's nets and the registry that builds them from a config.

The registry (``build``, ``MODELS``, ``param_shapes``) is imported here;
each net's module is imported when its name is first used, so ``import nnxp.models`` stays
light and no model module is imported by the registry at import time.
"""

from __future__ import annotations

import importlib

from nnxp.models.registry import MODELS, build, param_shapes

_LAZY: dict[str, str] = {
    "TwoLayerNet": "nnxp.models.two_layer",
    "MultiLayerNet": "nnxp.models.multi_layer",
    "MultiLayerNetExtend": "nnxp.models.multi_layer",
    "SimpleConvNet": "nnxp.models.conv",
    "DeepConvNet": "nnxp.models.conv",
    "Network": "nnxp.models.base",
    "ModalNetwork": "nnxp.models.base",
    "ParamMap": "nnxp.models.params",
}


def __getattr__(name: str) -> object:
    """The nets and their base classes, imported on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nnxp.models' has no attribute {name!r}")


__all__ = ["MODELS", "build", "param_shapes", *_LAZY]
