#!/usr/bin/env python3
"""Fuzz target: the book-weight unpickler on arbitrary bytes. A dict of arrays or one
ModelFileError are the only admitted outcomes."""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import fuzz  # noqa: E402

with atheris.instrument_imports(include=["nnxp", "pickletools"]):
    import pickletools  # noqa: F401

    from nnxp.book_weights import unpickle_arrays
    from nnxp.errors import ModelFileError


def target(data: bytes) -> None:
    """Unpickle ``data``; a loaded result must be a dict of str to NumPy arrays."""
    import numpy as np

    arrays = unpickle_arrays(data, "fuzz.pkl")
    if type(arrays) is not dict or not all(
            type(k) is str and type(v) is np.ndarray for k, v in arrays.items()):
        raise AssertionError("unpickle_arrays returned something other than a dict of arrays")


if __name__ == "__main__":
    fuzz(target, (ModelFileError,))
