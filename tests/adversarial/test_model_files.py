"""Model files are hostile: every mutation of a valid file, at the zip, npy-header and JSON
config level, either loads or is one ModelFileError line (exit 2 at `nnxp eval`), never
another exception, a hang or a large allocation. Cases are seeded (SEED) or written by hand.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import struct
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable

import numpy as np
import pytest

from nnxp.errors import ModelFileError
from nnxp.io import CONFIG_KEY, load_model, read_model_file, save_model
from nnxp.models.multi_layer import MultiLayerNetExtend
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import predict_labels
from tests.adversarial.conftest import SEED, assert_refused, cli, cli_process

pytestmark = pytest.mark.host

LOAD_PEAK = 64 * 2**20
"""Peak memory (tracemalloc) load_model may take on any mutation of the small model."""


@functools.cache
def _valid() -> tuple[bytes, dict[str, np.ndarray], dict]:
    """A valid model file for the tiny_data blobs (64 features, 10 classes): bytes, arrays,
    config."""
    import tempfile

    net = TwoLayerNet(64, 7, 10, backend="numpy", dtype="float32", seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = save_model(os.path.join(folder, "m.npz"), net,
                          {"dataset": {"name": "mnist-5k", "normalize": True},
                           "training": {"lr": 0.1}})
        data = path.read_bytes()
        arrays, meta = read_model_file(path)
    return data, arrays, meta


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header(descr: str, shape: str, fortran: str = "False", version: int = 1) -> bytes:
    """An npy header written by hand, so it can say anything."""
    text = f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}"
    body = text.encode("latin1") + b" " * (63 - (len(text) + 10) % 64) + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(body))
    return b"\x93NUMPY" + bytes([version, 0]) + size + body


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of (name, bytes), duplicates allowed, as np.savez writes."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w", method) as z:
            for name, data in members:
                z.writestr(name, data)
    return buffer.getvalue()


def _config(meta: object) -> bytes:
    return _npy(np.asarray(json.dumps(meta)))


def _model(meta: object | None = None, arrays: dict[str, np.ndarray] | None = None,
           extra: list[tuple[str, bytes]] = ()) -> bytes:
    """The valid model with its config and arrays replaced."""
    _, valid_arrays, valid_meta = _valid()
    arrays = valid_arrays if arrays is None else arrays
    members = [(f"{key}.npy", _npy(a)) for key, a in arrays.items()]
    members.append((f"{CONFIG_KEY}.npy", _config(valid_meta if meta is None else meta)))
    return _zip([*members, *extra])


def _with_member(key: str, data: bytes) -> bytes:
    """The valid model with one member's bytes replaced."""
    _, arrays, meta = _valid()
    members = [(f"{k}.npy", data if k == key else _npy(a)) for k, a in arrays.items()]
    return _zip([*members, (f"{CONFIG_KEY}.npy", _config(meta))])


def _meta(change: Callable[[dict], object]) -> bytes:
    """The valid model with ``change`` applied to (a copy of) its config."""
    meta = copy.deepcopy(_valid()[2])
    change(meta)
    return _model(meta)


def _check(tmp_path, data: bytes, name: str = "case.npz") -> bool:
    """Load ``data`` as a model file and run `nnxp eval` on it: loaded (True), or refused
    (False) as one ModelFileError line and exit 2; any other outcome fails."""
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    try:
        load_model(path)
        loaded = True
    except ModelFileError as exc:
        message = str(exc)
        assert "\n" not in message and "allow_pickle" not in message, message
        assert len(message) < 600, message
        loaded = False
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < LOAD_PEAK, f"load_model peaked at {peak / 2**20:.0f} MiB"
    result = cli(["eval", "--weights", path, "--json"])
    if loaded and result.code == 0:
        assert "Traceback" not in result.err, result.err[-2000:]
    elif loaded:  # loads, but names a dataset this run does not have
        assert_refused(result, "dataset")
    else:
        assert_refused(result, str(path))
    return loaded


def _refused(tmp_path, data: bytes, *needles: str) -> str:
    """Assert ``data`` is refused; the message contains every needle. Returns the message."""
    assert not _check(tmp_path, data)
    with pytest.raises(ModelFileError) as info:
        load_model(tmp_path / "case.npz")
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
    return str(info.value)


