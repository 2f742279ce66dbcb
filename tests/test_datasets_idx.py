"""The IDX parser: round trips, each malformation named, and a seeded fuzz test."""

from __future__ import annotations

import gzip
import math
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from nnxp.datasets import parse_idx, read_idx
from nnxp.errors import DatasetError, NnxpError

pytestmark = pytest.mark.host

CODES = {
    np.dtype(k): c
    for k, c in [("u1", 8), ("i1", 9), (">i2", 11), (">i4", 12), (">f4", 13), (">f8", 14)]
}
BY_CODE = {c: d for d, c in CODES.items()}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file holding ``array`` (written here, independently of the parser)."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    head = struct.pack(">BBBB", 0, 0, CODES[dtype], array.ndim)
    return head + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(dtype).tobytes()


def reference(data: bytes) -> np.ndarray | None:
    """The array ``data`` holds when it is a well-formed IDX file (gz or raw), else None."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in BY_CODE or data[3] == 0:
        return None
    ndim, dtype = data[3], BY_CODE[data[2]]
    if len(data) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    if math.prod(shape) * dtype.itemsize != len(data) - 4 - 4 * ndim:
        return None
    try:
        return np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(shape)
    except ValueError:
        return None


SAMPLES = [
    np.arange(60, dtype=np.uint8).reshape(3, 4, 5),
    np.array([5, 0, 4, 1, 9, 2, 1], dtype=np.uint8),
    np.array([[-3, 7, 300], [1, -1, 0]], dtype=np.int16),
    np.array([1.5, -2.25, 3e9, 0.0], dtype=np.float32),
    np.array([[1e-300, -2.5], [3.0, 4.0]], dtype=np.float64),
    np.array([-128, 127, 0], dtype=np.int8),
    np.zeros((0, 3), dtype=np.int32),
]


@pytest.mark.parametrize("array", SAMPLES, ids=lambda a: f"{a.dtype}{a.shape}")
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_round_trip(array, gz, tmp_path):
    data = idx_bytes(array)
    data = gzip.compress(data) if gz else data
    path = tmp_path / "a.idx"
    path.write_bytes(data)
    for parsed in (read_idx(path), parse_idx(data)):
        assert parsed.dtype == array.dtype.newbyteorder("=") and parsed.shape == array.shape
        assert parsed.dtype.isnative and parsed.flags.writeable
        np.testing.assert_array_equal(parsed, array)


def test_mnist_magic_numbers():
    """MNIST's magic numbers are 2051 (images) and 2049 (labels)."""
    images = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    labels = idx_bytes(np.zeros(2, np.uint8))
    assert struct.unpack(">I", images[:4])[0] == 2051
    assert struct.unpack(">I", labels[:4])[0] == 2049
    assert parse_idx(images).shape == (2, 28, 28)


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "shorter than the 4-byte"),
        (b"\x00\x00", "shorter than the 4-byte"),
        (b"\x00\x01\x08\x01" + GOOD[4:], "not IDX"),
        (b"PK\x03\x04" + GOOD[4:], "not IDX"),
        (b"\x00\x00\x07\x03" + GOOD[4:], "unknown IDX data type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (GOOD[:9], "ends inside the header"),
        (GOOD[:-1], "but 23 bytes follow the header"),
        (GOOD + b"\x00", "but 25 bytes follow the header"),
        (b"\x00\x00\x08\x04" + b"\xff" * 16, "4294967295x4294967295x4294967295x4294967295"),
        (b"\x00\x00\x0e\x03" + struct.pack(">3I", 0, 2**32 - 1, 2**32 - 1), "no array can have"),
    ],
)
def test_malformed_raw_is_named(data, problem, tmp_path):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=problem) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert "replace it with an intact copy" in str(info.value)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (gzip.compress(GOOD)[:-6], "damaged gzip data"),
        (gzip.compress(GOOD)[:-8] + b"\0\0\0\0" + gzip.compress(GOOD)[-4:], "damaged gzip"),
        (gzip.compress(GOOD) + b"junk", "damaged gzip data"),
        (gzip.compress(GOOD[:-1]), "but the data ends after 23"),
        (gzip.compress(GOOD + b"\x00"), "more data follows"),
        (gzip.compress(b"\x00\x00\x08\x01\xff\xff\xff\xff"), "more than .* gz bytes can hold"),
    ],
)
def test_malformed_gz_is_named(data, problem, tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=problem) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="nope.gz does not exist; check the path"):
        read_idx(tmp_path / "nope.gz")


