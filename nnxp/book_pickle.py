"""NumPy's pickles of arrays, read without ever handing NumPy an object the pickle built.

Unpickling runs the callables a file names and hands them objects the file built: with
NumPy's own ``dtype`` and ``ndarray.__setstate__``, a BUILD can give a dtype a field at any
offset and make NumPy write out of bounds, although only admitted names are used. So here
the few globals NumPy's pickles name (``numpy.dtype``, ``numpy.ndarray``, ``_reconstruct``,
``_frombuffer``, ``scalar``, ``OrderedDict``, ``_codecs.encode``, ``bytes``) resolve to inert
stand-ins that check the types of their arguments and only record what the pickle says: a
shape, a dtype code and byte order, a Fortran flag, raw bytes. Every other global is refused
before anything is called. After :func:`nnxp.pickle_scan.scan` has bounded the opcodes,
:func:`unpickle_arrays` unpickles, validates each record against an allow-list (plain
float16/32/64 and integer dtypes, exact byte counts, bounded sizes) and only then builds the
arrays with ``np.frombuffer(...).copy()``. Every refusal is one ModelFileError line.
"""

from __future__ import annotations

import io
import math
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from nnxp.errors import ModelFileError, NnxpError
from nnxp.limits import check_memory, human
from nnxp.pickle_scan import scan

MAX_ARRAY_BYTES = 2**30
"""The most bytes the arrays of one pickle may take together (one bytes object that the memo
repeats under many keys would otherwise multiply)."""

MAX_DIMS = 32
"""The most dimensions an array may claim (NumPy allows 64)."""

PLAIN_CODES = frozenset({"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"})
"""The dtype codes admitted: plain floats and integers, as NumPy's pickles spell them."""

_ORDERS = ("<", ">", "=", "|")


def _refuse(problem: str) -> ModelFileError:
    return ModelFileError(problem)


def label(text: str) -> str:
    """A str from a pickle as a message may show it: short and printable, else described."""
    if len(text) <= 80 and text.isprintable():
        return text
    return f"<a name of {len(text)} characters>"


def _show(text: str) -> str:
    """:func:`label`, quoted."""
    return f"'{label(text)}'"


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_flag(value: Any) -> bool:
    return type(value) in (bool, int) and value in (0, 1)


# What the admitted globals resolve to: inert stand-ins and the records they build.


class _DtypeRecord:
    """What ``numpy.dtype(code, align, copy)`` plus its BUILD state said: code, byte order."""

    __slots__ = ("code", "order", "built")

    def __init__(self, code: str) -> None:
        self.code, self.order, self.built = code, "=", False

    def __setstate__(self, state: Any) -> None:
        """Record the byte order; refuse what plain dtypes never carry (fields, sizes...)."""
        if self.built:
            raise _refuse("a dtype is given its state twice")
        if type(state) is not tuple or len(state) != 8 or not _is_int(state[0]) or state[0] != 3:
            raise _refuse("a dtype state other than NumPy's (version 3, 8 items)")
        _, order, subarray, names, fields, itemsize, alignment, flags = state
        if subarray is not None or names is not None or fields is not None:
            raise _refuse("a dtype with fields or a subarray; book weights are plain numbers")
        if not all(_is_int(v) for v in (itemsize, alignment, flags)) or (
                itemsize, alignment, flags) != (-1, -1, 0):
            raise _refuse("a dtype with its own size, alignment or flags")
        if type(order) is not str or order not in _ORDERS:
            raise _refuse("a dtype byte order other than <, >, = or |")
        if order == "|" and self.code[1:] != "1":
            raise _refuse("a multi-byte dtype without a byte order")
        self.order, self.built = order, True

    def dtype(self) -> np.dtype:
        """The NumPy dtype, built from the checked code and byte order only."""
        return np.dtype(("=" if self.order == "|" else self.order) + self.code)


