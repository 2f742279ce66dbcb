"""Each fused kernel, called directly, against its Array API reference; then the dispatch.

The kernel tests call the kernel function itself (not the fusable function, which would fall
back to the reference and pass whatever the kernel did): a kernel that returns
NotImplemented for an input of the kind it claims (float32 or float64, C-contiguous, labels
in range) fails. The kernel modules tested are those the backend's adapter names (NumPy's own
and Numba's for NumPy, CUDA's for CuPy); other backends have none and skip with the reason.
Inputs: shapes from one element to the book's, float32 and float64, inf, NaN, signed zeros.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from nnxp.backends import registry
from nnxp.functions import softmax_and_cross_entropy, softmax_cross_entropy_grad
from nnxp.kernels import dispatch
from nnxp.kernels.dispatch import FUSED_MODES, fused_kernel, fused_mode, set_fused_mode, use_fused
from nnxp.models.two_layer import TwoLayerNet
from nnxp.ops import adam_update, batch_sum, matmul, relu_and_mask, subtract_scaled, zero_where
from nnxp.train import Trainer
from tests.helpers import assert_close

DTYPES = ["float32", "float64"]
SHAPES = [(1, 1), (3, 7), (100, 50), (2, 3, 4, 5), (7,)]
RTOL = {"float32": 2e-6, "float64": 1e-13}
FUSABLE = {fn.__name__: fn for fn in (relu_and_mask, zero_where, batch_sum, subtract_scaled,
                                      adam_update, softmax_and_cross_entropy,
                                      softmax_cross_entropy_grad, matmul)}
CONV = {"conv_forward", "conv_backward", "max_pool", "max_pool_backward"}
KERNELS = {
    "numpy": {"relu_and_mask", "zero_where", "batch_sum", "adam_update",
              "softmax_and_cross_entropy", "softmax_cross_entropy_grad", "matmul"},
    "numba_fused": {"relu_and_mask", "zero_where", "adam_update", "softmax_and_cross_entropy"},
    "cupy": set(FUSABLE) - {"batch_sum", "adam_update", "matmul"} | CONV,
    "numba_conv": CONV,
}
"""The kernels each module has; each kept because benchmarks/train_step.py measures a gain
(NumPy's matmul: float16 products, a hundred times faster than NumPy's own)."""

DECLINES = {("numpy", "zero_where", "non-finite")}
"""Inputs a kernel documents that it sends to the reference (NumPy: 0 * inf is NaN, not 0)."""


def _host(seed: int, shape: tuple[int, ...], dtype: str, special: bool = False) -> np.ndarray:
    """Normal draws in ``dtype``; with ``special``, also zeros of both signs, inf and NaN."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if special and x.size >= 6:
        flat = x.reshape(-1)
        flat[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0]
        rng.shuffle(flat)
    return x


def _labels(seed: int, n: int, classes: int, backend, dtype: str = "int64"):
    rng = np.random.default_rng(seed)
    return backend.asarray(rng.integers(0, classes, n).astype(dtype))


def _same(actual, expected, backend, rtol: float = 0.0) -> None:
    """actual has expected's namespace, device, dtype and values (NaN where it has NaN)."""
    assert_close(actual, backend.to_numpy(expected), backend, rtol=rtol, dtype=expected.dtype)


USES = {"test_batch_sum": "batch_sum", "test_matmul_in_float16": "matmul",
        "test_subtract_scaled_in_place": "subtract_scaled", "test_adam_update_in_place": "adam_update",
        "test_labels_out_of_range_do_as_the_reference": "softmax_cross_entropy_grad"}
"""Tests of one kernel: they run on the modules that have it."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``module``: each kernel module the session's backend offers (in any fused mode) that
    has the kernel the test is about, so no test is collected only to be skipped."""
    if "module" not in metafunc.fixturenames:
        return
    adapter = registry.adapter(metafunc.config.getoption("--backend"))
    offered = {m.rsplit(".", 1)[1] for mode in ("auto", "numba")
               for m in adapter.kernel_modules(mode)}
    wanted = USES.get(metafunc.function.__name__)
    names = sorted(n for n in offered if KERNELS[n] & set(FUSABLE)
                   and (wanted is None or wanted in KERNELS[n]))
    if not names:
        has = [n for n in KERNELS if wanted in KERNELS[n]] if wanted else []
        why = (f"{wanted} has a kernel for {', '.join(has)} arrays only" if has else
               f"no fused kernels run on {adapter.name} arrays")
        names = [pytest.param(None, marks=pytest.mark.skip(reason=why))]
    metafunc.parametrize("module", names, indirect=True)


