"""A grayscale image from a PNG file the user names (``nnxp plot filter-responses --image``),
read as hostile input: a regular file within a size cap, the PNG signature and the size its
header declares checked before anything is decoded, decoded by ``matplotlib.image``, and
turned to one channel of floats in [0, 1]."""

from __future__ import annotations

import io
import os
import struct

import numpy as np

from nnxp.errors import NnxpError
from nnxp.files import read_input

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 32 * 2**20
"""The largest PNG file read (the book's lena_gray.png is 47 kB)."""
MAX_SIDE = 1024
"""The largest width or height accepted: a convolution's im2col holds filter_size^2 values per
pixel (25 for the book's filters), 100 MB at 1024 x 1024."""


def png_size(data: bytes, name: str) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of the PNG bytes ``data``, or a one-line
    NnxpError when they are not a PNG."""
    if data[:8] != PNG_SIGNATURE:
        raise NnxpError(f"image {name} is not a PNG file (its first bytes are "
                        f"{data[:8]!r:.40}); convert it to PNG")
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise NnxpError(f"image {name} is a truncated or damaged PNG (no IHDR header)")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def to_gray(pixels: np.ndarray, name: str) -> np.ndarray:
    """One channel of floats in [0, 1]: gray kept, gray+alpha and RGB(A) converted with the
    ITU-R 601 luma weights (alpha dropped), integers scaled by their maximum."""
    if pixels.dtype.kind in "ui":
        pixels = pixels / float(np.iinfo(pixels.dtype).max)
    pixels = pixels.astype(np.float64)
    if pixels.ndim == 3 and pixels.shape[2] in (1, 2):
        pixels = pixels[:, :, 0]
    elif pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        pixels = pixels[:, :, :3] @ np.array([0.299, 0.587, 0.114])
    if pixels.ndim != 2:
        raise NnxpError(f"image {name} has pixels of shape {pixels.shape}, not an image")
    if not np.isfinite(pixels).all():
        raise NnxpError(f"image {name} has pixels that are not finite numbers")
    return pixels


def read_gray_png(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> np.ndarray:
    """The PNG at ``path`` as a 2-D float64 array in [0, 1] (see the module docstring); a
    one-line NnxpError for anything else (a FIFO, a folder, a huge file or image, a JPEG, a
    damaged PNG)."""
    name = os.fspath(path)
    data = read_input(path, "PNG image", MAX_PNG_BYTES, "; name a PNG file")
    width, height = png_size(data, name)
    if not (1 <= width <= max_side and 1 <= height <= max_side):
        raise NnxpError(f"image {name} is {width} x {height} pixels; the most is {max_side} x "
                        f"{max_side}: scale it down")
    try:
        from matplotlib import image as mpimg
    except ImportError:
        from nnxp.plot.canvas import MISSING

        raise NnxpError(MISSING) from None
    try:
        pixels = np.asarray(mpimg.imread(io.BytesIO(data), format="png"))
    except MemoryError:
        raise NnxpError(f"image {name} does not fit in memory") from None
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        reason = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise NnxpError(f"image {name} is a damaged PNG ({reason})") from None
    if pixels.shape[:2] != (height, width):
        raise NnxpError(f"image {name} decodes to {pixels.shape[:2]}, not the {height} x {width} "
                        "its header declares")
    return to_gray(pixels, name)
