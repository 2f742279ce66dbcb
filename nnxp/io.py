"""Model files: a net's parameters and a JSON config in one ``.npz``, never pickle.

A model file holds one array per parameter under its book name (W1, b1, ...), one per
buffer (the running statistics of BatchNormalization, ``running_mean1``, ..., which inference
uses) and, under ``__nnxp__``, a JSON text with the architecture (``net.config``), the dtype,
the shapes of the parameters and buffers, the dataset and its normalisation, the training
settings and the nnxp version. Files of nets with buffers are format version 2; the others
stay version 1, which older nnxp reads. Files are written atomically
(a temporary file in the same directory, then ``os.replace``), so a crash or a full disk never
leaves a half-written model where a good one was. Loading uses ``allow_pickle=False`` and
rebuilds the net on any backend; anything missing, corrupt or inconsistent raises
:class:`~nnxp.errors.ModelFileError` with a one-line message.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.backend import Backend, get_backend, to_numpy
from nnxp.errors import ModelFileError, NnxpError
from nnxp.files import atomic_write, atomic_write_text, output_path  # noqa: F401 (re-exported)

FORMAT = "nnxp-model"
FORMAT_VERSION = 2
"""The newest format read: 2 adds buffers (running statistics) beside the parameters."""
CONFIG_KEY = "__nnxp__"


def check_writable(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Raise NnxpError (one line, with the fix) unless a file can be written at ``path``.

    Called before long work starts, so a bad ``--save`` path fails in a second, not after
    an hour of training; see :func:`nnxp.files.output_path`. Returns ``path``.
    """
    output_path(path, what)
    return Path(path)


def save_model(
    path: str | os.PathLike[str], network: Any, info: dict[str, Any] | None = None
) -> Path:
    """Write ``network``'s parameters and config to ``path`` (an ``.npz``), atomically.

    ``info`` adds JSON-serialisable entries to the config, such as ``dataset`` (name and
    normalisation) and ``training`` (the settings and results of the run).
    """
    from nnxp import __version__

    arrays = {key: to_numpy(network.params[key]) for key in network.params}
    buffers = getattr(network, "buffers", {})
    buffer_arrays = {key: to_numpy(buffers[key]) for key in buffers}
    clash = set(arrays) & set(buffer_arrays)
    if clash:
        raise NnxpError(f"cannot save: {sorted(clash)} name both a parameter and a buffer")
    meta = {
        "format": FORMAT,
        "format_version": 2 if buffer_arrays else 1,
        "nnxp_version": __version__,
        "model": network.config,
        "dtype": network.dtype,
        "params": {key: list(a.shape) for key, a in arrays.items()},
        **({"buffers": {key: list(a.shape) for key, a in buffer_arrays.items()}}
           if buffer_arrays else {}),
        **(info or {}),
    }
    arrays.update(buffer_arrays)
    arrays[CONFIG_KEY] = np.asarray(json.dumps(meta, sort_keys=True))
    return atomic_write(path, lambda f: np.savez(f, **arrays), "model")


def read_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays (host NumPy: parameters, then buffers) and the config of a model file,
    checked; ``config["params"]`` and ``config.get("buffers", {})`` say which is which."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(
            f"model file {path} does not exist; train one with `nnxp train --save {path}`"
        )
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a directory; name an .npz file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"model file {path} is corrupt or not an .npz ({reason}); retrain or restore it"
        ) from None
    if CONFIG_KEY not in arrays:
        raise ModelFileError(
            f"model file {path} has no nnxp config; it was not written by `nnxp train --save`"
        )
    try:
        meta = json.loads(str(arrays.pop(CONFIG_KEY)[()]))
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"model file {path} has an unreadable config ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"model file {path} is not an nnxp model file (format is missing)")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"model file {path} has format version {version!r}, this nnxp reads up to "
            f"{FORMAT_VERSION}; upgrade nnxp"
        )
    params, buffers = meta.get("params"), meta.get("buffers", {})
    if not isinstance(params, dict) or not isinstance(buffers, dict):
        raise ModelFileError(
            f"model file {path} has no list of its parameters; the file is damaged, retrain it"
        )
    shapes = {**buffers, **params}
    if set(shapes) != set(arrays) or len(shapes) != len(params) + len(buffers):
        raise ModelFileError(
            f"model file {path} holds parameters {sorted(arrays)} but its config lists "
            f"{sorted(shapes)}; the file is damaged, retrain it"
        )
    for key, array in arrays.items():
        what = "parameter" if key in params else "buffer"
        if list(array.shape) != list(shapes[key]) or array.dtype.kind != "f":
            raise ModelFileError(
                f"model file {path}: {what} {key} is {array.dtype}{list(array.shape)}, "
                f"expected a float array of shape {shapes[key]}; the file is damaged, retrain it"
            )
    return arrays, meta


def load_model(
    path: str | os.PathLike[str],
    backend: str | Backend = "numpy",
    device: Any = None,
    dtype: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Rebuild the net saved at ``path`` on ``backend``/``device``; returns (net, config).

    ``dtype`` defaults to the dtype the net was saved in. Buffers (running statistics) are
    restored with the parameters; a file written before they were saved loads with a
    warning, its net's buffers left at their initial values.
    """
    from nnxp.nets import build

    arrays, meta = read_model_file(path)
    dtype = dtype or meta.get("dtype", "float32")
    be = backend if isinstance(backend, Backend) else get_backend(backend, device, dtype)
    try:
        net = build(meta["model"], backend=be, dtype=dtype, seed=0)
    except (NnxpError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path} has a config nnxp cannot build: {exc}") from None
    buffers = getattr(net, "buffers", {})
    saved_buffers = meta.get("buffers")
    for what, slots, names in (("parameters", net.params, meta["params"]),
                               ("buffers", buffers, saved_buffers)):
        if names is None:
            continue
        expected = {key: tuple(slots[key].shape) for key in slots}
        found = {key: tuple(arrays[key].shape) for key in names}
        if expected != found:
            raise ModelFileError(
                f"model file {path}: its {what} {found} do not fit the architecture it "
                f"describes {expected}; the file is damaged, retrain it"
            )
        for key in names:
            slots[key] = be.asarray(arrays[key], dtype=dtype)
    if saved_buffers is None and len(buffers):
        warnings.warn(
            f"model file {path} predates saved running statistics: its batch normalisation "
            "uses initial ones at inference; retrain it to save them",
            stacklevel=2,
        )
    return net, meta
