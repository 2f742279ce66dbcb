"""IDX files (the format MNIST ships in), parsed without trusting their headers.

An IDX file is a 4-byte magic number (two zero bytes, a data-type code, the number of
dimensions), one big-endian uint32 per dimension, then the items, big-endian, row-major.
Files may be gzip-compressed (recognised by their first two bytes, not their name).

A header is a claim: every size is checked against the bytes present before anything is
allocated. A raw file must hold exactly the bytes its header describes, so a header claiming
billions of items is refused from the file size alone. A gz file cannot expand beyond
deflate's maximum ratio, which bounds a claim before decompressing; the data is then read in
chunks, so memory grows only with bytes that actually decompress, never with the claim.
Every malformed input raises :class:`~nnxp.errors.DatasetError` naming the file and the
problem.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from nnxp.errors import DatasetError

DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX data-type codes and the big-endian dtype each names."""

GZIP_MAGIC = b"\x1f\x8b"
DEFLATE_MAX_RATIO = 1032
"""Deflate emits at most 258 bytes per 2 bits of input: no gz file expands beyond this."""

_CHUNK = 1 << 20
_FIX = "replace it with an intact copy (re-download it, or re-compress the original)"


def _error(source: str, problem: str) -> DatasetError:
    return DatasetError(f"{source}: {problem}; {_FIX}")


def _read_exact(f: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        part = f.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_header(f: BinaryIO, source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """The dtype, shape and header length an IDX header declares, checked for form only."""
    magic = _read_exact(f, 4)
    if len(magic) < 4:
        raise _error(source, f"{len(magic)} bytes, shorter than the 4-byte IDX magic number")
    if magic[:2] != b"\x00\x00":
        raise _error(source, f"magic number 0x{magic.hex()} is not IDX (00 00, type, ndim)")
    code, ndim = magic[2], magic[3]
    if code not in DTYPES:
        known = " ".join(f"{c:02x}" for c in DTYPES)
        raise _error(source, f"unknown IDX data type code 0x{code:02x} (known: {known})")
    if ndim == 0:
        raise _error(source, "IDX header declares 0 dimensions")
    dims = _read_exact(f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise _error(source, f"file ends inside the header's {ndim} dimension sizes")
    return DTYPES[code], struct.unpack(f">{ndim}I", dims), 4 + 4 * ndim


def _read_payload(f: BinaryIO, nbytes: int, *, grow: bool) -> bytearray:
    """Up to ``nbytes`` bytes; with ``grow`` the buffer grows as data arrives, else it is
    allocated at once (only when ``nbytes`` is known to be present)."""
    if not grow:
        buf = bytearray(nbytes)
        view, got = memoryview(buf), 0
        while got < nbytes:
            n = f.readinto(view[got:])
            if not n:
                break
            got += n
        del view
        del buf[got:]
        return buf
    buf = bytearray()
    while len(buf) < nbytes:
        chunk = f.read(min(_CHUNK, nbytes - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _parse(f: BinaryIO, source: str, size: int, gz: bool) -> np.ndarray:
    """Parse one IDX stream of ``size`` bytes on disk (compressed size when ``gz``)."""
    dtype, shape, header = _read_header(f, source)
    nbytes = math.prod(shape) * dtype.itemsize
    claim = f"header claims {'x'.join(map(str, shape))} {dtype.name} items"
    if gz:
        limit = size * DEFLATE_MAX_RATIO
        if nbytes > limit:
            raise _error(source, f"{claim} ({nbytes} bytes), more than {size} gz bytes can hold")
    elif nbytes != size - header:
        raise _error(
            source, f"{claim} ({nbytes} bytes) but {size - header} bytes follow the header"
        )
    buf = _read_payload(f, nbytes, grow=gz)
    if len(buf) < nbytes:
        raise _error(source, f"{claim} ({nbytes} bytes) but the data ends after {len(buf)}")
    if f.read(1):
        raise _error(source, f"{claim} ({nbytes} bytes) but more data follows them")
    try:
        array = np.frombuffer(buf, dtype=dtype).reshape(shape)
    except ValueError:
        raise _error(source, f"{claim}, a shape no array can have") from None
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def _parse_any(raw: BinaryIO, source: str, size: int) -> np.ndarray:
    """Dispatch on the first two bytes: gzip or raw IDX."""
    gz = raw.read(2) == GZIP_MAGIC
    raw.seek(0)
    if not gz:
        return _parse(raw, source, size, gz=False)
    try:
        with gzip.GzipFile(fileobj=raw, mode="rb") as f:
            return _parse(f, source, size, gz=True)
    except (OSError, EOFError, zlib.error) as exc:
        raise _error(source, f"damaged gzip data ({exc})") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array an IDX file holds (gz or raw), in native byte order and writable.

    Raises DatasetError naming the file when it is missing, unreadable or malformed.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as raw:
            return _parse_any(raw, source, os.fstat(raw.fileno()).st_size)
    except DatasetError:
        raise
    except OSError as exc:
        raise DatasetError(
            f"{source}: cannot read ({exc.strerror or exc}); check the path and permissions"
        ) from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """The array an in-memory IDX file (gz or raw) holds; ``source`` names it in errors."""
    return _parse_any(io.BytesIO(data), source, len(data))
