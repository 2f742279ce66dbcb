"""Each convolution and pooling kernel, called directly, against its Array API reference.

The kernels (:mod:`nnxp.kernels.numba_conv` for NumPy, :mod:`nnxp.kernels.cupy` for CuPy) are
called themselves, not through the fusable function (which would fall back to the reference
and pass whatever the kernel did): a kernel that declines an input it claims fails. Shapes
cover the book's nets, strides, padding, one channel and many, non-square filters and
images, float32 and float64, NaN and ties; inputs are handed over both as plain (N, C, H, W)
arrays and as the channels-last views the kernels themselves return. Then the nets: a
training step with the kernels equals the reference's.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from nnxp.backends import registry
from nnxp.conv import conv_backward, conv_forward, max_pool, max_pool_backward
from nnxp.kernels.dispatch import use_fused
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from tests.helpers import assert_close

CONV = {fn.__name__: fn for fn in (conv_forward, conv_backward, max_pool, max_pool_backward)}
KERNELS = {"numba_conv": set(CONV), "cupy": set(CONV)}
"""The conv kernels each module has."""

RTOL = {"float32": 2e-5, "float64": 1e-12}
CONV_CASES = [
    # N, C, H, W, FN, FH, FW, stride, pad
    (2, 1, 28, 28, 30, 5, 5, 1, 0),  # SimpleConvNet
    (2, 1, 28, 28, 16, 3, 3, 1, 1),  # DeepConvNet's first layer
    (2, 16, 14, 14, 32, 3, 3, 1, 2),  # its fourth: pad 2
    (3, 3, 7, 6, 4, 3, 2, 1, 1),  # non-square filter and image
    (2, 2, 9, 7, 3, 3, 3, 2, 1),  # stride 2
    (1, 4, 4, 4, 2, 4, 4, 1, 0),  # filter as large as the image
    (2, 3, 5, 5, 2, 1, 1, 1, 0),  # 1x1
    (1, 2, 6, 6, 3, 3, 3, 1, 3),  # pad as large as the filter
    (2, 16, 10, 10, 16, 3, 3, 1, 1),  # DeepConvNet's second: as many channels as filters
    (2, 8, 9, 9, 4, 3, 3, 1, 2),  # more channels than filters, pad 2
]
"""NumPy's kernel takes dx by the flipped-filter convolution where a layer has at least as
many channels as filters (stride 1, pad below the filter's size), by col2im otherwise: the
cases cover both."""
POOL_CASES = [
    # N, C, H, W, pool_h, pool_w, stride, pad
    (2, 30, 24, 24, 2, 2, 2, 0),  # SimpleConvNet
    (2, 16, 9, 9, 2, 2, 2, 0),  # odd size: a last row and column no window covers
    (2, 3, 8, 8, 2, 2, 2, 1),  # padded
    (2, 3, 7, 9, 3, 3, 2, 1),  # overlapping windows
    (1, 2, 5, 5, 2, 3, 1, 0),  # stride 1
]
DECLINES: set[tuple[str, str, str]] = set()
"""(module, kernel, input) a module documents declining: none."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``module``: each kernel module the session's backend offers with conv kernels."""
    if "module" not in metafunc.fixturenames:
        return
    adapter = registry.adapter(metafunc.config.getoption("--backend"))
    offered = {m.rsplit(".", 1)[1] for mode in ("auto", "numba")
               for m in adapter.kernel_modules(mode)}
    names = sorted(n for n in offered if n in KERNELS)
    if not names:
        names = [pytest.param(None, marks=pytest.mark.skip(
            reason=f"no conv kernels run on {adapter.name} arrays"))]
    metafunc.parametrize("module", names, indirect=True)


@pytest.fixture
def module(request, backend):
    """(name, kernels) of a conv kernel module for the backend's arrays."""
    name = request.param
    found = importlib.import_module(f"nnxp.kernels.{name}").kernels()
    return name, {k: v for k, v in found.items() if k in CONV}


def _run(module, name: str, *args, declines: str = ""):
    """The module's kernel on args; it must not decline them unless documented."""
    module_name, kernels = module
    out = kernels[name](*args)
    if out is NotImplemented and (module_name, name, declines) in DECLINES:
        return None
    assert out is not NotImplemented, f"{module_name}.{name} declined {declines or 'its input'}"
    return out


def _host(seed: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_each_module_has_the_conv_kernels(module) -> None:
    assert set(module[1]) == KERNELS[module[0]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_kernels_match_the_reference(backend, module, case, dtype) -> None:
    n, c, h, w, fn, fh, fw, stride, pad = case
    x = backend.asarray(_host(1, (n, c, h, w), dtype))
    W = backend.asarray(_host(2, (fn, c, fh, fw), dtype))
    b = backend.asarray(_host(3, (fn,), dtype))
    out, col = _run(module, "conv_forward", x, W, b, stride, pad)
    ref_out, ref_col = conv_forward.reference(x, W, b, stride, pad)
    assert_close(out, backend.to_numpy(ref_out), backend, rtol=RTOL[dtype], atol=RTOL[dtype])
    dout = backend.asarray(_host(4, tuple(ref_out.shape), dtype))
    for need_dx in (False, True):
        got = _run(module, "conv_backward", dout, x, col, W, stride, pad, need_dx)
        want = conv_backward.reference(dout, x, ref_col, W, stride, pad, need_dx)
        for actual, expected in zip(got, want, strict=True):
            if expected is None:
                assert actual is None
            else:
                assert_close(actual, backend.to_numpy(expected), backend,
                             rtol=RTOL[dtype], atol=RTOL[dtype] * 10)


def test_conv_kernels_take_their_own_outputs(backend, module) -> None:
    """A kernel's output (channels-last memory) fed to the next kernel, as in a net."""
    x = backend.asarray(_host(5, (2, 3, 10, 10), "float64"))
    W1 = backend.asarray(_host(6, (4, 3, 3, 3), "float64"))
    W2 = backend.asarray(_host(7, (5, 4, 3, 3), "float64"))
    b1, b2 = backend.zeros((4,)), backend.zeros((5,))
    h, _ = _run(module, "conv_forward", x, W1, b1, 1, 1)
    p, arg = _run(module, "max_pool", h, 2, 2, 2, 0)
    y, _ = _run(module, "conv_forward", p, W2, b2, 1, 1)
    ref_h = conv_forward.reference(x, W1, b1, 1, 1)[0]
    ref_p, ref_arg = max_pool.reference(ref_h, 2, 2, 2, 0)
    ref_y, ref_col = conv_forward.reference(ref_p, W2, b2, 1, 1)
    assert_close(y, backend.to_numpy(ref_y), backend, rtol=1e-12, atol=1e-12)
    dy = backend.asarray(_host(8, tuple(ref_y.shape), "float64"))
    dp = _run(module, "conv_backward", dy, p, None, W2, 1, 1, True)[0]
    ref_dp = conv_backward.reference(dy, ref_p, ref_col, W2, 1, 1, True)[0]
    assert_close(dp, backend.to_numpy(ref_dp), backend, rtol=1e-12, atol=1e-12)
    dh = _run(module, "max_pool_backward", dp, arg, tuple(h.shape), 2, 2, 2, 0)
    ref_dh = max_pool_backward.reference(ref_dp, ref_arg, tuple(h.shape), 2, 2, 2, 0)
    assert_close(dh, backend.to_numpy(ref_dh), backend, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_kernels_match_the_reference(backend, module, case, dtype) -> None:
    n, c, h, w, ph, pw, stride, pad = case
    host = _host(9, (n, c, h, w), dtype)
    host[0, 0, :2, :2] = 1.5  # a tie: the first cell wins
    host[-1, -1, 0, 0] = np.nan  # NaN wins the maximum and freezes the index
    host[0, -1] = -np.abs(host[0, -1])  # all negative: padding's zeros win
    x = backend.asarray(host)
    out, arg = _run(module, "max_pool", x, ph, pw, stride, pad)
    ref_out, ref_arg = max_pool.reference(x, ph, pw, stride, pad)
    assert_close(out, backend.to_numpy(ref_out), backend)
    assert np.array_equal(backend.to_numpy(arg), backend.to_numpy(ref_arg))
    dout = backend.asarray(_host(10, tuple(ref_out.shape), dtype))
    dx = _run(module, "max_pool_backward", dout, arg, (n, c, h, w), ph, pw, stride, pad)
    ref_dx = max_pool_backward.reference(dout, ref_arg, (n, c, h, w), ph, pw, stride, pad)
    assert_close(dx, backend.to_numpy(ref_dx), backend, rtol=RTOL[dtype])


def test_kernels_decline_what_they_do_not_handle(backend, module) -> None:
    """float16 and mixed dtypes go to the reference, never to a wrong value."""
    kernels = module[1]
    half = backend.asarray(np.ones((1, 1, 4, 4), dtype=np.float16))
    W = backend.asarray(np.ones((1, 1, 3, 3), dtype=np.float32))
    b = backend.asarray(np.zeros(1, dtype=np.float32))
    assert kernels["conv_forward"](half, W, b, 1, 0) is NotImplemented
    x64 = backend.asarray(np.ones((1, 1, 4, 4)))
    assert kernels["conv_forward"](x64, W, b, 1, 0) is NotImplemented
    assert kernels["max_pool"](half, 2, 2, 2, 0) is NotImplemented


def test_kernels_decline_shapes_that_do_not_fit(backend, module) -> None:
    """A gradient whose shape does not fit the images (a caller's mistake) goes to the
    reference, which raises or computes what it computes: the kernels never index past an
    array by trusting it (NumPy's loops run without bounds checks)."""
    kernels = module[1]
    x = backend.asarray(_host(12, (2, 3, 8, 8), "float64"))
    W = backend.asarray(_host(13, (4, 3, 3, 3), "float64"))
    for shape in [(2, 4, 9, 9), (2, 4, 6, 5), (3, 4, 6, 6), (2, 5, 6, 6)]:
        dout = backend.asarray(np.ones(shape))
        for need_dx in (False, True):
            assert kernels["conv_backward"](dout, x, None, W, 1, 0, need_dx) is NotImplemented
    big = backend.asarray(np.ones((2, 3, 9, 9)))
    arg = backend.asarray(np.zeros((2, 3, 9, 9), dtype=np.int64))
    assert kernels["max_pool_backward"](big, arg, (2, 3, 8, 8), 2, 2, 2, 0) is NotImplemented
    wild = backend.asarray(np.full((2, 3, 4, 4), 99, dtype=np.int64))
    dx = kernels["max_pool_backward"](backend.asarray(np.ones((2, 3, 4, 4))), wild,
                                      (2, 3, 8, 8), 2, 2, 2, 0)
    assert float(backend.xp.sum(dx)) == 0.0  # an index no cell has routes nothing, as the reference


@pytest.mark.parametrize("net_class", [SimpleConvNet, DeepConvNet])
def test_training_steps_with_the_kernels_follow_the_reference(backend, net_class) -> None:
    """Gradients and losses of a few Adam steps of each book conv net, kernels on and off."""
    from nnxp.optim import Adam

    rng = np.random.default_rng(11)
    x = rng.random((6, 1, 28, 28))
    t = rng.integers(0, 10, 6)
    runs = {}
    for mode in ("auto", "off"):
        with use_fused(mode):
            net = net_class(backend=backend, dtype="float64", seed=3)
            optimizer = Adam(0.001)
            losses = []
            for _ in range(3):
                grads = net.gradient(backend.asarray(x), backend.asarray(t))
                losses.append(float(net.loss(backend.asarray(x), backend.asarray(t))))
                optimizer.update(net.params, grads)
            runs[mode] = losses, {k: backend.to_numpy(v) for k, v in grads.items()}
    np.testing.assert_allclose(runs["auto"][0], runs["off"][0], rtol=1e-10)
    for key, value in runs["off"][1].items():
        np.testing.assert_allclose(runs["auto"][1][key], value, rtol=1e-8, atol=1e-12,
                                   err_msg=key)
