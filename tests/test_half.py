"""float16 for evaluation and inference (the book's ch08/half_float_network.py): nets built
in float16 predict what float64 predicts to float16's precision on every backend that has
float16 products, and the others refuse in one line; training in float16 is refused with the
reason; ``nnxp eval --dtype`` and ``nnxp convert --dtype float16``; the book's pickles found
through NNXP_BOOK_DIR when ``nnxp convert`` names none.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from nnxp import datasets
from nnxp.backends import Backend, DtypeError, get_backend, to_numpy
from nnxp.backends.base import Adapter
from nnxp.conv import conv_forward
from nnxp.io import load_model, read_model_file
from nnxp.models.conv import SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNet
from tests.helpers import assert_close
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]
BOOK_DIR = Path(os.environ.get("NNXP_TEST_BOOK_DIR", ROOT.parent / "shared" / "data" / "book"))
MNIST_DIR = Path(os.environ.get("NNXP_TEST_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))


def _half_or_refusal(backend: Backend) -> Backend | None:
    """The backend in float16, or None after checking its one-line refusal."""
    try:
        return backend.with_dtype("float16")
    except DtypeError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"backend {backend.name!r} on ")
        assert "cannot compute in float16" in message and "use float32" in message
        assert backend.adapter.float16 is not True
        with pytest.raises(DtypeError, match="cannot compute in float16"):
            MultiLayerNet(64, [8], 10, backend=backend, dtype="float16")
        return None


def test_a_dense_net_predicts_in_float16_or_the_backend_says_why(backend):
    half = _half_or_refusal(backend)
    if half is None:
        return
    assert backend.adapter.float16 is not False
    x = np.random.default_rng(0).random((20, 64)).astype(np.float32)
    nets = {dtype: MultiLayerNet(64, [32, 16], 10, activation="sigmoid", backend=backend,
                                 dtype=dtype, seed=1) for dtype in ("float16", "float64")}
    y64 = to_numpy(nets["float64"].predict(x))
    y16 = nets["float16"].predict(x)
    scale = float(np.abs(y64).max())
    assert_close(y16, y64, half, rtol=0, atol=4e-3 * scale, dtype=half.float_dtype("float16"))
    t = np.argmax(y64, axis=1)
    assert nets["float16"].accuracy(x, t) >= 0.9  # the same classes but for near-ties


def test_a_conv_net_predicts_in_float16_or_the_backend_says_why(backend):
    half = _half_or_refusal(backend)
    if half is None:
        return
    x = np.random.default_rng(2).random((6, 1, 10, 10)).astype(np.float32)
    conv = {"filter_num": 6, "filter_size": 3, "pad": 1, "stride": 1}
    nets = {dtype: SimpleConvNet((1, 10, 10), conv, hidden_size=12, weight_init_std=0.3,
                                 backend=backend, dtype=dtype, seed=3)
            for dtype in ("float16", "float64")}
    y64 = to_numpy(nets["float64"].predict(x))
    y16 = nets["float16"].predict(x)
    assert_close(y16, y64, half, rtol=0, atol=4e-3 * float(np.abs(y64).max()),
                 dtype=half.float_dtype("float16"))


@pytest.mark.host
def test_array_api_strict_refuses_float16_in_one_line():
    pytest.importorskip("array_api_strict")
    with pytest.raises(DtypeError) as caught:
        get_backend("array_api_strict", dtype="float16")
    assert str(caught.value) == (
        "backend 'array_api_strict' on CPU_DEVICE cannot compute in float16: the Array API "
        "standard has no float16, and array_api_strict keeps to it; use float32 "
        "(--dtype float32)")


@pytest.mark.host
def test_numpy_computes_in_float16():
    be = get_backend("numpy", dtype="float16")
    assert be.dtype == "float16" and be.zeros((2,)).dtype == np.float16


class _NoHalfProducts:
    """A namespace whose float16 products fail, as torch's CPU builds without them do."""

    float16 = "float16"
    made = 0
    exp = max = argmax = staticmethod(lambda *args, **kwargs: None)

    def ones(self, shape, dtype, device):
        type(self).made += 1
        return _Operand()


class _Operand:
    def __matmul__(self, other):
        raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'Half'\nmore lines")


