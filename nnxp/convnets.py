"""Moved to :mod:`nnxp.models.conv`; these names stay importable from here until callers
switch."""

from nnxp.models.conv import DEEP_CONV_PARAMS, SIMPLE_CONV_PARAM, ConvNetwork, DeepConvNet, SimpleConvNet

__all__ = ["DEEP_CONV_PARAMS", "SIMPLE_CONV_PARAM", "ConvNetwork", "DeepConvNet", "SimpleConvNet"]