class _ArrayRecord:
    """What an array's pickle said: shape, dtype record, Fortran flag, raw bytes, axis order.

    ``native``: NumPy's ``ndarray.__setstate__`` swaps data to native byte order, while
    ``_frombuffer`` (protocol 5) keeps the byte order; the record remembers which it mimics.
    """

    __slots__ = ("shape", "dtype", "fortran", "raw", "axes", "native")

    def __init__(self) -> None:
        self.shape: tuple[int, ...] = ()
        self.dtype: _DtypeRecord | None = None
        self.fortran = False
        self.raw: bytes | None = None
        self.axes: tuple[int, ...] | None = None
        self.native = False

    def __setstate__(self, state: Any) -> None:
        """Record (version, shape, dtype, is_fortran, rawdata) after checking each part."""
        if self.raw is not None:
            raise _refuse("an array is given its state twice")
        if type(state) is not tuple or len(state) not in (4, 5):
            raise _refuse("an array state other than NumPy's (version, shape, dtype, ...)")
        if len(state) == 5:
            if not _is_int(state[0]) or state[0] != 1:
                raise _refuse("an array state of a version other than 1")
            state = state[1:]
        shape, dtype, fortran, raw = state
        if not _is_flag(fortran):
            raise _refuse("an array whose Fortran flag is not a bool")
        self._fill(shape, dtype, raw)
        self.fortran, self.native = bool(fortran), True

    def _fill(self, shape: Any, dtype: Any, raw: Any) -> None:
        self.shape = _check_shape(shape)
        self.dtype = _check_dtype(dtype)
        self.raw = _check_bytes(raw, "array data")


def _check_shape(shape: Any) -> tuple[int, ...]:
    if type(shape) is not tuple or len(shape) > MAX_DIMS:
        raise _refuse(f"an array shape that is not a tuple of at most {MAX_DIMS} sizes")
    if not all(_is_int(n) and 0 <= n < 2**63 for n in shape):
        raise _refuse("an array shape with a size that is not a non-negative integer")
    return shape


def _check_dtype(dtype: Any) -> _DtypeRecord:
    if type(dtype) is not _DtypeRecord:
        raise _refuse("an array whose dtype is not a numpy.dtype")
    return dtype


def _check_bytes(raw: Any, what: str) -> bytes:
    """Bytes as NumPy's pickles carry them: bytes, or (Python 2 files) latin-1 text."""
    if type(raw) in (bytes, bytearray):
        return bytes(raw)
    if type(raw) is str:
        try:
            return raw.encode("latin1")
        except UnicodeEncodeError:
            raise _refuse(f"{what} as text that is not latin-1") from None
    if type(raw) is list:
        raise _refuse("arrays of Python objects are not weights")
    raise _refuse(f"{what} that is not bytes")


class _ScalarRecord:
    """A NumPy scalar the pickle built: recorded only to be refused by name."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise _refuse("BUILD on a NumPy scalar, which NumPy's pickles never do")


class _StandIn:
    """An admitted global: called as NumPy's pickles call it, it builds only a record."""

    __slots__ = ("name", "build")

    def __init__(self, name: str, build: Callable[..., Any]) -> None:
        self.name, self.build = name, build

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise _refuse(f"{self.name} called with keyword arguments")
        return self.build(*args)

    def __setstate__(self, state: Any) -> None:
        raise _refuse(f"BUILD on {self.name}, which NumPy's pickles never do")


