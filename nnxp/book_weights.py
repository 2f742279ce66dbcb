"""The book's published weights, imported without trusting pickle.

The book's repository ships trained parameters as pickles of a dict of NumPy arrays (W1,
b1, ...): ``ch03/sample_weight.pkl`` (784-50-100-10 sigmoid network), ``ch07/params.pkl``
(SimpleConvNet) and ``ch08/deep_convnet_params.pkl`` (DeepConvNet).

Unpickling runs the callables a file names and hands them objects the file built, so NumPy
never sees anything here that came out of the pickle machine. First the opcode stream is
scanned (:func:`_scan`): its length, nesting depth and memo indices are bounded before any
object exists, so nothing deep is ever hashed. Then the few globals NumPy's own pickles name
(``numpy.dtype``, ``numpy.ndarray``, ``_reconstruct``, ``_frombuffer``, ``scalar``,
``OrderedDict``, ``_codecs.encode``, ``bytes``) resolve to inert stand-ins that check the
types of their arguments and only record what the pickle says: a shape, a dtype code and
byte order, a Fortran flag, raw bytes. Every other global is refused before anything is
called. Last, :func:`unpickle_arrays` validates each record against an allow-list (plain
float16/32/64 and integer dtypes, exact byte counts, bounded sizes) and only then builds the
arrays with ``np.frombuffer(...).copy()``. Every refusal is one ModelFileError line.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import pickletools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from nnxp.backend import Backend
from nnxp.convnets import DeepConvNet, SimpleConvNet
from nnxp.errors import ModelFileError, NnxpError
from nnxp.files import input_file, read_input
from nnxp.limits import check_memory, human
from nnxp.nets import MultiLayerNet, Network

MAX_PICKLE_BYTES = 512 * 2**20
"""The largest pickle file read (the book's largest is 3.4 MB)."""

MAX_ARRAY_BYTES = 2**30
"""The most bytes the arrays of one pickle may take together (one bytes object that the memo
repeats under many keys would otherwise multiply)."""

MAX_OPCODES = 100_000
"""The most opcodes a pickle may hold (the book's hold a few hundred); bounds the scan."""

MAX_DEPTH = 32
"""The deepest nesting of containers admitted (NumPy's pickles nest 7 deep, counting the leaves)."""

MAX_DIMS = 32
"""The most dimensions an array may claim (NumPy allows 64)."""

PLAIN_CODES = frozenset({"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"})
"""The dtype codes admitted: plain floats and integers, as NumPy's pickles spell them."""

_ORDERS = ("<", ">", "=", "|")


def _refuse(problem: str) -> ModelFileError:
    return ModelFileError(problem)


def _label(text: str) -> str:
    """A str from a pickle as a message may show it: short and printable, else described."""
    if len(text) <= 80 and text.isprintable():
        return text
    return f"<a name of {len(text)} characters>"


def _show(text: str) -> str:
    """:func:`_label`, quoted."""
    return f"'{_label(text)}'"


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_flag(value: Any) -> bool:
    return type(value) in (bool, int) and value in (0, 1)


# The opcode scan: bounds checked before the unpickler builds a single object.

_MUTATORS = frozenset({"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_NEVER = {
    "PERSID": "persistent ids", "BINPERSID": "persistent ids",
    "EXT1": "the extension registry", "EXT2": "the extension registry",
    "EXT4": "the extension registry", "NEXT_BUFFER": "out-of-band buffers",
    "READONLY_BUFFER": "out-of-band buffers",
}


def _scan(data: bytes) -> None:
    """Refuse a pickle whose opcodes are too many, nest too deep or abuse the memo.

    Mirrors the unpickler's stack (each entry the nesting depth of its object) and marks,
    using pickletools' description of every opcode, so a tuple nested 200,000 deep is refused
    here instead of crashing CPython's hash when it becomes a dict key.
    """
    stack: list[int] = []
    marks: list[int] = []
    memo: dict[int, int] = {}
    for count, (op, arg, _) in enumerate(pickletools.genops(data), 1):
        if count > MAX_OPCODES:
            raise _refuse(f"more than {MAX_OPCODES:,} opcodes; the book's pickles have hundreds")
        name = op.name
        if name in _NEVER:
            raise _refuse(f"refusing a pickle that uses {_NEVER[name]}: book weights have none")
        fence = marks[-1] if marks else 0
        if name == "MARK":
            marks.append(len(stack))
            continue
        if name == "POP" and marks and len(stack) == fence:
            marks.pop()
            continue
        if name in _PUTS:
            if len(stack) <= fence:
                raise _refuse("the memo stores from an empty stack")
            index = len(memo) if arg is None else arg
            if index > MAX_OPCODES:
                raise _refuse(f"a memo index beyond {MAX_OPCODES:,}")
            memo[index] = stack[-1]
            continue
        if name in _GETS:
            if arg not in memo:
                raise _refuse("the memo is read where nothing was stored")
            stack.append(memo[arg])
            continue
        before = op.stack_before
        items: list[int] = []
        fixed = len(before)
        if pickletools.markobject in before:
            if not marks:
                raise _refuse(f"{name} without a MARK")
            fixed = before.index(pickletools.markobject)
            items = stack[marks[-1]:]
            del stack[marks.pop():]
            fence = marks[-1] if marks else 0
        if len(stack) - fixed < fence:
            raise _refuse(f"{name} finds too few objects on the stack")
        popped = stack[len(stack) - fixed:] if fixed else []
        del stack[len(stack) - fixed:]
        if name == "DUP":
            stack += popped * 2
            continue
        if name in _MUTATORS:
            depth = max(popped[0], 1 + max(popped[1:] + items, default=0))
        else:
            depth = 1 + max(popped + items, default=0)
        if depth > MAX_DEPTH:
            raise _refuse(f"objects nested more than {MAX_DEPTH} deep; book weights nest 7")
        stack += [depth] * len(op.stack_after)


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
                f"refusing to load {_label(f'{module}.{name}')} from a pickle: book weights "
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
            _scan(data)
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


def read_pickle(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the pickle file ``path``: a regular file of at most MAX_PICKLE_BYTES.

    The read is capped at the size the file has (not the largest admitted), so a small pickle
    never costs a buffer of MAX_PICKLE_BYTES; a file that grows meanwhile is refused.
    """
    try:
        size = os.stat(input_file(path, "pickle", MAX_PICKLE_BYTES)).st_size
        return read_input(path, "pickle", size)
    except ModelFileError:
        raise
    except NnxpError as exc:
        raise ModelFileError(f"cannot read {os.fspath(path)}: {exc}") from None


def load_pickled_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The dict of NumPy arrays in a pickle file, or a ModelFileError saying why not."""
    return unpickle_arrays(read_pickle(path), os.fspath(path))


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
            [f"unexpected {', '.join(_label(key) for key in extra)}"] if extra else [])
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
