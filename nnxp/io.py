"""Model files: a net's parameters and a JSON config in one ``.npz``, never pickle.

A model file holds one array per parameter under its book name (W1, b1, ...), one per
buffer (the running statistics of BatchNormalization, ``running_mean1``, ..., which inference
uses) and, under ``__nnxp__``, a JSON text with the architecture (``net.config``), the dtype,
the shapes of the parameters and buffers, the dataset and its normalisation, the training
settings and the nnxp version. Files of nets with buffers are format version 2; the others
stay version 1, which older nnxp reads. Files are written atomically
(a temporary file in the same directory, then ``os.replace``), so a crash or a full disk never
leaves a half-written model where a good one was.

Reading treats the file as hostile: a regular file under a size cap, a zip whose directory
is bounded, members named KEY.npy (no duplicates), stored or deflated, within a ratio and a
total size; of each member only the npy header is read at first (float arrays, a bounded
config string, sizes that add up exactly), then the config is parsed and checked against the
headers and against the architecture it describes (nnxp.model_config), and only then is
data read. Every refusal is a :class:`~nnxp.errors.ModelFileError` of one line.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tokenize
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy

from nnxp.backends import Backend, get_backend, to_numpy
from nnxp.errors import ModelFileError, NnxpError
from nnxp.files import atomic_write, open_input, output_path
from nnxp.limits import check_memory, human
from nnxp.model_config import (
    FORMAT,
    FORMAT_VERSION,  # noqa: F401 (re-exported)
    KEY,
    MAX_ARRAYS,
    MAX_CONFIG_CHARS,
    MAX_NDIM,
    check_architecture,
    check_schema,
    parse,
    show,
)

CONFIG_KEY = "__nnxp__"
MAX_FILE_BYTES = 2 << 30
"""A model file larger than this (2 GiB) is refused before it is opened."""
MAX_TOTAL_BYTES = 1 << 30
"""Most bytes all arrays of a model file may hold once decompressed (1 GiB)."""
MAX_RATIO = 200
"""Most a member over RATIO_FLOOR may expand when decompressed (nnxp writes stored members)."""
RATIO_FLOOR = 1 << 20
MAX_HEADER_BYTES = 4096
"""Longest npy header read (nnxp's are 128 bytes)."""
MAX_DIRECTORY_BYTES = 4 << 20
"""Largest zip central directory read: every entry becomes a Python object."""
FLOAT_SIZES = (2, 4, 8)

_DAMAGED = "the file is damaged, retrain it"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError,
               ValueError, NotImplementedError, RuntimeError, struct.error, KeyError,
               IndexError, OverflowError, UnicodeError)


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
    import json

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


def _what_it_is(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "is empty"
    if head.startswith(b"\x93NUMPY"):
        return "is a single NumPy array (.npy), not a model file (.npz with an nnxp config)"
    if head.startswith(b"\x89PNG"):
        return "is a PNG image, not a model file"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return ("is a Python pickle, not a model file (the book's weights? import them with "
                "`nnxp convert`)")
    if head.lstrip()[:1] in (b"{", b"["):
        return "is JSON text (a metrics file?), not a model file"
    return "is corrupt or not an .npz (it is no zip archive)"


def _check_directory(f: IO[bytes], where: str) -> None:
    """Refuse a zip whose central directory is too large to parse (or absent)."""
    head = f.read(8)
    f.seek(0)
    try:
        end = zipfile._EndRecData(f)  # the record ZipFile itself reads first
    except _ZIP_ERRORS:
        end = None
    if not end:
        raise ModelFileError(f"model file {where} {_what_it_is(head)}; name a file written "
                             "by `nnxp train --save`")
    if end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES or \
            end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ARRAYS + 1:
        raise ModelFileError(
            f"{where} lists {end[zipfile._ECD_ENTRIES_TOTAL]:,} members in a directory of "
            f"{human(end[zipfile._ECD_SIZE])}, more than a model has; {_DAMAGED}")


def _header(stream: IO[bytes], where: str, key: str) -> tuple[tuple[int, ...], bool, np.dtype,
                                                               int]:
    """(shape, fortran_order, dtype, header bytes) of a member's npy header, read bounded."""
    bad = f"{where}: member {key}.npy"
    try:
        major, minor = npy.read_magic(stream)
    except ValueError:
        raise ModelFileError(f"{bad} is not a NumPy array (no npy magic); {_DAMAGED}") from None
    if (major, minor) not in ((1, 0), (2, 0)):
        raise ModelFileError(f"{bad} has npy version {major}.{minor}; nnxp reads 1.0 and 2.0 "
                             f"(what np.savez writes for float arrays); {_DAMAGED}")
    size = 2 if major == 1 else 4
    raw = stream.read(size)
    if len(raw) != size:
        raise ModelFileError(f"{bad} ends inside its header; {_DAMAGED}")
    length = int.from_bytes(raw, "little")
    if length > MAX_HEADER_BYTES:
        raise ModelFileError(f"{bad} claims a header of {length:,} bytes (nnxp reads at most "
                             f"{MAX_HEADER_BYTES}); {_DAMAGED}")
    text = stream.read(length)
    if len(text) != length:
        raise ModelFileError(f"{bad} ends inside its header; {_DAMAGED}")
    reader = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            shape, fortran, dtype = reader(io.BytesIO(raw + text),
                                           max_header_size=MAX_HEADER_BYTES)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError, Warning,
            UnicodeError, KeyError, AttributeError, OverflowError, tokenize.TokenError):
        raise ModelFileError(f"{bad} has an unreadable npy header; {_DAMAGED}") from None
    if len(shape) > MAX_NDIM or not all(type(n) is int and n >= 0 for n in shape):
        raise ModelFileError(f"{bad} has the shape {show(shape)}, not a list of at most "
                             f"{MAX_NDIM} sizes; {_DAMAGED}")
    return shape, fortran, dtype, 6 + 2 + size + length


