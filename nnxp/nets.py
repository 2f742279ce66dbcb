"""Moved to :mod:`nnxp.models`; these names stay importable from here until callers switch."""

from nnxp.models.base import ModalNetwork, Network, ParamMap
from nnxp.models.checks import (
    ACTIVATIONS,
    check_activation,
    check_init_std,
    check_param_memory,
    dropout_fraction,
    flag,
    init_std,
    non_negative_int,
    positive_int,
    positive_ints,
    real_number,
)
from nnxp.models.multi_layer import MultiLayerNet, MultiLayerNetExtend
from nnxp.models.registry import MODELS, build
from nnxp.models.three_layer import forward, init_network
from nnxp.models.two_layer import TwoLayerNet

__all__ = [
    "ACTIVATIONS", "MODELS", "ModalNetwork", "MultiLayerNet", "MultiLayerNetExtend", "Network",
    "ParamMap", "TwoLayerNet", "build", "check_activation", "check_init_std",
    "check_param_memory", "dropout_fraction", "flag", "forward", "init_network", "init_std",
    "non_negative_int", "positive_int", "positive_ints", "real_number",
]
