"""nnxp: the networks of *Deep Learning from Scratch* on any Array API backend."""

from nnxp.backend import Backend, available_backends, get_backend
from nnxp.errors import BackendUnavailable, DatasetError, ModelFileError, NnxpError
from nnxp.nets import MultiLayerNet, TwoLayerNet
from nnxp.train import Trainer, TrainingDiverged

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendUnavailable",
    "DatasetError",
    "ModelFileError",
    "MultiLayerNet",
    "NnxpError",
    "Trainer",
    "TrainingDiverged",
    "TwoLayerNet",
    "available_backends",
    "get_backend",
    "__version__",
]
