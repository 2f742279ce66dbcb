"""The book's published weights, imported without trusting pickle.

The book's repository ships trained parameters as pickles of a dict of NumPy arrays (W1,
b1, ...): ``ch03/sample_weight.pkl`` (784-50-100-10 sigmoid network), ``ch07/params.pkl``
(SimpleConvNet) and ``ch08/deep_convnet_params.pkl`` (DeepConvNet). The file is read once,
as a regular file under a size cap; :mod:`nnxp.book_pickle` turns its bytes into arrays
without handing NumPy anything the pickle built; :func:`import_book_weights` checks the keys
and shapes against the architecture and returns an nnxp net holding the weights, with the
sha256 of the bytes that were read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from nnxp.backends import Backend
from nnxp.book_pickle import ALLOWED, SafeUnpickler, label, unpickle_arrays
from nnxp.errors import ModelFileError, NnxpError
from nnxp.files import read_input
from nnxp.model_config import show
from nnxp.models.base import Network
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNet

__all__ = ["ALLOWED", "BOOK_ARCHS", "BOOK_FILES", "MAX_PICKLE_BYTES", "SafeUnpickler",
           "book_network", "book_pickle_path", "import_book_weights", "load_book_weights",
           "load_pickled_arrays", "read_pickle", "unpickle_arrays"]

MAX_PICKLE_BYTES = 512 * 2**20
"""The largest pickle file read (the book's largest is 3.4 MB)."""


def read_pickle(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the pickle file ``path``: a regular file of at most MAX_PICKLE_BYTES."""
    return read_input(path, "pickle", MAX_PICKLE_BYTES, error=ModelFileError)


def load_pickled_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The dict of NumPy arrays in a pickle file, or a ModelFileError saying why not."""
    return unpickle_arrays(read_pickle(path), os.fspath(path))


BOOK_FILES: dict[str, str] = {
    "ch03": "ch03/sample_weight.pkl",
    "ch07": "ch07/params.pkl",
    "ch08": "ch08/deep_convnet_params.pkl",
}
"""Where the book's repository keeps each architecture's pickle."""

BOOK_ARCHS: dict[str, str] = {
    "ch03": "the chapter-3 sample network 784-50-100-10, sigmoid (ch03/sample_weight.pkl)",
    "ch07": "SimpleConvNet with the book's shapes (ch07/params.pkl)",
    "ch08": "DeepConvNet with the book's shapes (ch08/deep_convnet_params.pkl)",
}


def book_pickle_path(arch: str) -> Path:
    """``$NNXP_BOOK_DIR/`` the book's pickle of ``arch`` (BOOK_FILES), or a one-line NnxpError
    saying how to get it when NNXP_BOOK_DIR is unset or lacks the file."""
    from nnxp.companion import BOOK_REPOSITORY

    if arch not in BOOK_FILES:
        raise NnxpError(f"unknown book architecture {arch!r}: use one of {', '.join(BOOK_FILES)}")
    relative = BOOK_FILES[arch]
    root = os.environ.get("NNXP_BOOK_DIR")
    try:
        if root and (Path(root) / relative).is_file():
            return Path(root) / relative
    except OSError:  # a name too long, a folder that cannot be read: no such file here
        pass
    where = f"$NNXP_BOOK_DIR ({show(root, 200)}) has no {relative}" if root else \
        "NNXP_BOOK_DIR is not set"
    raise NnxpError(f"no pickle named and {where}: git clone {BOOK_REPOSITORY} and set "
                    f"NNXP_BOOK_DIR to that folder, or name the pickle (nnxp convert PATH "
                    f"--arch {arch})")


def book_network(
    arch: str, *, backend: str | Backend = "numpy", dtype: str = "float32"
) -> Network:
    """A fresh nnxp net with the architecture whose weights the book ships as ``arch``."""
    if arch == "ch03":
        return MultiLayerNet(784, [50, 100], 10, activation="sigmoid", weight_init_std=0.01,
                             backend=backend, dtype=dtype, seed=0)
    if arch == "ch07":
        return SimpleConvNet(backend=backend, dtype=dtype, seed=0)
    if arch == "ch08":
        return DeepConvNet(backend=backend, dtype=dtype, seed=0)
    raise NnxpError(f"unknown book architecture {arch!r}: use one of {', '.join(BOOK_ARCHS)}")


def import_book_weights(
    path: str | os.PathLike[str],
    arch: str,
    *,
    backend: str | Backend = "numpy",
    dtype: str = "float32",
) -> tuple[Network, str]:
    """The net ``arch`` holding the weights of the pickle at ``path``, and the sha256 of the
    bytes that were unpickled (the file is read once, so the digest names what was loaded)."""
    net = book_network(arch, backend=backend, dtype=dtype)
    name = os.fspath(path)
    data = read_pickle(path)
    arrays = unpickle_arrays(data, name)
    missing = [key for key in net.params if key not in arrays]
    extra = sorted(key for key in arrays if key not in net.params)
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(label(key) for key in extra)}"] if extra else [])
        raise ModelFileError(
            f"{name} does not hold the {arch} weights ({'; '.join(parts)}): "
            f"check the file and --arch"
        )
    for key in net.params:
        value = arrays[key]
        want = tuple(net.params[key].shape)
        if tuple(value.shape) != want:
            raise ModelFileError(
                f"{name}: {key} has shape {tuple(value.shape)}, but {arch} needs {want}: "
                f"check the file and --arch"
            )
        if value.dtype.kind != "f":
            raise ModelFileError(f"{name}: {key} has dtype {value.dtype}, not floating point")
        net.params[key] = net.backend.asarray(value.astype(dtype), dtype=dtype)
    return net, hashlib.sha256(data).hexdigest()


def load_book_weights(
    path: str | os.PathLike[str],
    arch: str,
    *,
    backend: str | Backend = "numpy",
    dtype: str = "float32",
) -> Network:
    """The net ``arch`` (ch03, ch07 or ch08) holding the weights of the book's pickle at path.

    ch03 gives a MultiLayerNet(784, [50, 100], 10, sigmoid): its predict returns the scores
    whose softmax is the book's ``predict(network, x)``, so the argmax (and accuracy) agree.
    """
    return import_book_weights(path, arch, backend=backend, dtype=dtype)[0]
