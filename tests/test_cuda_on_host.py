"""nnxp's CuPy kernels run on the CPU: their CUDA source compiled as C++, CuPy played by NumPy.

Without a GPU, :mod:`nnxp.kernels.cupy` cannot run. Here it is imported against a stand-in
``cupy`` module whose arrays are NumPy arrays and whose ``RawKernel`` runs the very source of
:mod:`nnxp.kernels.cuda_source`, compiled by the host's C++ compiler with CUDA's few keywords
defined away: each launch checks its arguments against the kernel's C signature (count,
element types, scalar types, C-contiguous memory) and runs the kernel's threads one after
another (a grid-stride kernel as one thread covering every index). The Python around the
kernels and the kernels' index arithmetic are then held to the Array API references, and a
compiler that fails shows the fallback: one warning line, the reference's result.
What stays unchecked: NVRTC itself, the device's rounding of exp and log, real parallelism.
"""

from __future__ import annotations

import ctypes
import importlib
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

from nnxp.backends import registry
from nnxp.conv import conv_backward, conv_forward, max_pool, max_pool_backward
from nnxp.functions import softmax_and_cross_entropy, softmax_cross_entropy_grad
from nnxp.kernels import dispatch
from nnxp.kernels.cuda_source import source, variants
from nnxp.ops import relu_and_mask, subtract_scaled, zero_where
from tests.test_conv_kernels import CONV_CASES, POOL_CASES

pytestmark = pytest.mark.host

PRELUDE = r"""
#include <cmath>
using std::exp;
using std::log;
struct nnxp_dim { unsigned int x, y, z; };
static nnxp_dim blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __shared__ static
#define __syncthreads()
template <class T> T atomicAdd(T* p, T v) { T old = *p; *p += v; return old; }
extern "C" void nnxp_set_launch(unsigned int block, unsigned int threads, unsigned int grid) {
    blockIdx.x = block; threadIdx.x = 0; blockDim.x = threads; gridDim.x = grid;
}
"""
POINTEES = {"float": np.float32, "double": np.float64, "bool": np.bool_, "signed char": np.int8,
            "short": np.int16, "int": np.int32, "long long": np.int64, "unsigned char": np.uint8,
            "unsigned short": np.uint16, "unsigned int": np.uint32,
            "unsigned long long": np.uint64}
SCALARS = {"float": (np.float32, ctypes.c_float), "double": (np.float64, ctypes.c_double),
           "long long": (np.int64, ctypes.c_longlong)}