@pytest.fixture
def module(request, backend):
    """(name, kernels) of a kernel module for the backend's arrays."""
    name = request.param
    if name == "numba_fused":
        pytest.importorskip("numba")
    return name, importlib.import_module(f"nnxp.kernels.{name}").kernels()


def _run(module, name: str, *args, declines: str = ""):
    """The module's kernel for ``name`` on args, which must not decline them (unless the
    module documents declining ``declines``); None when the module has no such kernel."""
    module_name, kernels = module
    if name not in kernels:
        return None
    out = kernels[name](*args)
    if out is NotImplemented and (module_name, name, declines) in DECLINES:
        return None
    assert out is not NotImplemented, f"nnxp.kernels.{module_name}.{name} declined {declines or 'its input'}"
    return out


def test_each_module_has_the_kernels_the_benchmarks_justify(module) -> None:
    assert set(module[1]) == KERNELS[module[0]]


@pytest.mark.parametrize(("n", "k", "m"), [(1, 1, 1), (3, 7, 5), (100, 4320, 100)])
def test_matmul_in_float16(backend, module, n, k, m) -> None:
    """float16 products rounded once from float32 sums, as NumPy's own (to an ulp: the sums
    run in another order); float32 products as the reference's."""
    x = backend.asarray(_host(20, (n, k), "float16", special=n == 3))
    W = backend.asarray((_host(21, (k, m), "float16") / np.sqrt(k)).astype(np.float16))
    out = _run(module, "matmul", x, W)
    ref = matmul.reference(x, W)
    assert out.dtype == ref.dtype == np.float16
    np.testing.assert_allclose(backend.to_numpy(out).astype(np.float64),
                               backend.to_numpy(ref).astype(np.float64), rtol=2**-10,
                               atol=2**-14)
    single = backend.asarray(_host(22, (n, k), "float32"))
    square = single.T @ single
    _same(_run(module, "matmul", single, square), matmul.reference(single, square), backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_relu_and_mask(backend, module, shape, dtype) -> None:
    x = backend.asarray(_host(0, shape, dtype, special=True))
    out, mask = _run(module, "relu_and_mask", x)
    ref_out, ref_mask = relu_and_mask.reference(x)
    _same(out, ref_out, backend)
    assert mask.dtype == ref_mask.dtype
    assert backend.to_numpy(mask).tolist() == backend.to_numpy(ref_mask).tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("special", [False, True])
def test_zero_where(backend, module, shape, dtype, special) -> None:
    mask = backend.asarray(_host(1, shape, dtype) <= 0)
    x = backend.asarray(_host(2, shape, dtype, special=special))
    out = _run(module, "zero_where", mask, x, declines="non-finite" if special else "")
    if out is not None:
        _same(out, zero_where.reference(mask, x), backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 5), (100, 50), (6, 1)])
def test_batch_sum(backend, module, shape, dtype) -> None:
    x = backend.asarray(_host(3, shape, dtype))
    out = _run(module, "batch_sum", x)
    _same(out, batch_sum.reference(x), backend, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(13, 7), (5,), (784, 50)])
def test_subtract_scaled_in_place(backend, module, shape, dtype) -> None:
    host_p, g = _host(4, shape, dtype), backend.asarray(_host(5, shape, dtype))
    p, ref_p = backend.asarray(host_p.copy()), backend.asarray(host_p.copy())
    out = _run(module, "subtract_scaled", p, g, 0.1)
    ref = subtract_scaled.reference(ref_p, g, 0.1)
    assert out is p, "the update is written into p"
    _same(p, ref, backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(13, 7), (5,), (784, 50), (2, 3, 4, 5)])
