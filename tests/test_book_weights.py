"""Safe import of the book's pickled weights: pickles built here, malicious ones refused."""

from __future__ import annotations

import builtins
import collections
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nnxp.book_weights import (
    book_network,
    load_book_weights,
    load_pickled_arrays,
    unpickle_arrays,
)
from nnxp.errors import ModelFileError, NnxpError
from nnxp.functions import sigmoid, softmax
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNet
from tests.helpers import assert_close

PROTOCOLS = [2, 3, 4, 5]


def _book_params(arch: str, seed: int = 0, dtype=np.float64) -> dict[str, np.ndarray]:
    """Random weights of the shapes the book's pickle for arch holds."""
    rng = np.random.default_rng(seed)
    shapes = {k: tuple(v.shape) for k, v in book_network(arch).params.items()}
    return {k: (0.1 * rng.standard_normal(s)).astype(dtype) for k, s in shapes.items()}


def _write(tmp_path: Path, obj: object, protocol: int, name: str = "w.pkl") -> Path:
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.host
@pytest.mark.parametrize("protocol", [0, 1, *PROTOCOLS])
def test_dicts_of_arrays_load_in_every_protocol(tmp_path, protocol) -> None:
    arrays = {
        "W1": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b1": np.zeros(0),
        "F": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "s": np.array(2.5),
        "i": np.arange(3, dtype=np.int64),
    }
    loaded = load_pickled_arrays(_write(tmp_path, arrays, protocol))
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)


def _numpy_arrays() -> dict[str, np.ndarray]:
    """Arrays of every admitted dtype and layout: C, F, permuted, 0-d, empty, big-endian."""
    rng = np.random.default_rng(7)
    arrays = {f"{code}": (100 * rng.standard_normal((3, 4))).astype(code)
              for code in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")}
    arrays.update({
        "big": np.arange(6, dtype=">f8").reshape(2, 3),
        "big_int": np.arange(5, dtype=">i4"),
        "fortran": np.asfortranarray(rng.standard_normal((3, 5))),
        "permuted": np.ascontiguousarray(rng.standard_normal((2, 3, 4))).transpose(1, 0, 2),
        "strided": rng.standard_normal((4, 6))[:, ::2],
        "scalar": np.array(-2.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "nan": np.array([np.nan, np.inf, -0.0]),
    })
    return arrays


@pytest.mark.host
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_real_numpy_pickles_load_as_numpy_loads_them(protocol) -> None:
    data = pickle.dumps(_numpy_arrays(), protocol=protocol)
    want = pickle.loads(data)
    got = unpickle_arrays(data, "arrays.pkl")
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
        assert got[key].flags.f_contiguous == value.flags.f_contiguous, key
        assert got[key].flags.writeable and got[key].base is None, key
        np.testing.assert_array_equal(got[key], value)


def _book_dir() -> Path:
    """NNXP_BOOK_DIR, else the nearest shared/data/book beside a folder above this file."""
    if os.environ.get("NNXP_BOOK_DIR"):
        return Path(os.environ["NNXP_BOOK_DIR"])
    here = Path(__file__).resolve().parents
    return next((p / "shared/data/book" for p in here if (p / "shared/data/book").is_dir()),
                here[1].parent / "shared/data/book")


BOOK = _book_dir()
BOOK_FILES = ["ch03/sample_weight.pkl", "ch07/params.pkl", "ch08/deep_convnet_params.pkl",
              "2016/ch07/params.pkl", "2016/ch08/deep_convnet_params.pkl"]


@pytest.mark.host
@pytest.mark.parametrize("name", BOOK_FILES)
def test_the_books_pickles_load_as_numpy_loads_them(name) -> None:
    path = BOOK / name
    if not path.is_file():
        pytest.skip(f"the book's {name} is not at {BOOK} (set NNXP_BOOK_DIR)")
    with open(path, "rb") as f:
        want = pickle.load(f)
    got = load_pickled_arrays(path)
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape
        np.testing.assert_array_equal(got[key], value)


@pytest.mark.host
def test_python_2_pickles_carry_text_and_int_flags() -> None:
    """Python 2 wrote str where Python 3 writes bytes, and 0/1 for bools."""
    raw = np.arange(3, dtype="<f8").tobytes().decode("latin1")
    data = (b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR"
            b"(I1\n(I3\ntcnumpy\ndtype\n(S'f8'\nI0\nI1\ntR(I3\nS'<'\nNNNI-1\nI-1\nI0\ntb"
            b"I00\n" + b"V" + raw.encode("raw_unicode_escape") + b"\ntb.")
    data = b"(dp0\nS'W1'\n" + data[:-1] + b"s."
    np.testing.assert_array_equal(unpickle_arrays(data)["W1"], np.arange(3.0))


@pytest.mark.host
def test_numpy_1_module_names_and_ordered_dicts_load(tmp_path) -> None:
    data = pickle.dumps(collections.OrderedDict(W1=np.ones((2, 2))), protocol=2)
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert old != data
    path = tmp_path / "old.pkl"
    path.write_bytes(old)
    np.testing.assert_array_equal(load_pickled_arrays(path)["W1"], np.ones((2, 2)))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_ch03_net_predicts_as_the_book(backend, tmp_path, protocol) -> None:
    params = _book_params("ch03", dtype=np.float32)
    net = load_book_weights(_write(tmp_path, params, protocol), "ch03", backend=backend,
                            dtype="float64")
    assert isinstance(net, MultiLayerNet)
    x = np.random.default_rng(1).random((5, 784))
    # The book's ch03 predict(network, x), in NumPy.
    a1 = sigmoid(x @ params["W1"].astype(np.float64) + params["b1"])
    a2 = sigmoid(a1 @ params["W2"].astype(np.float64) + params["b2"])
    y = softmax(a2 @ params["W3"].astype(np.float64) + params["b3"])
    assert_close(softmax(net.predict(x)), y, backend, rtol=1e-10)


@pytest.mark.parametrize(("arch", "cls"), [("ch07", SimpleConvNet), ("ch08", DeepConvNet)])
def test_conv_weights_land_in_the_books_layers(backend, tmp_path, arch, cls) -> None:
    params = _book_params(arch, seed=2)
    net = load_book_weights(_write(tmp_path, params, 4), arch, backend=backend)
    assert isinstance(net, cls)
    for key, value in params.items():
        assert_close(net.params[key], value.astype(np.float32), backend, dtype=backend.xp.float32)
    if arch == "ch08":
        for i, index in enumerate(net.weighted_layers, 1):
            assert net.layers[index].W is net.params[f"W{i}"]
    images = np.random.default_rng(3).random((2, 1, 28, 28)).astype(np.float32)
    assert tuple(net.predict(images).shape) == (2, 10)


@pytest.mark.host
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("b2"), "missing b2"),
        (lambda p: p.update(W9=np.ones(2)), "unexpected W9"),
        (lambda p: p.update(W1=np.ones((50, 784))), "W1 has shape (50, 784), but ch03 needs"),
        (lambda p: p.update(b1=np.ones(50, dtype=np.int32)), "b1 has dtype int32"),
    ],
)
def test_wrong_keys_and_shapes_are_one_line_errors(tmp_path, change, message) -> None:
    params = _book_params("ch03")
    change(params)
    with pytest.raises(ModelFileError) as info:
        load_book_weights(_write(tmp_path, params, 4), "ch03")
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.host
def test_other_files_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(NnxpError, match="unknown book architecture 'ch05'"):
        load_book_weights(tmp_path / "none.pkl", "ch05")
    with pytest.raises(ModelFileError, match="pickle .*none.pkl does not exist"):
        load_book_weights(tmp_path / "none.pkl", "ch03")
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(pickle.dumps(_book_params("ch03"), protocol=4)[:500])
    with pytest.raises(ModelFileError, match="is not a pickle of NumPy arrays"):
        load_pickled_arrays(truncated)
    with pytest.raises(ModelFileError, match="holds a list"):
        load_pickled_arrays(_write(tmp_path, [np.ones(2)], 4))
    with pytest.raises(ModelFileError, match="entry 'lr' is a float"):
        load_pickled_arrays(_write(tmp_path, {"W1": np.ones(2), "lr": 0.1}, 4))
    with pytest.raises(ModelFileError, match="arrays of Python objects are not weights"):
        load_pickled_arrays(_write(tmp_path, {"W1": np.array([None, 1], dtype=object)}, 4))