# ---- the zip level ------------------------------------------------------------------------

def _offsets() -> list[int]:
    size = len(_valid()[0])
    rng = np.random.default_rng(SEED)
    return sorted({0, 1, 4, 29, 30, size // 2, size - 22, size - 1,
                   *(int(n) for n in rng.integers(0, size, 40))})


@pytest.mark.parametrize("stop", _offsets())
def test_a_truncated_file_is_refused(tmp_path, tiny_data, stop):
    _refused(tmp_path, _valid()[0][:stop])


def _flips() -> list[tuple[str, int, int]]:
    """(where, offset, xor) for bytes in local headers, the central directory, its end
    record, and anywhere; seeded."""
    data = _valid()[0]
    rng = np.random.default_rng(SEED + 1)
    cases = []
    for signature, span, count in ((b"PK\x03\x04", 30, 24), (b"PK\x01\x02", 46, 24),
                                   (b"PK\x05\x06", 22, 12)):
        starts = [i for i in range(len(data)) if data.startswith(signature, i)]
        for _ in range(count):
            start = starts[int(rng.integers(len(starts)))]
            cases.append((signature.hex(), start + int(rng.integers(span)),
                          int(rng.integers(1, 256))))
    cases += [("any", int(rng.integers(len(data))), int(rng.integers(1, 256)))
              for _ in range(24)]
    return cases


@pytest.mark.parametrize(("where", "offset", "xor"), _flips())
def test_a_flipped_byte_loads_or_is_refused(tmp_path, tiny_data, where, offset, xor):
    data = bytearray(_valid()[0])
    data[offset] ^= xor
    _check(tmp_path, bytes(data))


def test_a_duplicate_member_is_refused(tmp_path, tiny_data):
    _, arrays, _ = _valid()
    twice = _model(extra=[("W1.npy", _npy(np.zeros((64, 7), np.float32)))])
    _refused(tmp_path, twice, "W1.npy", "appears twice")
    config_twice = _model(extra=[(f"{CONFIG_KEY}.npy", _config({"format": "nnxp-model"}))])
    _refused(tmp_path, config_twice, "appears twice")


@pytest.mark.parametrize(("name", "data", "needle"), [
    ("extra.npy", _npy(np.zeros(3, np.float32)), "config lists"),
    ("notes.txt", b"hello", "not named PARAMETER.npy"),
    ("dir/W9.npy", _npy(np.zeros(3, np.float32)), "not named PARAMETER.npy"),
    ("../W9.npy", _npy(np.zeros(3, np.float32)), "not named PARAMETER.npy"),
    (".npy", _npy(np.zeros(3, np.float32)), "not named PARAMETER.npy"),
    ("x" * 300 + ".npy", _npy(np.zeros(3, np.float32)), "not named PARAMETER.npy"),
])
def test_an_extra_member_is_refused(tmp_path, tiny_data, name, data, needle):
    _refused(tmp_path, _model(extra=[(name, data)]), needle)


def test_a_missing_config_is_refused(tmp_path, tiny_data):
    _, arrays, _ = _valid()
    _refused(tmp_path, _zip([(f"{k}.npy", _npy(a)) for k, a in arrays.items()]),
             "no nnxp config")


def test_compressed_members(tmp_path, tiny_data):
    _, arrays, meta = _valid()
    members = [*((f"{k}.npy", _npy(a)) for k, a in arrays.items()),
               (f"{CONFIG_KEY}.npy", _config(meta))]
    assert _check(tmp_path, _zip(members, zipfile.ZIP_DEFLATED))  # np.savez_compressed's
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        _refused(tmp_path, _zip(members, method), f"method {method}")


@pytest.mark.parametrize("field", ["file_size", "compress_size"])
@pytest.mark.parametrize("value", [0, 1, 2**31, 2**32 - 2])
def test_huge_or_wrong_sizes_in_the_zip_directory_are_refused(tmp_path, tiny_data, field,
                                                              value):
    data = bytearray(_valid()[0])
    entry = data.index(b"PK\x01\x02")
    at = entry + (24 if field == "file_size" else 20)
    data[at:at + 4] = struct.pack("<I", value)
    _refused(tmp_path, bytes(data))


