"""The fused kernels against their Array API references, and the dispatch that picks them.

Every fusable function is run with the kernels of the backend under test (NumPy's own, or
Numba's in mode "numba"; CuPy's on a GPU; none on torch and array-api-strict, where this
checks the dispatch falls through) and compared with its reference on the same inputs:
shapes from one element to the book's, float32 and float64, inf, NaN and signed zeros,
layouts the kernels do not take.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnxp import backend as backend_module
from nnxp.backend import FUSED_MODES, fused_kernel, fused_mode, set_fused_mode, use_fused
from nnxp.functions import softmax_and_cross_entropy, softmax_cross_entropy_grad
from nnxp.nets import TwoLayerNet
from nnxp.ops import batch_sum, relu_and_mask, subtract_scaled, zero_where
from nnxp.train import Trainer
from tests.helpers import assert_close

MODES = ["auto", "numba"]
DTYPES = ["float32", "float64"]
SHAPES = [(1, 1), (3, 7), (100, 50), (2, 3, 4, 5), (7,)]
RTOL = {"float32": 2e-6, "float64": 1e-13}


def _host(seed: int, shape: tuple[int, ...], dtype: str, special: bool = False) -> np.ndarray:
    """Normal draws in ``dtype``; with ``special``, also zeros of both signs, inf and NaN."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if special and x.size >= 6:
        flat = x.reshape(-1)
        flat[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0]
        rng.shuffle(flat)
    return x


def _same(actual, expected, backend, dtype: str, rtol: float = 0.0) -> None:
    """actual has expected's namespace, device, dtype and values (NaN where it has NaN)."""
    assert_close(actual, backend.to_numpy(expected), backend, rtol=rtol, dtype=expected.dtype)
    del dtype


@pytest.fixture(params=MODES)
def mode(request):
    with use_fused(request.param):
        yield request.param


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_relu_and_mask_matches_reference(backend, mode, shape, dtype) -> None:
    x = backend.asarray(_host(0, shape, dtype, special=True))
    out, mask = relu_and_mask(x)
    ref_out, ref_mask = relu_and_mask.reference(x)
    _same(out, ref_out, backend, dtype)
    assert backend.to_numpy(mask).tolist() == backend.to_numpy(ref_mask).tolist()
    assert mask.dtype == ref_mask.dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("special", [False, True])
def test_zero_where_matches_reference(backend, mode, shape, dtype, special) -> None:
    mask = backend.asarray(_host(1, shape, dtype) <= 0)
    x = backend.asarray(_host(2, shape, dtype, special=special))
    _same(zero_where(mask, x), zero_where.reference(mask, x), backend, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 5), (100, 50), (3, 4, 5), (6,)])
def test_batch_sum_matches_reference(backend, mode, shape, dtype) -> None:
    x = backend.asarray(_host(3, shape, dtype))
    _same(batch_sum(x), batch_sum.reference(x), backend, dtype, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(13, 7), (5,), (784, 50)])
def test_subtract_scaled_matches_reference_in_place(backend, mode, shape, dtype) -> None:
    host_p, g = _host(4, shape, dtype), backend.asarray(_host(5, shape, dtype))
    p, ref_p = backend.asarray(host_p.copy()), backend.asarray(host_p.copy())
    out = subtract_scaled(p, g, 0.1)
    ref = subtract_scaled.reference(ref_p, g, 0.1)
    assert out is p, "the update is written into p"
    _same(out, ref, backend, dtype)
    _same(p, ref, backend, dtype)


