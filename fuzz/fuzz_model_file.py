#!/usr/bin/env python3
"""Fuzz target: the model-file reader (nnxp.io.read_model_file) on arbitrary bytes written
to a temporary .npz. An NnxpError is the only admitted refusal."""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import fuzz  # noqa: E402

with atheris.instrument_imports(include=["nnxp", "zipfile", "numpy.lib._format_impl",
                                         "numpy.lib._npyio_impl"]):
    import zipfile  # noqa: F401

    from nnxp.errors import NnxpError
    from nnxp.io import read_model_file

FOLDER = tempfile.mkdtemp(prefix="nnxp-fuzz-")
PATH = os.path.join(FOLDER, "model.npz")


def target(data: bytes) -> None:
    """Write ``data`` as a model file and read it back."""
    with open(PATH, "wb") as f:
        f.write(data)
    read_model_file(PATH)


if __name__ == "__main__":
    fuzz(target, (NnxpError,))