def test_a_directory_of_millions_of_entries_is_refused_before_it_is_parsed(tmp_path,
                                                                           tiny_data):
    data = bytearray(_valid()[0])
    end = data.rindex(b"PK\x05\x06")
    data[end + 8:end + 16] = struct.pack("<HHI", 65535, 65535, 2**31)
    _refused(tmp_path, bytes(data), "members in a directory")


# ---- the npy header level -----------------------------------------------------------------

W1 = np.arange(64 * 7, dtype=np.float32).reshape(64, 7) / 1000


@pytest.mark.parametrize(("data", "needle"), [
    (b"\x93NUMPX\x01\x00" + _npy(W1)[8:], "no npy magic"),
    (b"", "no npy magic"),
    (_npy(W1)[:9], "ends inside its header"),
    (_npy(W1)[:40], "ends inside its header"),
    (b"\x93NUMPY\x03\x00" + _npy(W1)[8:], "npy version 3.0"),
    (b"\x93NUMPY\x09\x09" + _npy(W1)[8:], "npy version 9.9"),
    (b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{" * 100, "header of 2,147,483,648"),
    (b"\x93NUMPY\x01\x00" + struct.pack("<H", 65535) + b" " * 65535, "header of 65,535"),
    (_header("'<O'", "(64, 7)") + bytes(64 * 7 * 8), "'object' values"),
    (_header("'|V8'", "(64, 7)") + bytes(64 * 7 * 8), "'|V8' values"),
    (_header("[('a', '<f4')]", "(64, 7)") + bytes(64 * 7 * 4), "values, not float16"),
    (_header("('<f4', (2,))", "(64, 7)") + bytes(64 * 7 * 8), "W1"),
    (_header("'<i4'", "(64, 7)") + bytes(64 * 7 * 4), "'int32' values"),
    (_header("'<c8'", "(64, 7)") + bytes(64 * 7 * 8), "'complex64' values"),
    (_header("'<f16'", "(64, 7)") + bytes(64 * 7 * 16), "values, not float16"),
    (_header("'S4'", "(64, 7)") + bytes(64 * 7 * 4), "values, not float16"),
    (_header("'nonsense'", "(64, 7)") + bytes(64 * 7 * 4), "unreadable npy header"),
    (_header("__import__('os').system('true')", "(64, 7)"), "unreadable npy header"),
    (_header("'<f4'", "(-64, -7)") + bytes(64 * 7 * 4), "not a list of"),
    (_header("'<f4'", "(64, 7.0)") + bytes(64 * 7 * 4), "unreadable npy header"),
    (_header("'<f4'", "(True, 7)") + bytes(7 * 4), "not a list of"),
    (_header("'<f4'", "[64, 7]") + bytes(64 * 7 * 4), "unreadable npy header"),
    (_header("'<f4'", "(1,) * 9") + bytes(4), "unreadable npy header"),
    (_header("'<f4'", "(1, 1, 1, 1, 1, 1, 1, 1, 1)") + bytes(4), "not a list of at most 8"),
    (_header("'<f4'", "(10**10,)") + bytes(64), "unreadable npy header"),
    (_header("'<f4'", "(100000, 100000)") + bytes(64 * 7 * 4), "holds 1.8 kB"),
    (_header("'<f4'", "(64, 7)", "'yes'") + bytes(64 * 7 * 4), "unreadable npy header"),
    (_header("'<f4'", "(64, 7)") + bytes(64 * 7 * 4 - 1), "but holds"),
    (_header("'<f4'", "(64, 7)") + bytes(64 * 7 * 4 + 1), "but holds"),
    (_header("'<f4'", "(64, 8)") + bytes(64 * 8 * 4), "W1 is float32[64, 8]"),
    (_header("'<f4'", "(" * 150 + ")" * 150) + bytes(4), "W1 is float32[]"),
    (_header("'<f4'", "(" * 250 + "1," + ")" * 250) + bytes(4), "unreadable npy header"),
    (_header("'<f4'", "(64, 7)", version=2)[:8] + b"\xff\xff\xff\xff", "header of"),
])
def test_a_bad_npy_header_is_refused(tmp_path, tiny_data, data, needle):
    _refused(tmp_path, _with_member("W1", data), "W1", needle)


def test_big_endian_and_fortran_order_floats_load_as_native(tmp_path, tiny_data):
    """Decided: any plain float16/32/64 array loads, converted to the net's native dtype."""
    for array in (W1.astype(">f8"), np.asfortranarray(W1), W1.astype(np.float16),
                  np.asfortranarray(W1.astype(">f4"))):
        assert _check(tmp_path, _with_member("W1", _npy(array)))
        net, _ = load_model(tmp_path / "case.npz")
        np.testing.assert_array_equal(net.params["W1"], W1.astype(array.dtype).astype("f4"))
        assert net.params["W1"].dtype == np.float32 and net.params["W1"].flags.c_contiguous


@pytest.mark.parametrize(("config", "needle"), [
    (np.asarray(1.5), "not a config text"),
    (np.asarray(["{}", "{}"]), "not a config text"),
    (np.asarray(b"{}"), "not a config text"),
    (np.asarray("x" * (1 << 20 + 1)), "not a config text"),
    (np.asarray("[" * 100_000 + "]" * 100_000), "nested 100000 deep"),
    (np.asarray('{"a": ' * 50_000 + "1" + "}" * 50_000), "nested 50000 deep"),
    (np.asarray("{not json"), "unreadable config"),
    (np.asarray('{"format": "nnxp-model", "format": "nnxp-model"}'), "appear twice"),
    (np.asarray('{"format": NaN}'), "NaN is not JSON"),
    (np.asarray("1" * 5000), "unreadable config"),
    (np.asarray("[]"), "not an nnxp model file"),
    (np.asarray('"nnxp-model"'), "not an nnxp model file"),
])
def test_a_bad_config_member_is_refused(tmp_path, tiny_data, config, needle):
    start = time.perf_counter()
    _refused(tmp_path, _with_config(config), needle)
    assert time.perf_counter() - start < 10


def _with_config(config: np.ndarray) -> bytes:
    _, arrays, _ = _valid()
    return _zip([*((f"{k}.npy", _npy(a)) for k, a in arrays.items()),
                 (f"{CONFIG_KEY}.npy", _npy(config))])


# ---- the JSON config level ----------------------------------------------------------------

REPLACEMENTS: dict[str, object] = {
    "null": None, "number": 12345, "negative": -1, "zero": 0, "float": 1.5, "true": True,
    "string": "x", "list": [1, 2], "list-of-lists": [[1]], "dict": {"a": 1},
    "deep": functools.reduce(lambda inner, _: [inner], range(12), 0),
}


def _config_cases() -> list[tuple[str, Callable[[dict], object]]]:
    """Every key of the config and of its model removed, and each value replaced."""
    meta = _valid()[2]
    cases: list[tuple[str, Callable[[dict], object]]] = []

    def drop(*path):
        def change(m):
            parent = functools.reduce(lambda d, k: d[k], path[:-1], m)
            del parent[path[-1]]
        return change

    def put(value, *path):
        def change(m):
            parent = functools.reduce(lambda d, k: d[k], path[:-1], m)
            parent[path[-1]] = copy.deepcopy(value)
        return change

    paths = [(key,) for key in meta] + [("model", key) for key in meta["model"]] + [
        ("params", key) for key in meta["params"]] + [("dataset", key) for key in
                                                      meta["dataset"]]
    for path in paths:
        cases.append(("-".join(path) + ":removed", drop(*path)))
        for name, value in REPLACEMENTS.items():
            cases.append(("-".join(path) + f":{name}", put(value, *path)))
    return cases


@pytest.mark.parametrize(("case", "change"), _config_cases(), ids=[c for c, _ in _config_cases()])
def test_a_mutated_config_loads_or_is_refused(tmp_path, tiny_data, case, change):
    _check(tmp_path, _meta(change))


@pytest.mark.parametrize(("change", "needle"), [
    (lambda m: m.update(format_version=99), "format version 99, this nnxp reads up to 2"),
    (lambda m: m.update(format_version="1"), "format version '1'"),
    (lambda m: m.update(dtype="float8"), "dtype 'float8', not one of float16, float32, float64"),
    (lambda m: m.update(dtype=None), "dtype None"),
    (lambda m: m.update(dtype=32), "dtype 32"),
    (lambda m: m.update(dataset=None), "dataset is None"),
    (lambda m: m.update(dataset={"name": 5}), "dataset is"),
    (lambda m: m.update(model=None), "no architecture"),
    (lambda m: m.update(model={"model": "two-layer", "input_size": 64, "hidden_size": 7,
                               "output_size": 10, "activation": {"a": {"b": 1}}}),
     "activation"),
    (lambda m: m["params"].update(W3=[2, 2]), "config lists"),
    (lambda m: m["params"].pop("W2"), "config lists"),
    (lambda m: m.update(buffers={"W1": [64, 7]}), "both parameters and buffers"),
    (lambda m: m.update(buffers={"running_mean1": [7]}), "config lists"),
    (lambda m: m["params"].update(W1=[64, -7]), "not a list of sizes"),
    (lambda m: m["params"].update(W1=[64, 7, 1]), "expected a float array of shape"),
    (lambda m: m["params"].update({"../W1": [64, 7]}), "not a plain name"),
    (lambda m: m["model"].update(hidden_size=10**12), "do not fit the architecture"),
    (lambda m: m["model"].update(hidden_size=-7), "hidden size is -7"),
    (lambda m: m["model"].update(hidden_size=0), "hidden size is 0"),
    (lambda m: m["model"].update(input_size=10**15), "do not fit the architecture"),
    (lambda m: m["model"].update(output_size=0), "output_size is 0"),
    (lambda m: m["model"].update(model="resnet"), "unknown model 'resnet'"),
    (lambda m: m["model"].update(depth=3), "unexpected keyword argument 'depth'"),
    (lambda m: m["model"].update(activation="gelu"), "unknown activation 'gelu'"),
])
def test_a_bad_config_is_refused(tmp_path, tiny_data, change, needle):
    _refused(tmp_path, _meta(change), needle)


def test_a_config_claiming_a_huge_net_with_matching_headers_is_refused(tmp_path, tiny_data):
    """hidden_size 10^12 in the config, the params and the npy headers, with small data."""
    big = 10**12
    meta = copy.deepcopy(_valid()[2])
    meta["model"]["hidden_size"] = big
    meta["params"].update(W1=[64, big], b1=[big], W2=[big, 10])
    members = [("W1.npy", _header("'<f4'", f"(64, {big})") + bytes(64)),
               ("b1.npy", _header("'<f4'", f"({big},)") + bytes(64)),
               ("W2.npy", _header("'<f4'", f"({big}, 10)") + bytes(64)),
               ("b2.npy", _npy(np.zeros(10, np.float32))),
               (f"{CONFIG_KEY}.npy", _config(meta))]
    _refused(tmp_path, _zip(members), "but holds")


def test_conv_and_batchnorm_configs_are_checked_against_their_arrays(tmp_path, tiny_data):
    from nnxp.models.conv import SimpleConvNet

    conv = SimpleConvNet((1, 8, 8), {"filter_num": 3, "filter_size": 3}, hidden_size=5,
                         output_size=10, seed=0)
    norm = MultiLayerNetExtend(64, [6, 5], 10, use_batchnorm=True, seed=0)
    for net, change, needle in (
        (conv, lambda m: m["model"]["conv_param"].update(filter_num=10**9), "do not fit"),
        (conv, lambda m: m["model"]["conv_param"].update(stride=0), "stride is 0"),
        (conv, lambda m: m["model"].update(conv_param=7), "conv_param is 7"),
        (conv, lambda m: m["model"].update(input_dim=[1, 10**9, 10**9]), "do not fit"),
        (conv, lambda m: m["model"].update(input_dim=[1, 2, 2]), "does not fit an input"),
        (norm, lambda m: m["model"].update(hidden_size_list=[6, 10**12]), "do not fit"),
        (norm, lambda m: m["model"].update(use_batchnorm=False), "do not fit"),
    ):
        path = save_model(tmp_path / "net.npz", net)
        arrays, meta = read_model_file(path)
        assert _check(tmp_path, path.read_bytes(), "net.npz")
        change(meta)
        _refused(tmp_path, _model(meta, arrays), needle)


# ---- what the file is not ----------------------------------------------------------------

@pytest.mark.parametrize(("data", "needle"), [
    (_npy(np.zeros((3, 3), np.float32)), "is a single NumPy array (.npy), not a model file"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "is a PNG image, not a model file"),
    (b'{"epoch": 1, "loss": 0.5}\n{"epoch": 2, "loss": 0.4}\n', "is JSON text"),
    (b"\x80\x04\x95" + bytes(30), "is a Python pickle, not a model file"),
    (b"", "is empty"),
    (b"\x00" * 100, "corrupt or not an .npz"),
])
def test_a_file_that_is_not_a_model_file_says_what_it_is(tmp_path, tiny_data, data, needle):
    message = _refused(tmp_path, data, needle)
    assert "allow_pickle" not in message and "pickle=" not in message


def test_special_files_are_refused_without_hanging(workdir):
    os.mkfifo("fifo.npz")
    os.symlink("nowhere.npz", "dangling.npz")
    os.mkdir("folder.npz")
    for target, needle in (("fifo.npz", "FIFO"), (os.devnull, "character device"),
                           ("/dev/zero", "character device"),
                           ("dangling.npz", "symbolic link to nowhere.npz"),
                           ("folder.npz", "is a directory"),
                           ("missing.npz", "does not exist; train one")):
        result = cli_process(["eval", "--weights", target], cwd=workdir, timeout=20)
        assert_refused(result, needle)


# ---- the decompression bomb and wide models ----------------------------------------------

def _bomb(path, hidden: int = 200_000) -> None:
    """The 620 KB file of deflated zeros for a hidden size of 200,000 (627 MB of W1)."""
    meta = copy.deepcopy(_valid()[2])
    meta["model"].update(input_size=784, hidden_size=hidden)
    meta["params"].update(W1=[784, hidden], b1=[hidden], W2=[hidden, 10])
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for key, shape in meta["params"].items():
            with z.open(f"{key}.npy", "w", force_zip64=True) as f:
                f.write(_header("'<f4'", str(tuple(shape))))
                left = int(np.prod(shape)) * 4
                while left:
                    f.write(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
        z.writestr(f"{CONFIG_KEY}.npy", _config(meta))


def test_the_decompression_bomb_is_refused_quickly_and_cheaply(workdir, tiny_data):
    _bomb(workdir / "bomb.npz")
    assert (workdir / "bomb.npz").stat().st_size < 700_000
    result = cli(["eval", "--weights", "bomb.npz"])
    assert_refused(result, "W1.npy", "more than 200 times", "decompression bomb",
                   peak=16 * 2**20)
    assert result.seconds < 2 and tiny_data == []


def test_predict_labels_bounds_the_widest_layer_per_chunk():
    net = TwoLayerNet(8, 4096, 3, backend="numpy", dtype="float32", seed=0)
    x = np.random.default_rng(SEED).standard_normal((100, 8)).astype(np.float32)
    sizes = []
    predict = net.predict
    net.predict = lambda chunk: sizes.append(chunk.shape[0]) or predict(chunk)
    labels = predict_labels(net, x, batch_size=1000, max_bytes=16 * 4096 * 4)
    assert max(sizes) == 16 and sum(sizes) == 100
    np.testing.assert_array_equal(labels, np.argmax(predict(x), axis=1))
    sizes.clear()
    predict_labels(net, x, batch_size=10)
    assert max(sizes) == 10


def test_a_five_class_model_on_ten_class_data_is_one_line(workdir, tiny_data):
    path = save_model(workdir / "five.npz", TwoLayerNet(64, 7, 5, seed=0))
    assert_refused(cli(["eval", "--weights", path]), "5 classes")