@pytest.mark.host
def test_an_adapter_that_finds_no_float16_products_refuses_once_tried():
    adapter = type("ProbedAdapter", (Adapter,), {"name": "probed"})()
    be = Backend("probed", _NoHalfProducts(), "cpu", "float16", adapter)
    message = ("backend 'probed' on cpu cannot compute in float16: its float16 products fail "
               "on cpu (RuntimeError: \"addmm_impl_cpu_\" not implemented for 'Half'); use "
               "float32 (--dtype float32)")
    with pytest.raises(DtypeError) as caught:
        be.checked()
    assert str(caught.value) == message
    made = _NoHalfProducts.made
    with pytest.raises(DtypeError):
        be.checked()
    assert _NoHalfProducts.made == made  # tried once per device
    assert Backend("probed", _NoHalfProducts(), "cpu", "float32", adapter).checked().dtype == \
        "float32"


@pytest.mark.host
def test_numba_conv_forward_takes_float16_through_float32_products():
    pytest.importorskip("numba")
    from nnxp.kernels import numba_conv

    rng = np.random.default_rng(4)
    x = rng.random((2, 3, 9, 9)).astype(np.float16)
    W = (0.3 * rng.standard_normal((5, 3, 3, 3))).astype(np.float16)
    b = (0.1 * rng.standard_normal(5)).astype(np.float16)
    out, col = numba_conv.conv_forward(x, W, b, 1, 1)
    assert out.dtype == np.float16 and col is None
    ref, _ = conv_forward.reference(x.astype(np.float64), W.astype(np.float64),
                                    b.astype(np.float64), 1, 1)
    half_ref, _ = conv_forward.reference(x, W, b, 1, 1)
    assert half_ref.dtype == np.float16
    # one rounding to float16 (an ulp is 2**-10 of the value); the reference rounds twice
    np.testing.assert_allclose(out, ref, rtol=2**-10, atol=2**-14)
    np.testing.assert_allclose(out, half_ref, rtol=2**-9, atol=2**-13)