def _check_dtype(key: str, dtype: np.dtype, shape: tuple[int, ...], bad: str) -> None:
    if key == CONFIG_KEY:
        if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_CONFIG_CHARS:
            raise ModelFileError(f"{bad} is {show(str(dtype), 40)}{list(shape)}, not a config "
                                 f"text of at most {MAX_CONFIG_CHARS:,} characters; {_DAMAGED}")
        return
    plain = dtype.kind == "f" and dtype.itemsize in FLOAT_SIZES and dtype.fields is None \
        and dtype.subdtype is None
    if not plain:
        raise ModelFileError(f"{bad} holds {show(str(dtype), 40)} values, not float16, float32 "
                             f"or float64 numbers; {_DAMAGED}")


def _members(z: zipfile.ZipFile, where: str) -> dict[str, tuple[zipfile.ZipInfo, tuple]]:
    """KEY -> (zip entry, (shape, fortran, dtype, header bytes)), every header checked."""
    members: dict[str, tuple[zipfile.ZipInfo, tuple]] = {}
    total = 0
    for info in z.infolist():
        name = info.filename
        key = name[:-4] if name.endswith(".npy") else None
        bad = f"{where}: member {show(name)}"
        if key is None or not (key == CONFIG_KEY or KEY.match(key)):
            raise ModelFileError(f"{bad} is not named PARAMETER.npy; {_DAMAGED}")
        if key in members:
            raise ModelFileError(f"{bad} appears twice in the archive; {_DAMAGED}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or \
                info.flag_bits & 0x1:
            raise ModelFileError(f"{bad} is encrypted or compressed with method "
                                 f"{info.compress_type} (nnxp reads stored or deflated "
                                 f"members); {_DAMAGED}")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise ModelFileError(f"{bad} is stored in {info.compress_size:,} bytes but claims "
                                 f"{info.file_size:,}; {_DAMAGED}")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1):
            raise ModelFileError(
                f"{bad} expands from {human(info.compress_size)} to {human(info.file_size)}, "
                f"more than {MAX_RATIO} times (a decompression bomb?); {_DAMAGED}")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ModelFileError(f"{where} holds more than {human(MAX_TOTAL_BYTES)} of arrays, "
                                 f"more than nnxp loads; {_DAMAGED}")
        with z.open(info) as stream:
            shape, fortran, dtype, skip = _header(stream, where, key)
        bad = f"{where}: member {key}.npy"
        _check_dtype(key, dtype, shape, bad)
        nbytes = math.prod(shape) * dtype.itemsize
        if skip + nbytes != info.file_size:
            raise ModelFileError(
                f"{bad} claims {dtype}{list(shape)} ({human(nbytes)}) but holds "
                f"{human(max(info.file_size - skip, 0))}; {_DAMAGED}")
        members[key] = (info, (shape, fortran, dtype, skip))
    check_memory(total, f"model file {where}", "name a smaller model")
    return members