def _peak_bytes(fn) -> tuple[object, int]:
    """fn's result (or the exception it raised) and the peak memory Python traced in it."""
    tracemalloc.start()
    try:
        result = fn()
    except Exception as exc:  # the callers decide which exceptions are acceptable
        result = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


def test_billions_claimed_are_refused_without_allocating(tmp_path):
    """A raw header claiming 2**128 bytes, or a gz whose claim its size cannot hold."""
    raw = tmp_path / "huge"
    raw.write_bytes(b"\x00\x00\x08\x04" + b"\xff" * 16 + b"\x00" * 64)
    gz = tmp_path / "huge.gz"
    gz.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">3I", 60000, 28, 28)))
    for path in (raw, gz):
        result, peak = _peak_bytes(lambda p=path: read_idx(p))
        assert isinstance(result, DatasetError), result
        assert peak < 1 << 20, f"{path.name}: {peak} bytes traced"


def test_gz_memory_grows_with_data_not_with_claim(tmp_path):
    """A claim that the gz size allows but whose data is absent costs only what is there."""
    payload = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 100_000_000) + payload))
    assert 100_000_000 < path.stat().st_size * 1032
    result, peak = _peak_bytes(lambda: read_idx(path))
    assert isinstance(result, DatasetError) and "data ends after 200000" in str(result)
    assert peak < 8 << 20, f"{peak} bytes traced for a 100 MB claim"


def _mutate_raw(rng: np.random.Generator, data: bytes) -> bytes:
    """One seeded corruption: bytes overwritten, truncated, extended, header fields
    rewritten, or a byte inserted or deleted."""
    b = bytearray(data)
    kind = rng.integers(7)
    if kind == 0:
        for _ in range(rng.integers(1, 5)):
            b[rng.integers(len(b))] = rng.integers(256)
    elif kind == 1:
        del b[rng.integers(len(b)) :]
    elif kind == 2:
        b += rng.integers(0, 256, rng.integers(1, 9), dtype=np.uint8).tobytes()
    elif kind == 3:
        b[2] = rng.choice([0, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255])
    elif kind == 4:
        b[3] = rng.choice([0, 1, 2, 3, 4, 5, 64, 255])
    elif kind == 5 and b[3]:
        dim = rng.integers(b[3])
        value = rng.choice([0, 1, 2, 2**16, 2**31, 2**32 - 1, int(rng.integers(2**32))])
        b[4 + 4 * dim : 8 + 4 * dim] = struct.pack(">I", value)
    else:
        at = rng.integers(len(b))
        if rng.integers(2):
            b.insert(at, rng.integers(256))
        else:
            del b[at]
    return bytes(b)


def _fuzz_case(rng: np.random.Generator, gz: bool) -> bytes:
    data = idx_bytes(SAMPLES[rng.integers(len(SAMPLES))])
    if not gz:
        return _mutate_raw(rng, data)
    if rng.integers(2):
        return gzip.compress(_mutate_raw(rng, data), mtime=0)
    return _mutate_raw(rng, gzip.compress(data, mtime=0))


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_fuzz_corruptions(gz):
    """Hundreds of seeded corruptions: a DatasetError exactly when the bytes are not a
    well-formed IDX file, the right array otherwise; never another exception, never more
    than a little memory."""
    rng = np.random.default_rng(20240 + gz)
    failures, errors = [], 0
    for case in range(400):
        data = _fuzz_case(rng, gz)
        expected = reference(data)
        result, peak = _peak_bytes(lambda d=data: parse_idx(d, "fuzz"))
        if peak > 1 << 20:
            failures.append(f"case {case}: {peak} bytes traced")
        if isinstance(result, NnxpError):
            assert isinstance(result, DatasetError) and str(result).startswith("fuzz: ")
            errors += 1
            if expected is not None:
                failures.append(f"case {case}: refused a well-formed file: {result}")
        elif isinstance(result, BaseException):
            failures.append(f"case {case}: {type(result).__name__}: {result}")
        elif expected is None:
            failures.append(f"case {case}: parsed a malformed file as {result!r}")
        elif not (
            result.shape == expected.shape
            and result.dtype == expected.dtype.newbyteorder("=")
            and np.array_equal(result, expected, equal_nan=result.dtype.kind == "f")
        ):
            failures.append(f"case {case}: parsed {result!r}, expected {expected!r}")
    assert not failures, "\n".join(failures[:10])
    assert 200 < errors < 400, f"{errors} of 400 refused: the corruptions are too mild or wild"
