"""IDX files (the format MNIST ships in), parsed without trusting their headers.

An IDX file is a 4-byte magic number (two zero bytes, a data-type code, the number of
dimensions), one big-endian uint32 per dimension, then the items, big-endian, row-major.
Files may be gzip-compressed (recognised by their first two bytes, not their name).

A header is a claim: every size is checked against the bytes present before anything is
allocated. A raw file must hold exactly the bytes its header describes, so a header claiming
billions of items is refused from the file size alone. A gz file cannot expand beyond
deflate's maximum ratio, which bounds a claim before decompressing; the data is then read in
chunks, so memory grows only with bytes that actually decompress, never with the claim.
A cap bounds both the file and what its header may claim (a small gz that would decompress
to gigabytes is refused from its header), and a caller may require a data type and fixed
dimensions (MNIST's 28x28 uint8 images), checked before any data is read. Files are read
as regular files only (:func:`nnxp.files.read_input`), so a FIFO or a device cannot hang or
flood the reader. Every malformed input raises :class:`~nnxp.errors.DatasetError` naming
the file and the problem.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nnxp.errors import DatasetError
from nnxp.files import input_file, read_input
from nnxp.limits import human

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

MAX_BYTES = 1_000_000_000
"""What an IDX file (on disk, and decompressed) may hold unless the caller says otherwise."""

Shape = tuple[int | None, ...]
"""Required dimensions: a size, or None for any size (``(None, 28, 28)``: N images 28x28)."""

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


def _check_claim(
    source: str, claim: str, dtype: np.dtype, shape: tuple[int, ...], want: Shape | None,
    want_dtype: np.dtype | None,
) -> None:
    """Refuse a header whose data type or dimensions are not the caller's."""
    right = "check that it is the right file"
    if want_dtype is not None and dtype != want_dtype:
        raise DatasetError(
            f"{source}: {claim}, not the {np.dtype(want_dtype).name} data expected; {right}"
        )
    if want is not None and (
        len(shape) != len(want)
        or any(w is not None and w != n for w, n in zip(want, shape, strict=True))
    ):
        shown = "x".join("N" if w is None else str(w) for w in want)
        raise DatasetError(f"{source}: {claim}, not the {shown} expected; {right}")


def _parse(
    f: BinaryIO, source: str, size: int, gz: bool, *, want: Shape | None = None,
    want_dtype: np.dtype | None = None, max_bytes: int = MAX_BYTES,
) -> np.ndarray:
    """Parse one IDX stream of ``size`` bytes on disk (compressed size when ``gz``)."""
    dtype, shape, header = _read_header(f, source)
    claim = f"header claims {'x'.join(map(str, shape))} {dtype.name} items"
    _check_claim(source, claim, dtype, shape, want, want_dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if gz:
        if nbytes > size * DEFLATE_MAX_RATIO:
            raise _error(source, f"{claim} ({nbytes} bytes), more than {size} gz bytes can hold")
        if nbytes > max_bytes:
            raise _error(
                source, f"{claim} ({human(nbytes)}), more than the {human(max_bytes)} allowed"
            )
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


def _parse_any(raw: BinaryIO, source: str, size: int, **rules: object) -> np.ndarray:
    """Dispatch on the first two bytes: gzip or raw IDX (``rules``: see :func:`read_idx`)."""
    gz = raw.read(2) == GZIP_MAGIC
    raw.seek(0)
    if not gz:
        return _parse(raw, source, size, gz=False, **rules)  # type: ignore[arg-type]
    try:
        with gzip.GzipFile(fileobj=raw, mode="rb") as f:
            return _parse(f, source, size, gz=True, **rules)  # type: ignore[arg-type]
    except (OSError, EOFError, zlib.error) as exc:
        raise _error(source, f"damaged gzip data ({exc})") from None


def checked_file(
    path: str | os.PathLike[str], what: str, max_bytes: int,
    hint: str = "; check the path",
) -> Path:
    """``path`` resolved when it is a regular file of at most ``max_bytes``
    (:func:`nnxp.files.input_file`), else DatasetError; checked before its identity (size,
    modification time) is taken for a cache key."""
    return input_file(path, what, max_bytes, hint, DatasetError)


def read_bytes(
    path: str | os.PathLike[str], what: str, max_bytes: int,
    hint: str = "; check the path",
) -> bytes:
    """The bytes of the regular file ``path`` (:func:`nnxp.files.read_input`), its
    refusals (missing, a dangling link, a FIFO, a device, a directory, larger than
    ``max_bytes``) raised as DatasetError; ``what`` names the file in messages."""
    return read_input(path, what, max_bytes, hint, DatasetError)


def read_idx(
    path: str | os.PathLike[str], *, shape: Shape | None = None,
    dtype: np.dtype | type | None = None, max_bytes: int = MAX_BYTES, what: str = "IDX file",
) -> np.ndarray:
    """The array an IDX file holds (gz or raw), in native byte order and writable.

    ``shape`` and ``dtype`` are what the header must declare, and ``max_bytes`` bounds the
    file and the data its header claims: all checked before any data is read. Raises
    DatasetError naming the file when it is missing, not a regular file, too large,
    unreadable or malformed.
    """
    data = read_bytes(path, what, max_bytes)
    return parse_idx(data, os.fspath(path), shape=shape, dtype=dtype, max_bytes=max_bytes)


def parse_idx(
    data: bytes, source: str = "<bytes>", *, shape: Shape | None = None,
    dtype: np.dtype | type | None = None, max_bytes: int = MAX_BYTES,
) -> np.ndarray:
    """The array an in-memory IDX file (gz or raw) holds; ``source`` names it in errors.
    ``shape``, ``dtype`` and ``max_bytes`` as for :func:`read_idx`."""
    want = None if dtype is None else np.dtype(dtype).newbyteorder(">")
    return _parse_any(
        io.BytesIO(data), source, len(data), want=shape, want_dtype=want, max_bytes=max_bytes
    )