@pytest.mark.host
def test_training_in_float16_is_refused_with_the_reason(tiny_data, capsys):
    from nnxp.train import Trainer

    net = MultiLayerNet(64, [8], 10, dtype="float16")
    x = np.zeros((4, 64), np.float32)
    t = np.zeros(4, np.int64)
    with pytest.raises(DtypeError, match="float16 is for evaluation and inference only"):
        Trainer(net, x, t, x, t, epochs=1, mini_batch_size=2, verbose=False)
    code, out, err = run(["train", "--dtype", "float16", "--iters", "1"], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "argument --dtype: float16 is for evaluation and inference only" in err
    assert "train in float32 or float64, then evaluate in float16" in err
    assert tiny_data == []


def book_pickle(path: Path, arch: str, seed: int = 0) -> dict[str, np.ndarray]:
    """A pickle of random weights in the book's shapes for ``arch``, at He scale (float16's
    range holds the activations, as it does the book's trained ones), float64 as NumPy
    saves them."""
    from nnxp.book_weights import book_network

    rng = np.random.default_rng(seed)
    params = {}
    for key, value in book_network(arch).params.items():
        shape = tuple(value.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        params[key] = np.sqrt(2.0 / fan_in) * rng.standard_normal(shape) if len(shape) > 1 \
            else 0.01 * rng.standard_normal(shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(params, protocol=4))
    return params


@pytest.fixture
def book_dir(tmp_path, monkeypatch):
    """NNXP_BOOK_DIR: a folder laid out like the book's repository, with random pickles."""
    from nnxp.book_weights import BOOK_FILES

    folder = tmp_path / "book"
    for arch, relative in BOOK_FILES.items():
        book_pickle(folder / relative, arch, seed=len(relative))
    monkeypatch.setenv("NNXP_BOOK_DIR", str(folder))
    return folder


@pytest.mark.host
@pytest.mark.parametrize("arch", ["ch03", "ch07", "ch08"])
def test_eval_scores_in_the_dtype_asked(mnist_shaped, book_dir, capsys, tmp_path, monkeypatch,
                                        arch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["convert", "--arch", arch, "-o", "m.npz"], capsys)
    assert code == 0, err
    assert out.startswith(f"{book_dir}/") and "-> m.npz (float32;" in out
    scores = {}
    for dtype in ("float16", "float32", "float64"):
        code, out, err = run(["eval", "--weights", "m.npz", "--dtype", dtype, "--json"], capsys)
        assert code == 0 and err == "", err
        scores[dtype] = json.loads(out)
        assert scores[dtype]["dtype"] == dtype and scores[dtype]["total"] == 50
    net, _ = load_model("m.npz", dtype="float16")
    assert net.dtype == "float16" and net.params["W1"].dtype == np.float16
    (_, (x, t)), _ = datasets.load_dataset(flatten=arch == "ch03")
    assert scores["float16"]["correct"] == int(np.sum(np.argmax(to_numpy(net.predict(x)), 1) == t))
    assert abs(scores["float16"]["correct"] - scores["float64"]["correct"]) <= 1
    code, out, err = run(["eval", "--weights", "m.npz", "--dtype", "float16"], capsys)
    assert code == 0 and "on mnist-5k with numpy cpu float16" in out.splitlines()[0]


@pytest.mark.host
def test_eval_warns_when_float16_overflows(mnist_shaped, tmp_path, monkeypatch, capsys):
    from nnxp.book_weights import import_book_weights
    from nnxp.io import save_model

    monkeypatch.chdir(tmp_path)
    params = book_pickle(tmp_path / "big.pkl", "ch03")
    params["W3"] = params["W3"] * 1e5  # within float16's 65504, their sums past it
    (tmp_path / "big.pkl").write_bytes(pickle.dumps(params))
    net, _ = import_book_weights(tmp_path / "big.pkl", "ch03")
    save_model("m.npz", net, {"dataset": {"normalize": True}})
    code, out, err = run(["eval", "--weights", "m.npz", "--dtype", "float16", "--json"], capsys)
    assert code == 0 and len(err.splitlines()) == 1
    assert "samples got scores that are NaN or infinite in float16" in err
    assert err.rstrip().endswith("evaluate in float32 (--dtype float32)")
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0 and err == ""


@pytest.mark.host
def test_convert_to_float16_writes_a_half_size_file_that_loads_in_float16(
        mnist_shaped, book_dir, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(["convert", "--arch", "ch07", "-o", "m32.npz"], capsys)[0] == 0
    code, out, err = run(["convert", "--arch", "ch07", "-o", "m16.npz", "--dtype", "float16"],
                         capsys)
    assert code == 0 and "-> m16.npz (float16;" in out
    arrays, meta = read_model_file("m16.npz")
    assert meta["dtype"] == "float16" and arrays["W1"].dtype == np.float16
    assert Path("m16.npz").stat().st_size < 0.55 * Path("m32.npz").stat().st_size
    code, out, err = run(["eval", "--weights", "m16.npz", "--json"], capsys)
    assert code == 0 and json.loads(out)["dtype"] == "float16"
    code, out, err = run(["eval", "--weights", "m16.npz", "--json", "--dtype", "float64"], capsys)
    assert code == 0 and json.loads(out)["dtype"] == "float64"


@pytest.mark.host
def test_convert_finds_the_books_pickle_through_nnxp_book_dir(book_dir, capsys, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["convert", "--arch", "ch08", "-o", "m.npz"], capsys)
    assert code == 0, err
    _, meta = read_model_file("m.npz")
    assert meta["source"]["book_weights"] == "deep_convnet_params.pkl"
    assert out.startswith(f"{book_dir / 'ch08' / 'deep_convnet_params.pkl'}: DeepConvNet")
    (book_dir / "ch03" / "sample_weight.pkl").unlink()
    code, out, err = run(["convert", "--arch", "ch03", "-o", "n.npz"], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert f"$NNXP_BOOK_DIR ({str(book_dir)!r}) has no ch03/sample_weight.pkl: git clone https://" in err
    assert "or name the pickle (nnxp convert PATH --arch ch03)" in err
    monkeypatch.delenv("NNXP_BOOK_DIR")
    code, out, err = run(["convert", "--arch", "ch07", "-o", "n.npz"], capsys)
    assert code == 2 and "no pickle named and NNXP_BOOK_DIR is not set: git clone" in err
    assert not Path("n.npz").exists()


@pytest.mark.host
@pytest.mark.skipif(not (BOOK_DIR / "2016" / "ch08" / "deep_convnet_params.pkl").is_file()
                    or not MNIST_DIR.is_dir(), reason="the book's 2016 pickle or MNIST is absent")
def test_the_books_deep_convnet_scores_the_same_in_float16(monkeypatch):
    """The book's figures for its 2016 pickle: 0.9935 in float64 and in float16; here on the
    first 500 test images (the notes have the whole test set)."""
    from nnxp.book_weights import load_book_weights

    monkeypatch.setenv("NNXP_DATA_DIR", str(MNIST_DIR))
    (_, (x, t)), name = datasets.load_dataset("mnist", flatten=False, progress=False)
    assert name == "mnist"
    x, t = x[:500], t[:500]
    path = BOOK_DIR / "2016" / "ch08" / "deep_convnet_params.pkl"
    scores = {dtype: load_book_weights(path, "ch08", dtype=dtype).accuracy(x, t, 500)
              for dtype in ("float64", "float16")}
    assert scores["float64"] >= 0.99
    assert abs(scores["float16"] - scores["float64"]) <= 0.002
