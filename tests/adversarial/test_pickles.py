"""Hostile pickles: built opcode by opcode for every protocol, against the library
(`unpickle_arrays`, `load_pickled_arrays`: a dict of arrays or one ModelFileError line) and
the command line (`nnxp convert`: exit 2, one line, nothing created or changed)."""

from __future__ import annotations

import copyreg
import os
import pickle
import random
import struct
import subprocess
import sys

import numpy as np
import pytest

from nnxp.book_weights import load_pickled_arrays, unpickle_arrays
from nnxp.errors import ModelFileError
from tests.adversarial.conftest import SEED, assert_refused, cli, cli_process, snapshot

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
CORE = "numpy._core.multiarray"


# A small assembler: each helper returns the opcodes that push one object.


def glob(module: str, name: str, proto: int) -> bytes:
    if proto >= 4:
        return text(module, proto) + text(name, proto) + pickle.STACK_GLOBAL
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def text(s: str, proto: int) -> bytes:
    if proto >= 4 and len(s.encode()) < 256:
        return pickle.SHORT_BINUNICODE + bytes([len(s.encode())]) + s.encode()
    if proto >= 1:
        return pickle.BINUNICODE + struct.pack("<I", len(s.encode())) + s.encode()
    return pickle.UNICODE + s.encode("raw_unicode_escape") + b"\n"


def integer(n: int, proto: int) -> bytes:
    if proto >= 1 and -2**31 <= n < 2**31:
        return pickle.BININT + struct.pack("<i", n)
    if proto >= 2:
        raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
        return pickle.LONG1 + bytes([len(raw)]) + raw
    return pickle.INT + str(n).encode() + b"\n"


def boolean(b: bool, proto: int) -> bytes:
    if proto >= 2:
        return pickle.NEWTRUE if b else pickle.NEWFALSE
    return pickle.TRUE if b else pickle.FALSE


def tup(proto: int, *items: bytes) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def call(func: bytes, proto: int, *args: bytes) -> bytes:
    return func + tup(proto, *args) + pickle.REDUCE


def raw_bytes(b: bytes, proto: int) -> bytes:
    if proto >= 3:
        return pickle.BINBYTES + struct.pack("<I", len(b)) + b
    return call(glob("_codecs", "encode", proto), proto, text(b.decode("latin1"), proto),
                text("latin1", proto))


def dtype_state(proto: int, order: str = "<", *rest: bytes) -> bytes:
    rest = rest or (pickle.NONE * 3 + integer(-1, proto) + integer(-1, proto)
                    + integer(0, proto),)
    return tup(proto, integer(3, proto), text(order, proto), *rest)


def dtype(proto: int, code: str = "f8", state: bytes | None = None) -> bytes:
    made = call(glob("numpy", "dtype", proto), proto, text(code, proto), boolean(False, proto),
                boolean(True, proto))
    return made + (dtype_state(proto) if state is None else state) + pickle.BUILD


def array(proto: int, shape=(3,), data: bytes | None = None, dt: bytes | None = None,
          fortran: bool = False) -> bytes:
    data = np.arange(int(np.prod(shape)), dtype="<f8").tobytes() if data is None else data
    empty = call(glob(CORE, "_reconstruct", proto), proto, glob("numpy", "ndarray", proto),
                 tup(proto, integer(0, proto)), raw_bytes(b"b", proto))
    state = tup(proto, integer(1, proto), tup(proto, *(integer(n, proto) for n in shape)),
                dtype(proto) if dt is None else dt, boolean(fortran, proto),
                raw_bytes(data, proto))
    return empty + state + pickle.BUILD


def top(proto: int, *pairs: tuple[str, bytes]) -> bytes:
    """A whole pickle: {name: object, ...}."""
    head = pickle.PROTO + bytes([proto]) if proto >= 2 else b""
    body = b"".join(text(k, proto) + v for k, v in pairs)
    return head + pickle.MARK + body + pickle.DICT + pickle.STOP