# Malicious pickles: each would write a marker file; the marker must not appear.


class _Reduce:
    """Pickles as a call of func(*args)."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker: Path) -> dict[str, object]:
    code = f"open({str(marker)!r}, 'w').write('ran')"
    return {
        "os.system": _Reduce(os.system, f"touch {marker}"),
        "builtins.eval": _Reduce(builtins.eval, code),
        "builtins.exec": _Reduce(builtins.exec, code),
        "subprocess.call": _Reduce(subprocess.call, ["touch", str(marker)]),
    }


@pytest.mark.host
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "builtins.exec", "subprocess.call"])
def test_code_running_pickles_are_refused_before_anything_runs(tmp_path, protocol, name) -> None:
    live = tmp_path / "live"
    pickle.loads(pickle.dumps({"W1": _payloads(live)[name]}, protocol=protocol))
    assert live.exists(), "the payload is not live: this test would prove nothing"

    marker = tmp_path / "marker"
    payload = {"W1": np.ones(3), "b1": _payloads(marker)[name]}
    path = _write(tmp_path, payload, protocol)
    with pytest.raises(ModelFileError) as info:
        load_book_weights(path, "ch03")
    message = str(info.value)
    assert "refusing to load" in message and "\n" not in message
    assert name.split(".")[1] in message  # the refused callable is named (posix.system, ...)
    assert not marker.exists()


@pytest.mark.host
@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        (_Reduce(np.ndarray, (3,)), "not callable"),
        (_Reduce(np.load, "x.npy"), "refusing to load numpy.load"),
        (_Reduce(getattr, np.ndarray, "tofile"), "builtin__.getattr from a pickle"),
        (_Reduce(bytes, 10**6), "bytes is admitted without arguments only"),
    ],
)
def test_numpy_names_are_admitted_only_as_numpy_pickles_use_them(tmp_path, payload, refused):
    with pytest.raises(ModelFileError) as info:
        load_pickled_arrays(_write(tmp_path, {"W1": payload}, 2))
    assert refused in str(info.value) and "\n" not in str(info.value)


@pytest.mark.host
def test_the_pickle_is_read_once_and_its_digest_is_of_those_bytes(tmp_path, monkeypatch):
    import hashlib

    import nnxp.book_weights as book_weights

    path = _write(tmp_path, _book_params("ch03"), 4)
    reads = []
    real = book_weights.read_input
    monkeypatch.setattr(book_weights, "read_input",
                        lambda *args, **kw: reads.append(args) or real(*args, **kw))
    net, digest = book_weights.import_book_weights(path, "ch03")
    assert len(reads) == 1 and reads[0][1] == "pickle"
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert isinstance(net, MultiLayerNet)