@pytest.fixture(scope="module")
def host_library(tmp_path_factory) -> ctypes.CDLL:
    """Every kernel variant compiled for the CPU into one shared library."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("no C++ compiler to build the kernels for the CPU")
    folder = tmp_path_factory.mktemp("host_cuda")
    path = folder / "kernels.cpp"
    path.write_text(PRELUDE + "\n".join(source(*v)[0] for v in variants()))
    lib = folder / "kernels.so"
    proc = subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-ffp-contract=off", "-o",
                           str(lib), str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return ctypes.CDLL(str(lib))


def _parameters(code: str, name: str) -> list[tuple[str, bool]]:
    """(C type, is pointer) of each parameter of function ``name`` in code."""
    found = re.search(rf"void {name}\((.*?)\)\s*{{", code, re.S)
    assert found, name
    out = []
    for param in found.group(1).split(","):
        words = param.replace("const ", "").strip().rsplit(None, 1)[0]
        out.append((words.rstrip("*").strip(), words.endswith("*")))
    return out


class FakeArray(np.ndarray):
    """A NumPy array standing in for ``cupy.ndarray``."""


class HostRawKernel:
    """``cupy.RawKernel`` running the source compiled for the CPU; ``fail`` makes compile raise."""

    library: ctypes.CDLL | None = None
    fail: str | None = None
    compiled: list[str] = []

    def __init__(self, code: str, name: str, options: tuple[str, ...] = ()) -> None:
        assert isinstance(options, tuple)
        self.code, self.name, self.params = code, name, _parameters(code, name)

    def compile(self) -> None:
        if HostRawKernel.fail is not None:
            raise RuntimeError(HostRawKernel.fail)
        HostRawKernel.compiled.append(self.name)

    def __call__(self, grid: tuple[int, ...], block: tuple[int, ...], args: tuple) -> None:
        assert len(grid) == 1 and len(block) == 1 and grid[0] >= 1 and 1 <= block[0] <= 1024
        assert len(args) == len(self.params), (self.name, len(args), len(self.params))
        c_args = []
        for arg, (ctype, pointer) in zip(args, self.params, strict=True):
            if pointer:
                assert type(arg) is FakeArray and arg.dtype == POINTEES[ctype], (self.name, ctype)
                assert arg.flags.c_contiguous, f"{self.name}: a strided array indexed flat"
                c_args.append(ctypes.c_void_p(arg.ctypes.data))
            else:
                kind, c_kind = SCALARS[ctype]
                assert type(arg) is kind, (self.name, ctype, type(arg))
                c_args.append(c_kind(arg))
        fn = getattr(self.library, self.name)
        threads = grid[0] * block[0]
        strided = "gridDim" in self.code
        for b in range(1 if strided else threads):
            self.library.nnxp_set_launch(b, 1, 1 if strided else threads)
            fn(*c_args)


def _fake_cupy() -> types.ModuleType:
    def wrap(a: np.ndarray) -> FakeArray:
        return a.view(FakeArray)

    fake = types.ModuleType("cupy")
    fake.ndarray = FakeArray
    fake.RawKernel = HostRawKernel
    fake.ascontiguousarray = lambda a: wrap(np.ascontiguousarray(a))
    fake.empty = lambda shape, dtype: wrap(np.empty(shape, dtype=dtype))
    fake.empty_like = lambda a: wrap(np.empty_like(np.asarray(a)))
    fake.zeros = lambda shape, dtype: wrap(np.zeros(shape, dtype=dtype))
    return fake


@pytest.fixture
def cuda(host_library, monkeypatch):
    """nnxp.kernels.cupy, imported afresh against the stand-in cupy; removed afterwards."""
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(HostRawKernel, "library", host_library)
    monkeypatch.setattr(HostRawKernel, "fail", None)
    monkeypatch.setattr(HostRawKernel, "compiled", [])
    sys.modules.pop("nnxp.kernels.cupy", None)
    module = importlib.import_module("nnxp.kernels.cupy")
    yield module
    sys.modules.pop("nnxp.kernels.cupy", None)


def _forget(kind: type) -> None:
    """Drop what the registry and the dispatch cached about arrays of type kind."""
    registry._ADAPTER_BY_TYPE.pop(kind, None)
    for key in [k for k in dispatch._KERNELS if k[1] is kind]:
        del dispatch._KERNELS[key]
    dispatch.set_fused_mode(dispatch.fused_mode())


def _on(a: np.ndarray) -> FakeArray:
    return np.asarray(a).view(FakeArray)


def _draw(seed: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _close(actual, expected, rtol: float) -> None:
    assert type(actual) is FakeArray
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=rtol)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape


RTOL = {"float32": 2e-5, "float64": 1e-12}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_kernels_match_the_reference(cuda, dtype) -> None:
    host = _draw(0, (5, 7), dtype)
    host[0, :4] = [0.0, -0.0, np.inf, np.nan]
    y, mask = cuda.relu_and_mask(_on(host[:, ::2]))
    ref_y, ref_mask = relu_and_mask.reference(host[:, ::2])
    _close(y, ref_y, 0)
    assert np.array_equal(mask, ref_mask)
    _close(cuda.zero_where(_on(ref_mask), _on(host[:, ::2])), zero_where.reference(ref_mask, host[:, ::2]), 0)
    p, g = _draw(1, (13, 7), dtype), _draw(2, (13, 7), dtype)
    fake_p = _on(p.copy())
    assert cuda.subtract_scaled(fake_p, _on(g), 0.1) is fake_p
    _close(fake_p, subtract_scaled.reference(p.copy(), g, 0.1), 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("labels", ["int64", "int32", "uint8"])
def test_softmax_kernels_match_the_reference(cuda, dtype, labels) -> None:
    x = 3.0 * _draw(3, (300, 10), dtype)
    t = np.random.default_rng(4).integers(0, 10, 300).astype(labels)
    got = cuda.softmax_and_cross_entropy(_on(x), _on(t))
    if labels == "uint8":
        assert got is NotImplemented
    else:
        ref_y, ref_loss = softmax_and_cross_entropy.reference(x, t)
        _close(got[0], ref_y, RTOL[dtype])
        np.testing.assert_allclose(float(got[1]), float(ref_loss), rtol=RTOL[dtype])
    y = softmax_and_cross_entropy.reference(x, t.astype(np.int64))[0]
    t[:3] = [10, 11, 255 if labels == "uint8" else -1]  # out of range: nothing subtracted
    _close(cuda.softmax_cross_entropy_grad(_on(y), _on(t)), softmax_cross_entropy_grad.reference(y, t), 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_kernels_match_the_reference(cuda, case, dtype) -> None:
    n, c, h, w, fn, fh, fw, stride, pad = case
    x, W, b = _draw(1, (n, c, h, w), dtype), _draw(2, (fn, c, fh, fw), dtype), _draw(3, (fn,), dtype)
    out, col = cuda.conv_forward(_on(x), _on(W), _on(b), stride, pad)
    ref_out, ref_col = conv_forward.reference(x, W, b, stride, pad)
    _close(col, ref_col, 0)
    _close(out, ref_out, RTOL[dtype])
    dout = _draw(4, ref_out.shape, dtype)
    for given in (col, None):
        for need_dx in (False, True):
            got = cuda.conv_backward(_on(dout), _on(x), given, _on(W), stride, pad, need_dx)
            want = conv_backward.reference(dout, x, ref_col, W, stride, pad, need_dx)
            assert (got[0] is None) == (not need_dx)
            for actual, expected in zip(got, want, strict=True):
                if expected is not None:
                    _close(actual, expected, RTOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_kernels_match_the_reference(cuda, case, dtype) -> None:
    n, c, h, w, ph, pw, stride, pad = case
    x = _draw(9, (n, c, h, w), dtype)
    x[0, 0, :2, :2] = 1.5
    x[-1, -1, 0, 0] = np.nan
    x[-1, 0, 1, 1] = np.nan
    x[0, -1] = -np.abs(x[0, -1])
    view = np.transpose(np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))
    out, arg = cuda.max_pool(_on(view), ph, pw, stride, pad)
    ref_out, ref_arg = max_pool.reference(x, ph, pw, stride, pad)
    np.testing.assert_array_equal(np.asarray(out), ref_out)
    np.testing.assert_array_equal(np.asarray(arg), ref_arg)
    dout = _draw(10, ref_out.shape, dtype)
    dx = cuda.max_pool_backward(_on(dout), arg, (n, c, h, w), ph, pw, stride, pad)
    np.testing.assert_array_equal(
        np.asarray(dx), max_pool_backward.reference(dout, ref_arg, (n, c, h, w), ph, pw, stride, pad))


def test_kernels_decline_other_dtypes(cuda) -> None:
    half, w32 = _on(np.ones((1, 1, 4, 4), np.float16)), _on(np.ones((1, 1, 3, 3), np.float32))
    b32, x64 = _on(np.zeros(1, np.float32)), _on(np.ones((1, 1, 4, 4)))
    assert cuda.conv_forward(half, w32, _on(np.zeros(1, np.float16)), 1, 0) is NotImplemented
    assert cuda.conv_forward(x64, w32, b32, 1, 0) is NotImplemented
    assert cuda.max_pool(half, 2, 2, 2, 0) is NotImplemented
    assert cuda.relu_and_mask(half) is NotImplemented
    assert HostRawKernel.compiled == []


def test_a_kernel_that_fails_to_compile_falls_back_with_one_warning(cuda, capsys) -> None:
    """The compiler raises: one line on stderr per kernel, NotImplemented, the reference's
    values through the fusable function, and no second attempt to compile."""
    HostRawKernel.fail = "nvrtc: error: a deliberate failure\n1 error detected"
    x = _draw(5, (2, 3, 8, 8), "float64")
    W, b = _draw(6, (4, 3, 3, 3), "float64"), _draw(7, (4,), "float64")
    assert cuda.conv_forward(_on(x), _on(W), _on(b), 1, 1) is NotImplemented
    FakeArray.__module__ = "cupy"  # the dispatch finds CuPy's adapter, hence this module
    try:
        _forget(FakeArray)
        for _ in range(3):
            out, col = conv_forward(_on(x), _on(W), _on(b), 1, 1)
            y, mask = relu_and_mask(_on(x))
    finally:
        FakeArray.__module__ = __name__
        _forget(FakeArray)
    ref_out, ref_col = conv_forward.reference(x, W, b, 1, 1)
    _close(out, ref_out, 0)
    np.testing.assert_array_equal(np.asarray(y), relu_and_mask.reference(x)[0])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("nnxp: warning: CUDA kernel im2col unavailable (RuntimeError: "
                               "nvrtc: error: a deliberate failure)")
    assert "relu_and_mask" in lines[1] and "Traceback" not in "".join(lines)
    assert set(cuda._CUDA.failed) == {"im2col", "relu_and_mask"}
