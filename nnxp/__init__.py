"""nnxp: the networks of *Deep Learning from Scratch* on any Array API backend."""

from nnxp.backend import Backend, available_backends, get_backend
from nnxp.errors import BackendUnavailable, DatasetError, ModelFileError, NnxpError
from nnxp.gradcheck import gradient_check
from nnxp.nets import MultiLayerNet, TwoLayerNet

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendUnavailable",
    "DatasetError",
    "ModelFileError",
    "MultiLayerNet",
    "NnxpError",
    "TwoLayerNet",
    "available_backends",
    "get_backend",
    "gradient_check",
    "__version__",
]
