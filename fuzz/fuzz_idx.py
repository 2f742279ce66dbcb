#!/usr/bin/env python3
"""Fuzz target: the IDX parser (nnxp.datasets.idx.parse_idx) on arbitrary bytes, raw or
gzip. A DatasetError (or another NnxpError) is the only admitted refusal."""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import fuzz  # noqa: E402

with atheris.instrument_imports(include=["nnxp", "gzip"]):
    import gzip  # noqa: F401

    from nnxp.datasets.idx import parse_idx
    from nnxp.errors import NnxpError


def target(data: bytes) -> None:
    """Parse ``data`` as an IDX file."""
    parse_idx(data, "fuzz.idx")


if __name__ == "__main__":
    fuzz(target, (NnxpError,))