def _arity(name: str, args: tuple[Any, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        raise _refuse(f"{name} called with {len(args)} arguments, as NumPy never does")


def _ndarray(*args: Any) -> Any:
    raise _refuse("refusing to call numpy.ndarray: it is not callable from a pickle, and "
                  "NumPy's pickles never call it")


def _dtype(*args: Any) -> _DtypeRecord:
    _arity("numpy.dtype", args, 1, 3)
    code = args[0]
    if type(code) is not str:
        raise _refuse("numpy.dtype called with a code that is not text")
    if not all(_is_flag(flag) for flag in args[1:]):
        raise _refuse("numpy.dtype called with flags that are not bools")
    if code.startswith("O"):
        raise _refuse("arrays of Python objects are not weights")
    if code not in PLAIN_CODES:
        raise _refuse(f"dtype {_show(code)} is not a plain float or integer type")
    return _DtypeRecord(code)


def _reconstruct(*args: Any) -> _ArrayRecord:
    _arity("_reconstruct", args, 3, 3)
    subtype, shape, typecode = args
    if subtype is not NDARRAY:
        raise _refuse("_reconstruct called for something other than numpy.ndarray")
    if math.prod(_check_shape(shape)) != 0 or type(typecode) not in (bytes, str):
        raise _refuse("_reconstruct called with other arguments than NumPy's (0,), b'b'")
    return _ArrayRecord()


def _frombuffer(*args: Any) -> _ArrayRecord:
    _arity("_frombuffer", args, 4, 5)
    buf, dtype, shape, order = args[:4]
    axes = args[4] if len(args) == 5 else None
    if type(order) is not str or order not in ("C", "F", "K"):
        raise _refuse("_frombuffer called with an order other than C, F or K")
    record = _ArrayRecord()
    record._fill(shape, dtype, buf)
    if axes is not None:
        if order != "K" or type(axes) is not tuple or sorted(axes) != list(range(len(shape))) \
                or not all(_is_int(a) for a in axes):
            raise _refuse("_frombuffer called with an axis order that is not a permutation")
        record.axes = axes
    record.fortran = order == "F"
    return record


def _scalar(*args: Any) -> _ScalarRecord:
    _arity("scalar", args, 2, 2)
    _check_dtype(args[0])
    _check_bytes(args[1], "scalar data")
    return _ScalarRecord()


def _ordered_dict(*args: Any) -> dict[str, Any]:
    _arity("OrderedDict", args, 0, 1)
    items = args[0] if args else []
    if type(items) is not list or not all(
            type(p) in (list, tuple) and len(p) == 2 and type(p[0]) is str for p in items):
        raise _refuse("OrderedDict called with other than a list of (name, value) pairs")
    return dict(items)


def _encode(*args: Any) -> bytes:
    _arity("_codecs.encode", args, 2, 2)
    text, encoding = args
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise _refuse("_codecs.encode is admitted for latin1 text only")
    return _check_bytes(text, "encoded text")


def _bytes(*args: Any) -> bytes:
    if args:
        raise _refuse("bytes is admitted without arguments only")
    return b""


NDARRAY = _StandIn("numpy.ndarray", _ndarray)
"""What the name numpy.ndarray resolves to: the token _reconstruct expects, never callable."""

_CORES = ("numpy.core", "numpy._core")

ALLOWED: dict[tuple[str, str], _StandIn] = {
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): _StandIn("numpy.dtype", _dtype),
    ("collections", "OrderedDict"): _StandIn("OrderedDict", _ordered_dict),
    ("_codecs", "encode"): _StandIn("_codecs.encode", _encode),
    ("builtins", "bytes"): _StandIn("bytes", _bytes),
    ("__builtin__", "bytes"): _StandIn("bytes", _bytes),
    **{(f"{c}.multiarray", "_reconstruct"): _StandIn("_reconstruct", _reconstruct)
       for c in _CORES},
    **{(f"{c}.multiarray", "scalar"): _StandIn("scalar", _scalar) for c in _CORES},
    **{(f"{c}.numeric", "_frombuffer"): _StandIn("_frombuffer", _frombuffer) for c in _CORES},
}
"""(module, name) a pickle may name -> its stand-in: the one gate to callables."""


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the globals in ALLOWED (to stand-ins), refusing others."""

    def find_class(self, module: str, name: str) -> Any:
        """The stand-in for an admitted global; ModelFileError naming any other."""
        try:
            return ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise _refuse(
                f"refusing to load {label(f'{module}.{name}')} from a pickle: book weights "
                f"hold only NumPy arrays, and this file would call other code"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        """Refused: NumPy's pickles carry no persistent ids."""
        raise _refuse("refusing a pickle with persistent ids: book weights have none")


def _kind(obj: Any) -> str:
    """What a pickle-built object is, by its type only (never its repr)."""
    names = {_DtypeRecord: "a NumPy dtype", _ArrayRecord: "an array",
             _ScalarRecord: "a NumPy scalar", _StandIn: "a function"}
    name = type(obj).__name__
    return names.get(type(obj), f"{'an' if name[:1] in 'aeiou' else 'a'} {name}")


def _build(records: dict[str, _ArrayRecord]) -> dict[str, np.ndarray]:
    """Arrays from validated records: sizes checked first, then one copy of each buffer."""
    sizes = {}
    for key, record in records.items():
        assert record.dtype is not None and record.raw is not None
        dtype = record.dtype.dtype()
        nbytes = math.prod(record.shape) * dtype.itemsize
        if nbytes != len(record.raw):
            raise _refuse(f"entry {_show(key)} claims shape {record.shape} of {dtype.name} "
                          f"({human(nbytes)}) but carries {human(len(record.raw))}")
        sizes[key] = (dtype, nbytes)
    total = sum(n for _, n in sizes.values())
    if total > MAX_ARRAY_BYTES:
        raise _refuse(f"the arrays take {human(total)}, more than the {human(MAX_ARRAY_BYTES)} "
                      "book weights can")
    try:
        check_memory(total, "the pickle's arrays", "check that it is the right file")
    except NnxpError as exc:
        raise _refuse(str(exc)) from None
    arrays = {}
    for key, record in records.items():
        flat = np.frombuffer(record.raw, dtype=sizes[key][0])  # type: ignore[arg-type]
        if record.axes is not None:
            array = flat.reshape(record.shape).transpose(record.axes)
        else:
            array = flat.reshape(record.shape, order="F" if record.fortran else "C")
        if record.native and not array.dtype.isnative:
            arrays[key] = array.astype(array.dtype.newbyteorder("="), order="K")
        else:
            arrays[key] = array.copy(order="K")
    return arrays


def _records(obj: Any) -> dict[str, _ArrayRecord]:
    """The top-level dict's entries, each checked to be a str naming a complete array."""
    if type(obj) is not dict:
        raise _refuse(f"holds {_kind(obj)}, not the dict of arrays the book saves")
    for key, value in obj.items():
        if type(key) is not str:
            raise _refuse(f"has a key that is {_kind(key)}, not a name")
        if type(value) is not _ArrayRecord:
            raise _refuse(f"entry {_show(key)} is {_kind(value)}, not a NumPy array")
        if value.raw is None:
            raise _refuse(f"entry {_show(key)} is an array never given its data")
    return obj


def unpickle_arrays(data: bytes, name: str = "<bytes>") -> dict[str, np.ndarray]:
    """The dict of NumPy arrays the pickle ``data`` holds, or one ModelFileError line saying
    why not; ``name`` (the file) starts every message."""
    try:
        with warnings.catch_warnings():  # a bad escape in protocol-0 text warns, then errs
            warnings.simplefilter("ignore")
            scan(data)
            obj = SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
        return _build(_records(obj))
    except ModelFileError as exc:
        raise ModelFileError(f"{name}: {exc}") from None
    except Exception as exc:  # malformed: EOFError, UnpicklingError, ValueError, MemoryError...
        text = exc.args[0] if exc.args and type(exc.args[0]) is str else ""
        text = text.splitlines()[0][:200] if text.strip() else type(exc).__name__
        raise ModelFileError(
            f"{name} is not a pickle of NumPy arrays ({type(exc).__name__}: {text})"
        ) from None