def test_adam_update_in_place(backend, module, shape, dtype) -> None:
    """Bit for bit the reference's step: constants rounded to the dtype, no fused multiply-add.
    NumPy's kernel runs Numba's loop once the process has it, as a conv net's would."""
    importlib.import_module("nnxp.kernels.numba_fused")
    host = [_host(seed, shape, dtype) for seed in (20, 21, 22, 23)]
    host[3] = np.abs(host[3])
    g = backend.asarray(host[1])
    p, m, v = (backend.asarray(host[i].copy()) for i in (0, 2, 3))
    ref = adam_update.reference(*(backend.asarray(host[i].copy()) if i != 1 else g
                                  for i in range(4)), 0.0031, 0.9, 0.999)
    out = _run(module, "adam_update", p, g, m, v, 0.0031, 0.9, 0.999)
    assert out[0] is p and out[1] is m and out[2] is v, "the step is written into p, m and v"
    for actual, expected in zip(out, ref, strict=True):
        _same(actual, expected, backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n", "classes"), [(1, 10), (100, 10), (4, 3), (5, 1)])
@pytest.mark.parametrize("labels", ["int64", "int32"])
def test_softmax_cross_entropy_and_grad(backend, module, n, classes, dtype, labels) -> None:
    x = backend.asarray(3.0 * _host(6, (n, classes), dtype))
    t = _labels(7, n, classes, backend, labels)
    y, loss = _run(module, "softmax_and_cross_entropy", x, t)
    ref_y, ref_loss = softmax_and_cross_entropy.reference(x, t)
    _same(y, ref_y, backend, rtol=RTOL[dtype])
    assert_close(backend.xp.reshape(backend.xp.asarray(loss), (1,)), [float(ref_loss)], backend,
                 rtol=RTOL[dtype] * 10, dtype=ref_loss.dtype)
    dx = _run(module, "softmax_cross_entropy_grad", ref_y, t)
    if dx is not None:
        _same(dx, softmax_cross_entropy_grad.reference(ref_y, t), backend, rtol=RTOL[dtype])


def test_softmax_with_infinite_and_nan_scores(backend, module) -> None:
    host = _host(9, (6, 4), "float32")
    host[0, 1], host[1, 2], host[2, 0] = np.inf, -np.inf, np.nan
    x, t = backend.asarray(host), _labels(10, 6, 4, backend)
    with np.errstate(invalid="ignore"):  # inf - inf in the shift, as the reference warns
        y, loss = _run(module, "softmax_and_cross_entropy", x, t)
        ref_y, ref_loss = softmax_and_cross_entropy.reference(x, t)
    _same(y, ref_y, backend, rtol=RTOL["float32"])
    assert np.isnan(float(loss)) and np.isnan(float(ref_loss))


def test_labels_out_of_range_do_as_the_reference(backend, module) -> None:
    x = backend.asarray(_host(11, (3, 4), "float32"))
    y = softmax_and_cross_entropy.reference(x, _labels(12, 3, 4, backend))[0]
    bad = backend.asarray(np.array([0, 4, 1], dtype=np.int64))
    out = module[1]["softmax_cross_entropy_grad"](y, bad)
    if out is not NotImplemented:  # declining is allowed here: the nets check labels first
        _same(out, softmax_cross_entropy_grad.reference(y, bad), backend)


def test_what_a_kernel_declines_it_declines_whole(backend, module) -> None:
    """Strided views and float16: a kernel computes them right or declines; never a wrong value."""
    x = backend.asarray(_host(13, (6, 8), "float32", special=True))[:, ::2]
    mask = backend.asarray(_host(14, (6, 8), "float32") <= 0)[:, ::2]
    cases = [("relu_and_mask", (x,)), ("zero_where", (mask, x)), ("batch_sum", (x,))]
    for name, args in cases:
        kernel = module[1].get(name)
        out = NotImplemented if kernel is None else kernel(*args)
        if out is not NotImplemented:
            ref = FUSABLE[name].reference(*args)
            _same(out[0] if name == "relu_and_mask" else out,
                  ref[0] if name == "relu_and_mask" else ref, backend, rtol=RTOL["float32"])
    half = backend.asarray(np.array([[-1.0, 2.0]], dtype=np.float16))
    assert module[1]["relu_and_mask"](half) is NotImplemented


@pytest.mark.parametrize("mode", ["auto", "numba"])
def test_training_with_kernels_follows_the_reference(backend, mode) -> None:
    if mode == "numba" and backend.adapter.kernel_modules("numba") == backend.adapter.kernel_modules("auto"):
        pytest.skip(f"mode numba is mode auto on {backend.name}")
    rng = np.random.default_rng(16)
    x, t = rng.random((60, 12)), rng.integers(0, 5, 60)
    params = {}
    for run in (mode, "off"):
        with use_fused(run):
            net = TwoLayerNet(12, 8, 5, activation="relu", weight_init_std="he",
                              backend=backend, dtype="float32", seed=3)
            trainer = Trainer(net, x, t, x, t, mini_batch_size=10, iters=12,
                              optimizer_param={"lr": 0.1}, seed=4, verbose=False)
            trainer.train()
            params[run] = {k: backend.to_numpy(v) for k, v in net.params.items()}
    for key, value in params["off"].items():
        assert_close(backend.asarray(params[mode][key]), value, backend, rtol=1e-4, atol=1e-6)


def test_dispatch_picks_the_kernels_its_adapter_names(backend) -> None:
    x = backend.asarray(np.ones((2, 3)))
    for mode in ("auto", "numba"):
        with use_fused(mode):
            found = {name: fused_kernel(name, x) for name in FUSABLE}
        expected = {}
        for module in backend.adapter.kernel_modules(mode):
            expected.update(importlib.import_module(module).kernels())
        expected = {n: k for n, k in expected.items() if n in FUSABLE}
        assert {n: k for n, k in found.items() if k is not None} == expected
    with use_fused("off"):
        assert all(fused_kernel(name, x) is None for name in FUSABLE)


def test_dispatch_runs_the_kernel_and_falls_back_when_it_declines(monkeypatch) -> None:
    calls = []

    def kernel(x):
        calls.append(x)
        return NotImplemented if x.dtype == np.float16 else ("kernel", x)

    fn = dispatch.fusable(relu_and_mask.reference)
    monkeypatch.setattr(dispatch, "kernels_for", lambda kind: {"relu_and_mask": kernel})
    with use_fused("auto"):
        taken = fn(np.array([1.0]))
        declined = fn(np.array([[-1.0, 2.0]], dtype=np.float16))
    assert taken[0] == "kernel" and len(calls) == 2
    assert declined[0].dtype == np.float16 and declined[0].tolist() == [[0.0, 2.0]]


@pytest.mark.host
def test_every_fusable_function_keeps_its_reference() -> None:
    for name, fn in FUSABLE.items():
        assert fn.reference.__name__ == name and fn.reference is not fn
        assert fn.reference.__module__ in ("nnxp.ops", "nnxp.functions")


@pytest.mark.host
def test_modes_switch_and_restore() -> None:
    before = fused_mode()
    x = np.ones((2, 2))
    with use_fused(False):
        assert fused_mode() == "off" and fused_kernel("relu_and_mask", x) is None
        with use_fused(True):
            assert fused_mode() == "auto" and fused_kernel("relu_and_mask", x) is not None
    assert fused_mode() == before
    with pytest.raises(ValueError, match="unknown fused-kernel mode"):
        set_fused_mode("fast")
    assert set(FUSED_MODES) == {"auto", "numba", "off"}


@pytest.mark.host
@pytest.mark.parametrize(("value", "mode"), [("numba", "numba"), ("0", "off"), ("OFF", "off"),
                                             ("1", "auto"), ("", "auto"), ("bogus", "auto")])
def test_nnxp_fused_variable(monkeypatch, value, mode) -> None:
    monkeypatch.setenv("NNXP_FUSED", value)
    assert dispatch.mode_from_env() == mode


@pytest.mark.host
def test_cupy_arrays_get_cupy_kernels_or_none_without_cupy(monkeypatch) -> None:
    import builtins

    fake = type("ndarray", (), {"__module__": "cupy"})
    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name.split(".")[0] == "cupy":
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cupy)
    monkeypatch.delitem(__import__("sys").modules, "nnxp.kernels.cupy", raising=False)
    monkeypatch.setattr(dispatch, "_KERNELS", {})
    with use_fused("auto"):
        assert dispatch.kernels_for(fake) == {}
        assert relu_and_mask(np.array([-1.0, 1.0]))[0].tolist() == [0.0, 1.0]