def _data(z: zipfile.ZipFile, info: zipfile.ZipInfo, header: tuple, where: str) -> np.ndarray:
    """A member's array, once its header was checked: exactly the bytes the header claims,
    read in chunks straight into the array (native byte order, C order)."""
    shape, fortran, dtype, skip = header
    array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    raw = memoryview(array.reshape(-1, order="A").view(np.uint8))
    done = 0
    with z.open(info) as stream:
        stream.read(skip)
        while done < len(raw):
            got = stream.readinto(raw[done:done + (16 << 20)])
            if not got:
                raise ModelFileError(f"{where}: member {info.filename} is shorter than its "
                                     f"header says; {_DAMAGED}")
            done += got
        stream.read(1)
    if not dtype.isnative:
        array = array.byteswap().view(dtype.newbyteorder("="))
    return np.ascontiguousarray(array) if array.ndim else array


def read_model_file(
    path: str | os.PathLike[str], fits: Callable[[dict, dict], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays (host NumPy: parameters, then buffers) and the config of a model file,
    checked; ``config["params"]`` and ``config.get("buffers", {})`` say which is which.

    Headers, config and architecture are checked before any array is read (see the module
    docstring); any problem is a one-line ModelFileError. ``fits(params, buffers)`` (name ->
    shape), when given, replaces the check against the architecture the config describes:
    :func:`load_params` checks the file against the net it loads into.
    """
    path = Path(path)
    where = f"model file {path}"
    with open_input(path, "model file", MAX_FILE_BYTES,
                    f"; train one with `nnxp train --save {path}`", ModelFileError) as f:
        _check_directory(f, str(path))
        try:
            with zipfile.ZipFile(f) as z:
                return _read(z, where, fits)
        except ModelFileError:
            raise
        except MemoryError:
            raise ModelFileError(f"{where} does not fit in memory; {_DAMAGED}") from None
        except _ZIP_ERRORS as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelFileError(f"{where} is corrupt or not an .npz ({show(reason, 100)}); "
                                 "retrain or restore it") from None


def _read(z: zipfile.ZipFile, where: str, fits: Callable[[dict, dict], None] | None = None,
          ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The checks and reads of :func:`read_model_file`, on the open archive."""
    members = _members(z, where)
    if CONFIG_KEY not in members:
        raise ModelFileError(f"{where} has no nnxp config; it was not written by "
                             "`nnxp train --save`")
    config = _data(z, *members.pop(CONFIG_KEY), where)
    meta = parse(str(config[()]), where)
    params, buffers = check_schema(meta, where)
    headers = {key: header[0] for key, (_, header) in members.items()}
    listed = {**buffers, **params}
    if set(listed) != set(headers):
        raise ModelFileError(
            f"{where} holds parameters {show(sorted(headers), 200)} but its config lists "
            f"{show(sorted(listed), 200)}; {_DAMAGED}")
    for key, shape in listed.items():
        if headers[key] != shape:
            what = "parameter" if key in params else "buffer"
            raise ModelFileError(
                f"{where}: {what} {key} is {members[key][1][2]}{list(headers[key])}, expected "
                f"a float array of shape {list(shape)}; {_DAMAGED}")
    if fits is None:
        check_architecture(meta["model"], params, buffers, where)
    else:
        fits(params, buffers)
    arrays = {key: _data(z, *members[key], where) for key in [*params, *buffers]}
    return arrays, meta


def output_size(meta: dict[str, Any]) -> int:
    """The number of classes a checked model file's net scores (its last bias's length)."""
    params = meta["params"]
    last = max((key for key in params if key.startswith("b") and key[1:].isdigit()),
               key=lambda key: int(key[1:]), default=None)
    if last is None:
        return int(meta["model"]["output_size"])
    return int(params[last][0])


def load_model(
    path: str | os.PathLike[str],
    backend: str | Backend = "numpy",
    device: Any = None,
    dtype: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Rebuild the net saved at ``path`` on ``backend``/``device``; returns (net, config).

    ``dtype`` defaults to the dtype the net was saved in. Buffers (running statistics) are
    restored with the parameters; a file written before they were saved loads with a
    warning, its net's buffers left at their initial values. The net is built only after
    the file's arrays were checked against the architecture its config describes.
    """
    from nnxp.models.registry import build

    arrays, meta = read_model_file(path)
    dtype = dtype or meta["dtype"]
    be = backend if isinstance(backend, Backend) else get_backend(backend, device, dtype)
    count = sum(int(a.size) for a in arrays.values())
    check_memory(count * (8 + 2 * np.dtype(dtype).itemsize), f"the net of model file {path}",
                 "name a smaller model")
    try:
        net = build(meta["model"], backend=be, dtype=dtype, seed=0)
    except (NnxpError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ModelFileError(
            f"model file {path} has a config nnxp cannot build: {show(str(exc), 200)}"
        ) from None
    buffers = getattr(net, "buffers", {})
    saved_buffers = meta.get("buffers")
    for what, slots, names in (("parameters", net.params, meta["params"]),
                               ("buffers", buffers, saved_buffers)):
        if names is None:
            continue
        expected = {key: tuple(slots[key].shape) for key in slots}
        found = {key: tuple(arrays[key].shape) for key in names}
        if expected != found:
            key = sorted(set(expected) ^ set(found)) or [
                k for k in expected if expected[k] != found[k]]
            raise ModelFileError(
                f"model file {path}: its {what} do not fit the architecture it describes "
                f"({key[0]} {expected.get(key[0])} there, {found.get(key[0])} in the file); "
                f"{_DAMAGED}"
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


def _is_pickle(path: Path) -> bool:
    """Whether the regular file ``path`` starts as a pickle does (protocol 2 to 5)."""
    with open_input(path, "model file", MAX_FILE_BYTES, "", ModelFileError) as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def load_params(path: str | os.PathLike[str], network: Any) -> None:
    """Put the arrays of the file at ``path`` into ``network``'s parameters (and buffers),
    the book's ``network.load_params(file_name)``.

    The file is a model file (read as :func:`read_model_file` reads one, its names and
    shapes checked against the net's before any array is read) or one of the book's weight
    pickles (read by the restricted unpickler of :mod:`nnxp.book_weights`, which admits NumPy
    arrays only). Its names and shapes must be exactly the net's; any difference is one
    ModelFileError line, and nothing is changed. Arrays are cast to the net's dtype and
    moved to its backend. A file without running statistics leaves the net's own (warning).
    """
    path = Path(path)
    params, buffers = network.params, getattr(network, "buffers", {})

    def fits(saved: dict, saved_buffers: dict) -> None:
        ours = {key: tuple(params[key].shape) for key in params}
        if saved_buffers:
            ours.update({key: tuple(buffers[key].shape) for key in buffers})
        theirs = {**saved, **saved_buffers}
        if set(ours) != set(theirs):
            raise ModelFileError(
                f"{path} does not fit this net: it holds {show(sorted(theirs), 120)}, the net "
                f"has {show(sorted(ours), 120)}; build the net the file was saved from "
                "(nnxp.io.load_model builds it)")
        for key, shape in ours.items():
            if tuple(theirs[key]) != shape:
                raise ModelFileError(
                    f"{path} does not fit this net: {key} is {tuple(theirs[key])} there and "
                    f"{shape} here; build the net the file was saved from (nnxp.io.load_model "
                    "builds it)")

    if _is_pickle(path):
        from nnxp.book_weights import load_pickled_arrays

        arrays, saved_buffers = load_pickled_arrays(path), {}
        for key, value in arrays.items():
            if value.dtype.kind != "f":
                raise ModelFileError(f"{path}: {show(key)} has dtype {value.dtype}, not "
                                     "floating point")
        fits({key: value.shape for key, value in arrays.items()}, {})
    else:
        arrays, meta = read_model_file(path, fits)
        saved_buffers = meta.get("buffers", {})
    be, dtype = network.backend, network.dtype
    for key in [*params, *saved_buffers]:
        slots = params if key in params else buffers
        slots[key] = be.asarray(arrays[key].astype(dtype, copy=False), dtype=dtype)
    if not saved_buffers and len(buffers):
        warnings.warn(f"{path} holds no running statistics: this net's batch normalisation "
                      "keeps its own at inference", stacklevel=3)
