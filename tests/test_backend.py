"""The backend module: arrays in and out, one seed giving the same weights everywhere,
and a clear reason when a backend cannot run."""

import builtins
import subprocess
import sys

import numpy as np
import pytest

import nnxp.backends.cupy as cupy_adapter
from nnxp import BackendUnavailable, NnxpError, available_backends, get_backend
from nnxp.backends import BACKEND_NAMES, backend_of, backend_status, to_numpy
from tests.helpers import assert_close


def test_asarray_round_trip(backend):
    host = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    arr = backend.asarray(host, dtype="float32")
    assert_close(arr, host.astype(np.float32), backend, dtype=backend.xp.float32)
    assert to_numpy(arr).dtype == np.float32
    assert backend.to_numpy(backend.asarray(host)).dtype == np.float64


def test_default_dtype_and_zeros(backend):
    be32 = backend.with_dtype("float32")
    z = be32.zeros((2, 3))
    assert_close(z, np.zeros((2, 3)), be32, dtype=backend.xp.float32)


def test_seeded_draws_identical_to_host(backend):
    draws = backend.randn((3, 4), backend.rng(7), dtype="float64")
    expected = np.random.Generator(np.random.PCG64(7)).standard_normal((3, 4))
    assert_close(draws, expected, backend, rtol=0, atol=0)


def test_backend_of_recovers_namespace_and_device(backend):
    arr = backend.asarray(np.ones(3), dtype="float64")
    found = backend_of(arr)
    assert found.xp is backend.xp and found.device == backend.device and found.name == backend.name


def test_adopt_moves_host_arrays_and_casts_floats_only(backend):
    x = backend.adopt(np.ones((2, 2)), "float32")
    assert_close(x, np.ones((2, 2)), backend, dtype=backend.xp.float32)
    labels = backend.adopt(np.array([1, 2], dtype=np.int64), "float32")
    assert labels.dtype == backend.xp.int64


def test_synchronize_returns_once_queued_work_is_done(backend):
    x = backend.asarray(np.arange(6.0).reshape(2, 3))
    y = backend.xp.matmul(x, backend.xp.matrix_transpose(x))
    assert backend.synchronize() is None
    if backend.name == "cupy":
        import cupy

        assert cupy.cuda.get_current_stream().done
    assert to_numpy(y).tolist() == [[5.0, 14.0], [14.0, 50.0]]


@pytest.mark.host
def test_unknown_backend_names_the_choices():
    with pytest.raises(BackendUnavailable, match="unknown backend 'tensorflow'.*numpy.*jax"):
        get_backend("tensorflow")
    assert issubclass(BackendUnavailable, NnxpError)


@pytest.mark.host
def test_bad_dtype():
    with pytest.raises(ValueError, match="unknown dtype 'bfloat16': use one of float16, float32, "
                       "float64"):
        get_backend("numpy", dtype="bfloat16")


@pytest.mark.host
def test_numpy_always_available():
    assert available_backends()[0] == "numpy"
    status = backend_status()
    assert set(status) == set(BACKEND_NAMES)
    for reason in status.values():
        assert reason is None or "\n" not in reason


@pytest.fixture
def cupy_reason(monkeypatch):
    """get_backend("cupy")'s one-line refusal, probed afresh (the probe's answer is cached)."""

    def probe() -> str:
        cupy_adapter.cupy_status.cache_clear()
        try:
            with pytest.raises(BackendUnavailable) as info:
                get_backend("cupy")
        finally:
            cupy_adapter.cupy_status.cache_clear()
        assert "\n" not in str(info.value)
        return str(info.value)

    return probe


@pytest.mark.host
def test_cupy_not_installed_gives_the_extra(monkeypatch, cupy_reason):
    real_import = builtins.__import__

    def refuse_cupy(name, *args, **kwargs):
        if name == "cupy" or name.startswith("cupy."):
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse_cupy)
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    assert "nnxp[cupy]" in cupy_reason()


@pytest.mark.host
def test_cupy_without_device_gives_driver_reason(monkeypatch, cupy_reason):
    class FakeRuntime:
        @staticmethod
        def getDeviceCount():
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected\nmore")

    class FakeCupy:
        __name__ = "cupy"

        @staticmethod
        def is_available():
            return False

        class cuda:
            runtime = FakeRuntime

    monkeypatch.setitem(sys.modules, "cupy", FakeCupy)
    assert "no CUDA-capable device" in cupy_reason()


@pytest.mark.host
def test_probing_cupy_never_crashes_the_process():
    code = "from nnxp.backends import backend_status; print(backend_status()['cupy'] or 'ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_backend_under_test_is_usable_or_says_why_in_one_line(request):
    name = request.config.getoption("--backend")
    try:
        be = get_backend(name, device=request.config.getoption("--device"))
    except BackendUnavailable as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and name.split("_")[0] in reason.lower()
    else:
        assert be.name == name


def test_device_name_is_what_get_backend_takes(backend):
    again = get_backend(backend.name, device=backend.device_name)
    assert again.device == backend.device
    assert "(" not in backend.device_name