def refused(data: bytes, *needles: str) -> str:
    """The one-line ModelFileError the library gives for ``data``, checked for needles."""
    with pytest.raises(ModelFileError) as info:
        unpickle_arrays(data, "hostile.pkl")
    message = str(info.value)
    assert "\n" not in message and message.startswith("hostile.pkl")
    assert "RecursionError" not in message and "Traceback" not in message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_the_assembler_builds_pickles_numpy_and_nnxp_both_load(proto):
    data = top(proto, ("W1", array(proto, (2, 3))), ("b1", array(proto, (2, 3), fortran=True)))
    want = pickle.loads(data)
    got = unpickle_arrays(data)
    for key in ("W1", "b1"):
        np.testing.assert_array_equal(got[key], want[key])
        assert got[key].flags.f_contiguous == want[key].flags.f_contiguous


# The dtype BUILD that let a pickle of admitted names write out of bounds.


def _field_attack(proto: int) -> bytes:
    field = tup(proto, dtype(proto), integer(10**9, proto))
    fields = pickle.MARK + text("a", proto) + field + pickle.DICT
    state = tup(proto, integer(3, proto), text("|", proto), pickle.NONE,
                tup(proto, text("a", proto)), fields, integer(8, proto), integer(1, proto),
                integer(16, proto))
    return top(proto, ("W1", array(proto, (4,), b"\0" * 32, dt=dtype(proto, state=state))))


def test_the_field_attack_is_live_in_numpys_own_loader(tmp_path):
    """NumPy's loader gives an array with a field 10**9 bytes past its 32 (not written to)."""
    path = tmp_path / "attack.pkl"
    path.write_bytes(_field_attack(2))
    code = ("import pickle,sys; a=pickle.load(open(sys.argv[1],'rb'))['W1'];"
            "print(a.dtype.fields['a'][1] > a.nbytes)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr[-500:]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_the_field_attack_is_refused_before_numpy(proto):
    assert len(_field_attack(2)) < 400
    refused(_field_attack(proto), "fields or a subarray")


def test_the_field_attack_kills_no_process(workdir):
    (workdir / "attack.pkl").write_bytes(_field_attack(2))
    before = snapshot(workdir)
    assert_refused(cli_process(["convert", "attack.pkl", "--arch", "ch03", "-o", "m.npz"]),
                   "fields or a subarray")
    code = ("from nnxp.book_weights import load_pickled_arrays as f\n"
            "try: f('attack.pkl')\nexcept Exception as e: print(type(e).__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ModelFileError", out.stderr[-500:]
    assert snapshot(workdir) == before


def _dtype_states(proto: int) -> dict[str, bytes]:
    n, m1, z = pickle.NONE, integer(-1, proto), integer(0, proto)
    i = lambda v: integer(v, proto)  # noqa: E731
    return {
        "fields or a subarray": dtype_state(proto, "<", n, n, tup(proto), m1, m1, z),
        "fields or a subarray ": dtype_state(proto, "<", tup(proto, dtype(proto), tup(proto)),
                                             n, n, m1, m1, z),
        "own size, alignment or flags": dtype_state(proto, "<", n, n, n, i(8), i(1), z),
        "own size, alignment or flags ": dtype_state(proto, "<", n, n, n, m1, m1, i(63)),
        "byte order other than": dtype_state(proto, "!"),
        "multi-byte dtype without a byte order": dtype_state(proto, "|"),
        "version 3, 8 items": tup(proto, i(4), text("<", proto), n, n, n, m1, m1, z, n),
        "version 3, 8 items ": tup(proto, i(3)),
        "version 3, 8 items  ": pickle.EMPTY_DICT if proto else pickle.MARK + pickle.DICT,
        "own size, alignment or flags  ": dtype_state(proto, "<", n, n, n, boolean(True, proto),
                                                      m1, z),
    }


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_dtype_states_plain_dtypes_never_have_are_refused(proto):
    for needle, state in _dtype_states(proto).items():
        dt = dtype(proto, state=state)
        refused(top(proto, ("W1", array(proto, dt=dt))), needle.strip())


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(("code", "needle"), [
    ("O8", "Python objects"), ("V8", "not a plain float"), ("c16", "not a plain float"),
    ("b1", "not a plain float"), ("S3", "not a plain float"), ("M8", "not a plain float"),
    ("<f8", "not a plain float"), ("f8" * 100, "<a name of 200 characters>"),
])
def test_dtypes_other_than_plain_numbers_are_refused(proto, code, needle):
    refused(top(proto, ("W1", array(proto, dt=dtype(proto, code)))), needle)


# BUILD on things that are not NumPy's records, and BUILD twice.


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_build_on_anything_but_a_fresh_record_is_refused(proto):
    state = tup(proto, integer(1, proto))
    slot_state = tup(proto, pickle.NONE, pickle.MARK + text("build", proto)
                     + glob("numpy", "ndarray", proto) + pickle.DICT)
    for module, name in [("numpy", "dtype"), ("numpy", "ndarray"), (CORE, "_reconstruct"),
                         (CORE, "scalar"), ("numpy._core.numeric", "_frombuffer"),
                         ("collections", "OrderedDict"), ("_codecs", "encode"),
                         ("builtins", "bytes")]:
        for s in (state, slot_state):
            refused(top(proto, ("W1", glob(module, name, proto) + s + pickle.BUILD)))
    twice = array(proto) + tup(proto, integer(1, proto), tup(proto, integer(1, proto)),
                               dtype(proto), boolean(False, proto),
                               raw_bytes(b"\0" * 8, proto)) + pickle.BUILD
    refused(top(proto, ("W1", twice)), "state twice")
    refused(top(proto, ("W1", dtype(proto) + dtype_state(proto) + pickle.BUILD)), "state twice")
    scalar = call(glob(CORE, "scalar", proto), proto, dtype(proto), raw_bytes(b"\0" * 8, proto))
    refused(top(proto, ("W1", scalar + state + pickle.BUILD)), "BUILD on a NumPy scalar")
    refused(top(proto, ("W1", scalar)), "entry 'W1' is a NumPy scalar, not a NumPy array")
    od = call(glob("collections", "OrderedDict", proto), proto)
    refused(top(proto, ("W1", od + slot_state + pickle.BUILD)))
    for s in (pickle.NONE, slot_state, integer(7, proto)):
        empty = call(glob(CORE, "_reconstruct", proto), proto, glob("numpy", "ndarray", proto),
                     tup(proto, integer(0, proto)), raw_bytes(b"b", proto))
        refused(top(proto, ("W1", empty + s + pickle.BUILD)), "array state other than NumPy's")


# REDUCE on every admitted global with the wrong arguments.


def _bad_calls(proto: int) -> list[tuple[str, str, tuple[bytes, ...], str]]:
    i, t, n = (lambda v: integer(v, proto)), (lambda s: text(s, proto)), pickle.NONE
    nd, b = glob("numpy", "ndarray", proto), (lambda v: raw_bytes(v, proto))
    return [
        ("numpy", "dtype", (), "0 arguments"),
        ("numpy", "dtype", (t("f8"), i(0), i(1), i(0)), "4 arguments"),
        ("numpy", "dtype", (i(8),), "code that is not text"),
        ("numpy", "dtype", (t("f8"), t("yes")), "flags that are not bools"),
        ("numpy", "dtype", (t("f8"), i(2)), "flags that are not bools"),
        ("numpy", "ndarray", (tup(proto, i(3)),), "not callable"),
        ("numpy", "ndarray", (), "not callable"),
        (CORE, "_reconstruct", (nd, tup(proto, i(0))), "2 arguments"),
        (CORE, "_reconstruct", (glob("numpy", "dtype", proto), tup(proto, i(0)), b(b"b")),
         "other than numpy.ndarray"),
        (CORE, "_reconstruct", (nd, tup(proto, i(10**6)), b(b"b")), "other arguments"),
        (CORE, "_reconstruct", (nd, i(0), b(b"b")), "shape that is not a tuple"),
        (CORE, "_reconstruct", (nd, tup(proto, i(0)), n), "other arguments"),
        (CORE, "scalar", (dtype(proto),), "1 arguments"),
        (CORE, "scalar", (t("f8"), b(b"\0" * 8)), "dtype is not a numpy.dtype"),
        (CORE, "scalar", (dtype(proto), i(5)), "scalar data that is not bytes"),
        ("numpy._core.numeric", "_frombuffer", (b(b"\0" * 8), dtype(proto)), "2 arguments"),
        ("numpy._core.numeric", "_frombuffer",
         (b(b"\0" * 8), dtype(proto), tup(proto, i(1)), t("Z")), "order other than"),
        ("numpy._core.numeric", "_frombuffer",
         (b(b"\0" * 8), t("f8"), tup(proto, i(1)), t("C")), "not a numpy.dtype"),
        ("numpy._core.numeric", "_frombuffer",
         (i(0), dtype(proto), tup(proto, i(1)), t("C")), "array data that is not bytes"),
        ("numpy._core.numeric", "_frombuffer",
         (b(b"\0" * 16), dtype(proto), tup(proto, i(2), i(1)), t("K"), tup(proto, i(0), i(0))),
         "not a permutation"),
        ("numpy._core.numeric", "_frombuffer",
         (b(b"\0" * 8), dtype(proto), tup(proto, i(1)), t("C"), tup(proto, i(0))),
         "not a permutation"),
        ("collections", "OrderedDict", (i(3),), "list of (name, value) pairs"),
        ("collections", "OrderedDict", (pickle.MARK + i(1) + pickle.LIST,), "pairs"),
        ("collections", "OrderedDict", (pickle.EMPTY_LIST if proto else pickle.MARK
                                        + pickle.LIST, n), "2 arguments"),
        ("_codecs", "encode", (t("x"), t("utf-8")), "latin1 text only"),
        ("_codecs", "encode", (t("\u20ac"), t("latin1")), "not latin-1"),
        ("_codecs", "encode", (b(b"x"), t("latin1")), "latin1 text only"),
        ("_codecs", "encode", (t("x"),), "1 arguments"),
        ("builtins", "bytes", (i(10**6),), "without arguments only"),
        ("__builtin__", "bytes", (t("x"), t("ascii")), "without arguments only"),
    ]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_admitted_globals_called_as_numpy_never_does_are_refused(proto):
    for module, name, args, needle in _bad_calls(proto):
        refused(top(proto, ("W1", call(glob(module, name, proto), proto, *args))), needle)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(("shape", "data", "needle"), [
    ((10**10,), b"\0" * 8, "claims shape (10000000000,)"),
    ((2**62, 2**62), b"\0" * 8, "claims shape"),
    ((3,), b"\0" * 25, "carries 25 bytes"),
    ((-1,), b"", "non-negative"),
    ((2**63,), b"", "non-negative"),
    ((1,) * 33, b"\0" * 8, "at most 32 sizes"),
])
def test_sizes_that_disagree_with_the_bytes_are_refused(proto, shape, data, needle):
    refused(top(proto, ("W1", array(proto, shape, data))), needle)


def test_one_buffer_repeated_under_many_names_is_refused_before_allocating():
    proto = 4
    big = array(proto, (786432,), b"\0" * (6 * 2**20)) + pickle.MEMOIZE
    pairs = [("W0", big)] + [(f"W{k}", pickle.BINGET + b"\x00") for k in range(1, 200)]
    data = top(proto, *pairs)
    assert "W1" in data.decode("latin1") and len(data) < 7 * 2**20
    refused(data, "more than the 1.1 GB")


def test_a_shape_as_a_list_or_of_bools_is_refused():
    proto = 2
    state = tup(proto, integer(1, proto), pickle.EMPTY_LIST, dtype(proto),
                boolean(False, proto), raw_bytes(b"", proto))
    empty = call(glob(CORE, "_reconstruct", proto), proto, glob("numpy", "ndarray", proto),
                 tup(proto, integer(0, proto)), raw_bytes(b"b", proto))
    refused(top(proto, ("W1", empty + state + pickle.BUILD)), "shape that is not a tuple")
    state = tup(proto, integer(1, proto), tup(proto, boolean(True, proto)), dtype(proto),
                boolean(False, proto), raw_bytes(b"\0" * 8, proto))
    refused(top(proto, ("W1", empty + state + pickle.BUILD)), "non-negative integer")


# Deep nesting: refused by the opcode scan before anything is hashed.


def _nested(kind: str, depth: int, proto: int) -> bytes:
    if kind == "tuple" and proto >= 2:
        return pickle.EMPTY_TUPLE + pickle.TUPLE1 * depth
    closer = {"tuple": pickle.TUPLE, "list": pickle.LIST, "frozenset": pickle.FROZENSET}
    if kind == "dict":
        return (pickle.MARK + text("k", proto)) * depth + pickle.NONE + pickle.DICT * depth
    return pickle.MARK * depth + closer[kind] * depth


@pytest.mark.parametrize("depth", [10, 33, 100, 5000, 200_000])
@pytest.mark.parametrize("kind", ["tuple", "list", "dict", "frozenset", "key"])
def test_deep_nesting_is_one_line_without_recursion(kind, depth):
    for proto in (1, 2, 4) if depth < 10_000 else (4,):
        if kind == "frozenset" and proto < 4:
            continue
        if kind == "key":
            body = _nested("tuple", depth, proto) + integer(0, proto)
            data = (pickle.PROTO + bytes([proto]) if proto >= 2 else b"") + pickle.MARK + body \
                + pickle.DICT + pickle.STOP
        else:
            data = top(proto, ("W1", _nested(kind, depth, proto)))
        message = refused(data)
        if depth > 32:
            assert "nested more than 32 deep" in message or "opcodes" in message, message
        else:
            assert "not a NumPy array" in message or "key that is a tuple" in message, message


def test_deep_nesting_through_the_command_line(workdir):
    (workdir / "deep.pkl").write_bytes(
        pickle.PROTO + b"\x04" + pickle.MARK + _nested("tuple", 200_000, 4) + pickle.NONE
        + pickle.DICT + pickle.STOP)
    before = snapshot(workdir)
    assert_refused(cli(["convert", "deep.pkl", "--arch", "ch03", "-o", "m.npz"]),
                   "nested more than 32 deep")
    assert snapshot(workdir) == before


def test_too_many_opcodes_are_refused():
    data = top(4, ("W1", pickle.MARK + pickle.NONE * 200_000 + pickle.LIST))
    refused(data, "more than 100,000 opcodes")


# Truncation and random mutations of valid pickles.


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_every_truncation_is_one_line(proto):
    data = pickle.dumps({"W1": np.arange(3.0), "b1": np.ones((1, 2), np.float32)}, proto)
    assert set(unpickle_arrays(data)) == {"W1", "b1"}
    for end in range(len(data)):
        refused(data[:end])


def test_random_mutations_load_or_are_refused_in_one_line():
    rng = random.Random(SEED)
    seeds = [pickle.dumps({"W1": np.arange(6.0).reshape(2, 3), "b": np.ones(2, ">i4"),
                           "F": np.asfortranarray(np.ones((2, 2)))}, proto)
             for proto in PROTOCOLS]
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            action = rng.random()
            if action < 0.5:
                data[at] = rng.randrange(256)
            elif action < 0.75:
                del data[at]
            else:
                data[at:at] = bytes([rng.randrange(256)])
        try:
            arrays = unpickle_arrays(bytes(data), "mutant.pkl")
        except ModelFileError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
        else:
            assert all(isinstance(v, np.ndarray) for v in arrays.values())
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 100, outcomes


# Names that are never admitted, by every opcode that names a global.


REFUSED_NAMES = [("os", "system"), ("posix", "system"), ("builtins", "eval"),
                 ("builtins", "exec"), ("builtins", "getattr"), ("numpy", "load"),
                 ("numpy", "frombuffer"), ("numpy", "fromfile"),
                 ("numpy.ctypeslib", "as_array"), ("numpy.ctypeslib", "load_library"),
                 ("subprocess", "Popen"), ("copyreg", "_reconstructor"), ("pickle", "loads"),
                 ("numpy.lib.format", "read_array"), ("nnxp.book_weights", "_DtypeRecord"),
                 ("nnxp.book_weights", "ALLOWED")]


def _by_opcode(module: str, name: str, proto: int, marker: str) -> dict[str, bytes]:
    arg = text(f"touch {marker}", proto)
    forms = {
        "GLOBAL": pickle.GLOBAL + f"{module}\n{name}\n".encode() + tup(proto, arg)
        + pickle.REDUCE,
        "INST": pickle.MARK + arg + pickle.INST + f"{module}\n{name}\n".encode(),
        "OBJ": pickle.MARK + glob(module, name, proto) + arg + pickle.OBJ,
    }
    if proto >= 2:
        forms["NEWOBJ"] = glob(module, name, proto) + tup(proto, arg) + pickle.NEWOBJ
    if proto >= 4:
        forms["STACK_GLOBAL"] = glob(module, name, proto) + tup(proto, arg) + pickle.REDUCE
        forms["NEWOBJ_EX"] = (glob(module, name, proto) + tup(proto, arg) + pickle.EMPTY_DICT
                              + pickle.NEWOBJ_EX)
    return forms


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_refused_names_never_run_by_any_opcode(proto, tmp_path):
    marker = tmp_path / "ran"
    for module, name in REFUSED_NAMES:
        for form, body in _by_opcode(module, name, proto, str(marker)).items():
            message = refused(top(proto, ("W1", body)), f"refusing to load {module}.{name}")
            assert form and "allow_pickle" not in message
    assert not marker.exists()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_admitted_names_by_instance_opcodes_are_refused(proto):
    for module, name in [("numpy", "ndarray"), ("numpy", "dtype"), (CORE, "_reconstruct")]:
        forms = {"INST": pickle.MARK + pickle.INST + f"{module}\n{name}\n".encode(),
                 "OBJ": pickle.MARK + glob(module, name, proto) + pickle.OBJ}
        if proto >= 2:
            forms["NEWOBJ"] = glob(module, name, proto) + pickle.EMPTY_TUPLE + pickle.NEWOBJ
        for body in forms.values():
            refused(top(proto, ("W1", body)))


# Persistent ids, the memo, the extension registry, out-of-band buffers.


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_persistent_ids_memo_abuse_and_extensions_are_refused(proto):
    cases = {
        pickle.PERSID + b"x\n": "persistent ids",
        pickle.GET + b"5\n": "nothing was stored",
        pickle.MARK + pickle.PUT + b"0\n": "empty stack",
        pickle.NONE + pickle.PUT + b"99999999\n": "memo index beyond",
        pickle.EXT1 + b"\x01": "extension registry",
    }
    if proto >= 1:
        cases.update({
            text("x", proto) + pickle.BINPERSID: "persistent ids",
            pickle.BINGET + b"\x07": "nothing was stored",
            pickle.LONG_BINGET + struct.pack("<I", 2**31): "nothing was stored",
            pickle.NONE + pickle.LONG_BINPUT + struct.pack("<I", 2**31): "memo index beyond",
        })
    if proto >= 2:
        cases.update({pickle.EXT2 + b"\x01\x02": "extension registry",
                      pickle.EXT4 + b"\x01\x02\x03\x04": "extension registry"})
    if proto >= 5:
        cases.update({pickle.NEXT_BUFFER: "out-of-band buffers",
                      pickle.NEXT_BUFFER + pickle.READONLY_BUFFER: "out-of-band buffers"})
    for body, needle in cases.items():
        refused(top(proto, ("W1", body)), needle)


def test_a_registered_extension_code_still_names_nothing_admitted():
    copyreg.add_extension("os", "system", 0x7ff0)
    try:
        refused(top(2, ("W1", pickle.EXT2 + struct.pack("<H", 0x7ff0))), "extension registry")
    finally:
        copyreg.remove_extension("os", "system", 0x7ff0)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_anything_but_a_dict_of_names_to_arrays_is_refused(proto):
    head = pickle.PROTO + bytes([proto]) if proto >= 2 else b""
    refused(head + array(proto) + pickle.STOP, "holds an array, not the dict")
    refused(head + pickle.NONE + pickle.STOP, "holds a NoneType")
    refused(head + pickle.MARK + integer(1, proto) + array(proto) + pickle.DICT + pickle.STOP,
            "key that is an int")
    refused(top(proto, ("W1", dtype(proto))), "entry 'W1' is a NumPy dtype")
    refused(top(proto, ("W1", glob("numpy", "ndarray", proto))), "is a function")
    refused(top(proto, ("W\t1", dtype(proto))), "entry '<a name of 3 characters>' is a NumPy")
    empty = call(glob(CORE, "_reconstruct", proto), proto, glob("numpy", "ndarray", proto),
                 tup(proto, integer(0, proto)), raw_bytes(b"b", proto))
    refused(top(proto, ("W1", empty)), "never given its data")
    od = call(glob("collections", "OrderedDict", proto), proto,
              pickle.MARK + tup(proto, text("W1", proto), array(proto)) + pickle.LIST)
    assert list(unpickle_arrays(head + od + pickle.STOP)) == ["W1"]


# The command line: files that are not regular, and outputs that would destroy the input.


def _book(workdir, name="book.pkl"):
    path = workdir / name
    path.write_bytes(pickle.dumps({"W1": np.ones(3)}, protocol=4))
    return path


@pytest.mark.parametrize("path", ["/dev/zero", "folder", "dangling.pkl"])
def test_convert_reads_regular_files_only(workdir, path):
    (workdir / "folder").mkdir()
    (workdir / "dangling.pkl").symlink_to(workdir / "gone.pkl")
    before = snapshot(workdir)
    needle = {"/dev/zero": "character device", "folder": "a directory",
              "dangling.pkl": "does not exist"}[path]
    assert_refused(cli(["convert", path, "--arch", "ch03", "-o", "m.npz"]), needle)
    with pytest.raises(ModelFileError, match=needle):
        load_pickled_arrays(path)
    assert snapshot(workdir) == before


def test_convert_of_a_fifo_does_not_hang(workdir):
    os.mkfifo(workdir / "pipe.pkl")
    before = snapshot(workdir)
    assert_refused(cli_process(["convert", "pipe.pkl", "--arch", "ch03", "-o", "m.npz"],
                               cwd=workdir, timeout=20), "FIFO")
    assert snapshot(workdir) == before


def test_convert_of_a_huge_file_is_refused_unread(workdir, tmp_path_factory):
    huge = tmp_path_factory.mktemp("huge") / "huge.pkl"  # sparse; outside the snapshot
    with open(huge, "wb") as f:
        f.truncate(600 * 2**20)
    before = snapshot(workdir)
    assert_refused(cli(["convert", huge, "--arch", "ch03", "-o", "m.npz"]), "more than the")
    assert snapshot(workdir) == before


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotted"])
def test_convert_onto_its_own_input_is_refused(workdir, how):
    book = _book(workdir)
    output = {"same": "book.pkl", "symlink": "link.pkl", "hardlink": "hard.pkl",
              "dotted": "./sub/../book.pkl"}[how]
    (workdir / "sub").mkdir()
    if how == "symlink":
        (workdir / "link.pkl").symlink_to(book)
    if how == "hardlink":
        os.link(book, workdir / "hard.pkl")
    before = snapshot(workdir)
    assert_refused(cli(["convert", "book.pkl", "--arch", "ch03", "-o", output]),
                   "is also the input")
    assert snapshot(workdir) == before


def test_convert_to_a_device_is_refused(workdir):
    _book(workdir)
    before = snapshot(workdir)
    assert_refused(cli(["convert", "book.pkl", "--arch", "ch03", "-o", os.devnull]),
                   "character device")
    assert snapshot(workdir) == before


@pytest.mark.parametrize("proto", [0, 2, 5])
def test_convert_refuses_hostile_pickles_and_writes_nothing(workdir, proto):
    cases = {
        "field.pkl": (_field_attack(proto), "fields or a subarray"),
        "system.pkl": (top(proto, ("W1", _by_opcode("os", "system", proto, "x")["GLOBAL"])),
                       "refusing to load os.system"),
        "cut.pkl": (top(proto, ("W1", array(proto)))[:-9], "not a pickle of NumPy arrays"),
        "memo.pkl": (top(proto, ("W1", pickle.GET + b"3\n")), "nothing was stored"),
        "size.pkl": (top(proto, ("W1", array(proto, (10**10,), b"\0" * 8))), "claims shape"),
    }
    for name, (data, _) in cases.items():
        (workdir / name).write_bytes(data)
    before = snapshot(workdir)
    for name, (_, needle) in cases.items():
        assert_refused(cli(["convert", name, "--arch", "ch03", "-o", "m.npz"]), needle)
    assert snapshot(workdir) == before
