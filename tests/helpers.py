"""Assertions made in the namespace under test, against references computed in NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnxp.backends import Backend, array_namespace, device, to_numpy


def assert_close(
    actual: Any, expected: Any, backend: Backend, *, rtol: float = 1e-7, atol: float = 0.0,
    dtype: Any = None,
) -> None:
    """actual is an array of ``backend`` (namespace, device, dtype) and equals expected."""
    assert array_namespace(actual) is backend.xp, f"array of {array_namespace(actual)}"
    assert device(actual) == backend.device, f"on {device(actual)}, not {backend.device}"
    if dtype is not None:
        assert actual.dtype == dtype, f"dtype {actual.dtype}, expected {dtype}"
    expected = np.asarray(expected)
    assert tuple(actual.shape) == expected.shape, f"shape {tuple(actual.shape)} != {expected.shape}"
    np.testing.assert_allclose(to_numpy(actual), expected, rtol=rtol, atol=atol)
