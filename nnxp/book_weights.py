"""The book's published weights, imported without trusting pickle.

The book's repository ships trained parameters as pickles of a dict of NumPy arrays (W1,
b1, ...): ``ch03/sample_weight.pkl`` (784-50-100-10 sigmoid network), ``ch07/params.pkl``
(SimpleConvNet) and ``ch08/deep_convnet_params.pkl`` (DeepConvNet). Unpickling runs whatever
callables a file names, so :class:`SafeUnpickler` admits only the few NumPy functions that
rebuild arrays, dtypes and scalars, each wrapped to accept nothing but the arguments NumPy's
own pickles pass, and refuses every other global with a ModelFileError naming it, before
anything is called. :func:`load_book_weights` then checks the keys and shapes against the
architecture and returns an nnxp net holding the weights.
"""

from __future__ import annotations

import io
import math
import os
import pickle
from collections import OrderedDict
from typing import Any

import numpy as np

from nnxp.backend import Backend
from nnxp.convnets import DeepConvNet, SimpleConvNet
from nnxp.errors import ModelFileError, NnxpError
from nnxp.nets import MultiLayerNet, Network

try:
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct, scalar


def _refuse_objects(dtype: np.dtype) -> np.dtype:
    if dtype.hasobject:
        raise pickle.UnpicklingError("arrays of Python objects are not weights")
    return dtype


class _NdarrayToken:
    """What the name numpy.ndarray resolves to: an argument for _reconstruct, not callable."""


_NDARRAY = _NdarrayToken()


def _safe_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's _reconstruct for an empty ndarray, the only call NumPy's pickles make."""
    if subtype is not _NDARRAY or math.prod(tuple(shape)) != 0:
        raise pickle.UnpicklingError("_reconstruct called as NumPy never does")
    return _reconstruct(np.ndarray, shape, dtype)


def _safe_dtype(*args: Any) -> np.dtype:
    """np.dtype(...) for anything but object dtypes."""
    return _refuse_objects(np.dtype(*args))


def _safe_scalar(dtype: Any, *args: Any) -> Any:
    """A NumPy scalar from its dtype and bytes (not an arbitrary Python object)."""
    if not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("scalar needs a dtype")
    return scalar(_refuse_objects(dtype), *args)


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: str, axis_order: Any = None) -> Any:
    """The protocol-5 array rebuild: a copy of the in-band buffer, reshaped."""
    array = np.frombuffer(buf, dtype=_refuse_objects(np.dtype(dtype))).copy()
    if order == "K" and axis_order is not None:
        return array.reshape(shape, order="C").transpose(axis_order)
    return array.reshape(shape, order=order)


def _safe_encode(text: Any, encoding: Any) -> bytes:
    """How protocols 0-2 spell bytes: _codecs.encode(str, 'latin1')."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is admitted for latin1 text only")
    return text.encode("latin1")


def _safe_bytes(*args: Any) -> bytes:
    """How protocols 0-2 spell empty bytes: bytes()."""
    if args:
        raise pickle.UnpicklingError("bytes is admitted without arguments only")
    return b""


_CORE_NAMES = ("numpy.core", "numpy._core")

ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _safe_dtype,
    ("collections", "OrderedDict"): OrderedDict,
    ("_codecs", "encode"): _safe_encode,
    ("builtins", "bytes"): _safe_bytes,
    ("__builtin__", "bytes"): _safe_bytes,
    **{(f"{core}.multiarray", "_reconstruct"): _safe_reconstruct for core in _CORE_NAMES},
    **{(f"{core}.multiarray", "scalar"): _safe_scalar for core in _CORE_NAMES},
    **{(f"{core}.numeric", "_frombuffer"): _safe_frombuffer for core in _CORE_NAMES},
}
"""(module, name) a pickle may name -> what it gets instead: the one gate to callables."""


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the globals in ALLOWED and refuses all others."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise ModelFileError(
                f"refusing to load {module}.{name} from a pickle: book weights hold only "
                f"NumPy arrays, and this file would call other code"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise ModelFileError("refusing a pickle with persistent ids: book weights have none")


def load_pickled_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The dict of NumPy arrays in a pickle file, or a ModelFileError saying why not."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        obj = SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except Exception as exc:  # any malformed pickle: EOFError, UnpicklingError, ValueError...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"{path} is not a pickle of NumPy arrays ({type(exc).__name__}: {reason})"
        ) from None
    if not isinstance(obj, dict):
        raise ModelFileError(
            f"{path} holds a {type(obj).__name__}, not the dict of arrays the book saves"
        )
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise ModelFileError(
                f"{path}: entry {key!r} is a {type(value).__name__}, not a NumPy array"
            )
    return dict(obj)


BOOK_ARCHS: dict[str, str] = {
    "ch03": "the chapter-3 sample network 784-50-100-10, sigmoid (ch03/sample_weight.pkl)",
    "ch07": "SimpleConvNet with the book's shapes (ch07/params.pkl)",
    "ch08": "DeepConvNet with the book's shapes (ch08/deep_convnet_params.pkl)",
}


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
    net = book_network(arch, backend=backend, dtype=dtype)
    arrays = load_pickled_arrays(path)
    name = os.fspath(path)
    missing = [key for key in net.params if key not in arrays]
    extra = sorted(key for key in arrays if key not in net.params)
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else [])
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
        if not np.issubdtype(value.dtype, np.floating):
            raise ModelFileError(f"{name}: {key} has dtype {value.dtype}, not floating point")
        net.params[key] = net.backend.asarray(value.astype(dtype), dtype=dtype)
    return net
