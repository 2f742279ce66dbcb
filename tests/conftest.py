"""One option picks the array library under test: ``pytest --backend NAME [--device D]``.

Tests that take the ``backend`` or ``xp`` fixture run on it (also in a module marked
``host``); other tests marked ``host`` are backend-independent and run once, in the numpy
session. On a backend that cannot run here
(CuPy without a CUDA device), every backend test is skipped with the reason.

The tests in ``tests/test_examples*.py`` run the book-companion scripts in child processes
(seconds each), those in ``tests/test_mpi*.py`` run jobs under ``mpiexec -n 2``: they are
marked ``examples`` and ``mpi`` and left out of a run (deselected) unless it names their file
(``pytest tests/test_examples.py``) or chooses by marker (``-m examples``); ``nox -s
examples`` and ``nox -s tests-mpi`` run them.
"""

from __future__ import annotations

import pytest

from nnxp.backends import BackendUnavailable, get_backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", default="numpy", help="array library under test")
    parser.addoption("--device", default=None, help="device of that library (e.g. device1)")


def _backend_or_reason(config: pytest.Config):
    name = config.getoption("--backend")
    try:
        return get_backend(name, device=config.getoption("--device"), dtype="float64"), None
    except BackendUnavailable as exc:
        return None, str(exc)


_CLOSURE_IDIOM = ("the book's idiom numerical_gradient(lambda _: f(), W) perturbs W in place for "
                  "f to see; {name} arrays are immutable, so f never sees it (a net's own "
                  "numerical_gradient goes through its params and is tested)")
NEEDS_IN_PLACE = {
    "test_book_idiom_through_a_closure": _CLOSURE_IDIOM,
    "test_convolution_backward_matches_numerical_gradient": _CLOSURE_IDIOM,
    "test_pooling_forward_and_backward": _CLOSURE_IDIOM,
    "test_batchnorm_backward_matches_numerical_gradient": _CLOSURE_IDIOM,
    "test_sgd_updates_its_own_array_in_place_after_the_first_step":
        "{name} arrays are immutable: SGD makes a new array each step (tested for values "
        "elsewhere), it cannot reuse one in place",
}
"""Tests of in-place writes, by function name, skipped with the reason on immutable backends."""


OWN_SESSIONS = {"test_examples*.py": "examples", "test_mpi*.py": "mpi"}
"""Test files that their own nox session runs, and the marker each file's tests get."""


def pytest_itemcollected(item: pytest.Item) -> None:
    for pattern, marker in OWN_SESSIONS.items():
        if item.path.match(pattern):
            item.add_marker(getattr(pytest.mark, marker))


def _named_on_the_command_line(config: pytest.Config, path) -> bool:
    here = config.invocation_params.dir
    return any((here / arg.split("::")[0]).resolve() == path for arg in config.args)


def _leave_out_own_sessions(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``examples`` and ``mpi`` tests unless the run names their file or a marker
    expression."""
    if config.option.markexpr:
        return
    named = {path: _named_on_the_command_line(config, path) for path in {i.path for i in items}}
    left_out = [i for i in items if not named[i.path]
                and any(i.get_closest_marker(m) for m in OWN_SESSIONS.values())]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        gone = {id(i) for i in left_out}
        items[:] = [i for i in items if id(i) not in gone]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _leave_out_own_sessions(config, items)
    name = config.getoption("--backend")
    be, reason = _backend_or_reason(config)
    immutable = be is not None and not be.mutable
    gpu = name == "cupy" or str(config.getoption("--device") or "").startswith("cuda")
    for item in items:
        uses_backend = {"backend", "xp"} & set(getattr(item, "fixturenames", ()))
        host_only = item.get_closest_marker("host") and not uses_backend
        if host_only and (name != "numpy" or config.getoption("--device")):
            why = "backend-independent: runs in the numpy session"
            item.add_marker(pytest.mark.skip(reason=why))
        elif uses_backend and gpu:
            item.add_marker(pytest.mark.gpu)
        why_in_place = NEEDS_IN_PLACE.get(getattr(item, "originalname", item.name))
        if uses_backend and immutable and why_in_place:
            item.add_marker(pytest.mark.skip(reason=why_in_place.format(name=name)))
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


@pytest.fixture(scope="session")
def example_book_dir(tmp_path_factory):
    """A folder laid out like the book's repository, for NNXP_BOOK_DIR: the user's, else
    ../shared/data/book beside the project, else random weights in the book's shapes."""
    from tests.example_runner import find_book_dir, make_book_dir

    return find_book_dir() or make_book_dir(tmp_path_factory.mktemp("book"))


@pytest.fixture
def tiny_data(monkeypatch):
    """load_dataset gives 10 separable classes of 64 features (500 train, 200 test; 1x8x8
    images when asked for flatten=False), so a training case takes a fraction of a second.
    The list it returns records each call (empty: no data was loaded)."""
    from nnxp import datasets
    from nnxp.errors import DatasetError
    from tests.blobs import blobs

    calls = []

    def load_dataset(name="auto", **kwargs):
        calls.append((name, kwargs))
        if name not in datasets.DATASETS:
            raise DatasetError(f"unknown dataset {name!r}")
        (x, t), (x_test, t_test) = blobs(n_train=500, n_test=200, features=64, classes=10,
                                         seed=1)
        if not kwargs.get("flatten", True):
            x, x_test = x.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
        return ((x, t), (x_test, t_test)), "mnist-5k"

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A clean current folder and cache, so nothing a case writes escapes it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("NNXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.delenv("NNXP_DATA_DIR", raising=False)
    return work


@pytest.fixture
def mnist_shaped(monkeypatch):
    """load_dataset gives 60 train and 50 test random MNIST-shaped images (784 or 1x28x28),
    of digits' density. The list it returns records each call."""
    import numpy as np

    from nnxp import datasets

    calls = []

    def load_dataset(name="auto", **kwargs):
        calls.append((name, kwargs))
        rng = np.random.default_rng(2)
        x = (rng.random((110, 784)) * (rng.random((110, 784)) < 0.2)).astype(np.float32)
        t = rng.integers(0, 10, 110).astype(np.uint8)
        if not kwargs.get("flatten", True):
            x = x.reshape(-1, 1, 28, 28)
        return ((x[:60], t[:60]), (x[60:], t[60:])), "mnist-5k"

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls
