"""One option picks the array library under test: ``pytest --backend NAME [--device D]``.

Tests that take the ``backend`` or ``xp`` fixture run on it (also in a module marked
``host``); other tests marked ``host`` are backend-independent and run once, in the numpy
session. On a backend that cannot run here
(CuPy without a CUDA device), every backend test is skipped with the reason.
"""

from __future__ import annotations

import pytest

from nnxp.backend import BackendUnavailable, get_backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", default="numpy", help="array library under test")
    parser.addoption("--device", default=None, help="device of that library (e.g. device1)")


def _backend_or_reason(config: pytest.Config):
    name = config.getoption("--backend")
    try:
        return get_backend(name, device=config.getoption("--device"), dtype="float64"), None
    except BackendUnavailable as exc:
        return None, str(exc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = config.getoption("--backend")
    _, reason = _backend_or_reason(config)
    gpu = name == "cupy" or str(config.getoption("--device") or "").startswith("cuda")
    for item in items:
        uses_backend = {"backend", "xp"} & set(getattr(item, "fixturenames", ()))
        host_only = item.get_closest_marker("host") and not uses_backend
        if host_only and (name != "numpy" or config.getoption("--device")):
            why = "backend-independent: runs in the numpy session"
            item.add_marker(pytest.mark.skip(reason=why))
        elif uses_backend and gpu:
            item.add_marker(pytest.mark.gpu)
        if uses_backend and reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"backend {name!r} unusable here: {reason}"))


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest):
    """The Backend under test, float64 by default (nets pick their own dtype)."""
    be, reason = _backend_or_reason(request.config)
    if be is None:
        pytest.skip(reason)
    return be


@pytest.fixture(scope="session")
def xp(backend):
    """The array namespace under test."""
    return backend.xp
