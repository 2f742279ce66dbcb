"""nnxp: the networks of *Deep Learning from Scratch* on any Array API backend."""

from nnxp.backends import Backend, available_backends, get_backend
from nnxp.errors import BackendUnavailable, DatasetError, ModelFileError, NnxpError
from nnxp.gradcheck import gradient_check
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import Trainer, TrainingDiverged

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``nnxp.load_mnist``, imported on first use so ``import nnxp`` stays light."""
    if name == "load_mnist":
        from nnxp.datasets import load_mnist

        return load_mnist
    raise AttributeError(f"module 'nnxp' has no attribute {name!r}")


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
    "load_mnist",
    "gradient_check",
    "__version__",
]