def _labels(seed: int, n: int, classes: int, backend, dtype: str = "int64"):
    rng = np.random.default_rng(seed)
    return backend.asarray(rng.integers(0, classes, n).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n", "classes"), [(1, 10), (100, 10), (4, 3), (5, 1)])
@pytest.mark.parametrize("labels", ["int64", "int32", "one-hot"])
def test_softmax_and_cross_entropy_matches_reference(backend, mode, n, classes, dtype,
                                                     labels) -> None:
    x = backend.asarray(3.0 * _host(6, (n, classes), dtype))
    t = _labels(7, n, classes, backend, "int64" if labels == "one-hot" else labels)
    if labels == "one-hot":
        t = backend.asarray(np.eye(classes, dtype=dtype)[backend.to_numpy(t)])
    y, loss = softmax_and_cross_entropy(x, t)
    ref_y, ref_loss = softmax_and_cross_entropy.reference(x, t)
    _same(y, ref_y, backend, dtype, rtol=RTOL[dtype])
    assert_close(backend.xp.reshape(loss, (1,)), [float(ref_loss)], backend,
                 rtol=RTOL[dtype] * 10, dtype=ref_loss.dtype)
    dx = softmax_cross_entropy_grad(y, t)
    _same(dx, softmax_cross_entropy_grad.reference(ref_y, t), backend, dtype, rtol=RTOL[dtype])


def test_softmax_of_one_sample_matches_reference(backend, mode) -> None:
    x = backend.asarray(_host(8, (10,), "float32"))
    t = backend.asarray(np.asarray(3, dtype=np.int64))
    y, loss = softmax_and_cross_entropy(x, t)
    ref_y, ref_loss = softmax_and_cross_entropy.reference(x, t)
    _same(y, ref_y, backend, "float32", rtol=RTOL["float32"])
    assert float(loss) == pytest.approx(float(ref_loss), rel=1e-6)
    _same(softmax_cross_entropy_grad(y, t), softmax_cross_entropy_grad.reference(y, t), backend,
          "float32", rtol=RTOL["float32"])


def test_softmax_with_infinite_and_nan_scores_matches_reference(backend, mode) -> None:
    host = _host(9, (6, 4), "float32")
    host[0, 1], host[1, 2], host[2, 0] = np.inf, -np.inf, np.nan
    x, t = backend.asarray(host), _labels(10, 6, 4, backend)
    with np.errstate(invalid="ignore"):  # inf - inf in the shift, as the reference warns
        y, loss = softmax_and_cross_entropy(x, t)
        ref_y, ref_loss = softmax_and_cross_entropy.reference(x, t)
    _same(y, ref_y, backend, "float32", rtol=RTOL["float32"])
    assert np.isnan(float(loss)) and np.isnan(float(ref_loss))


def test_labels_out_of_range_do_as_the_reference(backend, mode) -> None:
    x = backend.asarray(_host(11, (3, 4), "float32"))
    y = softmax_and_cross_entropy.reference(x, _labels(12, 3, 4, backend))[0]
    bad = backend.asarray(np.array([0, 4, 1], dtype=np.int64))
    ref = softmax_cross_entropy_grad.reference(y, bad)
    _same(softmax_cross_entropy_grad(y, bad), ref, backend, "float32")


def test_layouts_the_kernels_refuse_fall_back_to_the_reference(backend, mode) -> None:
    x = backend.asarray(_host(13, (6, 8), "float32", special=True))[:, ::2]
    mask = backend.asarray(_host(14, (6, 8), "float32") <= 0)[:, ::2]
    _same(relu_and_mask(x)[0], relu_and_mask.reference(x)[0], backend, "float32")
    _same(zero_where(mask, x), zero_where.reference(mask, x), backend, "float32")
    _same(batch_sum(x), batch_sum.reference(x), backend, "float32", rtol=RTOL["float32"])
    t = _labels(15, 6, 4, backend)
    y, _ = softmax_and_cross_entropy(x, t)
    _same(y, softmax_and_cross_entropy.reference(x, t)[0], backend, "float32",
          rtol=RTOL["float32"])


def test_training_with_kernels_follows_the_reference(backend, mode) -> None:
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


FUSABLE = ["relu_and_mask", "zero_where", "batch_sum", "subtract_scaled",
           "softmax_and_cross_entropy", "softmax_cross_entropy_grad"]


def test_dispatch_picks_kernels_only_for_numpy_and_cupy(backend) -> None:
    x = backend.asarray(np.ones((2, 3)))
    with use_fused("auto"):
        found = {name for name in FUSABLE if fused_kernel(name, x) is not None}
    if backend.name == "numpy":
        assert found == set(FUSABLE) - {"subtract_scaled"}
    elif backend.name == "cupy":
        assert found == set(FUSABLE) - {"batch_sum"}
    else:
        assert found == set()
    with use_fused("off"):
        assert all(fused_kernel(name, x) is None for name in FUSABLE)


@pytest.mark.host
def test_numba_mode_has_a_loop_for_every_fusable_function() -> None:
    pytest.importorskip("numba")
    from nnxp.fused import numba_kernels

    x = np.ones((2, 3))
    with use_fused("numba"):
        assert {name: fused_kernel(name, x) for name in FUSABLE} == numba_kernels.kernels()


@pytest.mark.host
def test_every_fusable_function_keeps_its_reference() -> None:
    for fn in (relu_and_mask, zero_where, batch_sum, subtract_scaled, softmax_and_cross_entropy,
               softmax_cross_entropy_grad):
        assert fn.reference.__name__ == fn.__name__ and fn.reference is not fn


@pytest.mark.host
def test_a_kernel_that_declines_sends_the_call_to_the_reference() -> None:
    x = np.array([[-1.0, 2.0]], dtype=np.float16)
    with use_fused("auto"):
        out, mask = relu_and_mask(x)
    assert out.dtype == np.float16 and out.tolist() == [[0.0, 2.0]] and mask.tolist() == [[1, 0]]


@pytest.mark.host
def test_modes_switch_and_restore() -> None:
    before = fused_mode()
    x = np.ones((2, 2))
    with use_fused(False):
        assert fused_mode() == "off" and fused_kernel("batch_sum", x) is None
        with use_fused(True):
            assert fused_mode() == "auto" and fused_kernel("batch_sum", x) is not None
    assert fused_mode() == before
    with pytest.raises(ValueError, match="unknown fused-kernel mode"):
        set_fused_mode("fast")
    assert set(FUSED_MODES) == {"auto", "numba", "off"}


@pytest.mark.host
@pytest.mark.parametrize(("value", "mode"), [("numba", "numba"), ("0", "off"), ("OFF", "off"),
                                             ("1", "auto"), ("", "auto"), ("bogus", "auto")])
def test_nnxp_fused_variable(monkeypatch, value, mode) -> None:
    monkeypatch.setenv("NNXP_FUSED", value)
    assert backend_module._mode_from_env() == mode


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
    monkeypatch.delitem(__import__("sys").modules, "nnxp.fused.cupy_kernels", raising=False)
    monkeypatch.setattr(backend_module, "_KERNELS", {})
    with use_fused("auto"):
        assert backend_module._kernels_for(fake) == {}
        assert relu_and_mask(np.array([-1.0, 1.0]))[0].tolist() == [0.0, 1.0]
