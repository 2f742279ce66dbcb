"""Model files: round trips on the backend under test; bad files are one-line errors."""

from __future__ import annotations

import json
import warnings
import zipfile

import numpy as np
import pytest

from nnxp.errors import ModelFileError, NnxpError
from nnxp.files import atomic_write_text
from nnxp.io import (
    CONFIG_KEY,
    check_writable,
    load_model,
    output_size,
    read_model_file,
    save_model,
)
from nnxp.models.conv import SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNet, MultiLayerNetExtend
from nnxp.models.two_layer import TwoLayerNet
from tests.helpers import assert_close

X = np.linspace(0.0, 1.0, 5 * 12, dtype=np.float64).reshape(5, 12)


def _nets(backend, dtype):
    return [
        TwoLayerNet(12, 7, 4, activation="relu", backend=backend, dtype=dtype, seed=1),
        MultiLayerNet(12, [6, 5], 4, activation="sigmoid", weight_init_std="xavier",
                      backend=backend, dtype=dtype, seed=2),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_on_the_backend(backend, tmp_path, dtype):
    for i, net in enumerate(_nets(backend, dtype)):
        path = save_model(tmp_path / f"m{i}.npz", net, {"dataset": {"name": "blobs"}})
        loaded, meta = load_model(path, backend=backend.with_dtype(dtype))
        assert type(loaded) is type(net) and loaded.config == net.config
        assert meta["dtype"] == dtype and meta["dataset"] == {"name": "blobs"}
        want = backend.xp.float32 if dtype == "float32" else backend.xp.float64
        for key in net.params:
            assert_close(loaded.params[key], backend.to_numpy(net.params[key]), backend,
                         rtol=0, dtype=want)
        assert_close(loaded.predict(X), backend.to_numpy(net.predict(X)), backend, rtol=0)


def _trained_batchnorm_net(backend, dtype):
    """A MultiLayerNetExtend whose running statistics moved away from their zeros."""
    net = MultiLayerNetExtend(12, [6, 5], 4, use_batchnorm=True, use_dropout=True,
                              dropout_ratio=0.2, weight_decay_lambda=0.01,
                              backend=backend, dtype=dtype, seed=4)
    t = np.arange(5) % 4
    for _ in range(3):
        net.gradient(X, t)
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_buffers_round_trip_on_the_backend(backend, tmp_path, dtype):
    net = _trained_batchnorm_net(backend, dtype)
    assert len(net.buffers) == 4
    path = save_model(tmp_path / "bn.npz", net)
    loaded, meta = load_model(path, backend=backend.with_dtype(dtype))
    assert loaded.config == net.config and meta["format_version"] == 2
    assert sorted(meta["buffers"]) == sorted(net.buffers)
    for key in net.buffers:
        assert_close(loaded.buffers[key], backend.to_numpy(net.buffers[key]), backend, rtol=0)
    for key in net.params:
        assert_close(loaded.params[key], backend.to_numpy(net.params[key]), backend, rtol=0)
    assert_close(loaded.predict(X), backend.to_numpy(net.predict(X)), backend, rtol=0)


def test_a_conv_net_round_trips_on_the_backend(backend, tmp_path):
    net = SimpleConvNet((1, 8, 8), {"filter_num": 3, "filter_size": 3}, hidden_size=5,
                        output_size=4, backend=backend, dtype="float32", seed=5)
    path = save_model(tmp_path / "conv.npz", net)
    loaded, meta = load_model(path, backend=backend.with_dtype("float32"))
    assert loaded.config == net.config and meta["format_version"] == 1
    images = X[:, :8].reshape(5, 1, 2, 4).repeat(4, axis=2).repeat(2, axis=3)
    assert_close(loaded.predict(images), backend.to_numpy(net.predict(images)), backend, rtol=0)


@pytest.mark.host
def test_a_file_without_buffers_still_loads_with_a_warning(tmp_path):
    net = _trained_batchnorm_net("numpy", "float32")
    arrays, meta = read_model_file(save_model(tmp_path / "bn.npz", net))
    old = {key: arrays[key] for key in meta["params"]}
    meta = {key: value for key, value in meta.items() if key != "buffers"}
    path = tmp_path / "old.npz"
    np.savez(path, **old, **{CONFIG_KEY: np.asarray(json.dumps({**meta, "format_version": 1}))})
    with pytest.warns(UserWarning, match="predates saved running statistics"):
        loaded, _ = load_model(path)
    for key in net.params:
        np.testing.assert_array_equal(loaded.params[key], net.params[key])
    np.testing.assert_array_equal(loaded.buffers["running_var1"], np.zeros(6, np.float32))

    plain = save_model(tmp_path / "plain.npz", TwoLayerNet(12, 7, 4, seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(plain)


@pytest.mark.host
def test_damaged_buffers_are_refused(tmp_path):
    arrays, meta = read_model_file(save_model(tmp_path / "bn.npz",
                                              _trained_batchnorm_net("numpy", "float32")))

    def rewrite(name, arrays, meta):
        path = tmp_path / name
        np.savez(path, **arrays, **{CONFIG_KEY: np.asarray(json.dumps(meta))})
        return path

    missing = {k: v for k, v in arrays.items() if k != "running_mean1"}
    with pytest.raises(ModelFileError, match="config lists"):
        load_model(rewrite("missing.npz", missing, meta))
    bad = {**arrays, "running_var2": np.zeros(3, np.float32)}
    with pytest.raises(ModelFileError, match="buffer running_var2"):
        load_model(rewrite("shape.npz", bad, meta))
    both = {**arrays, "running_var2": np.zeros(3, np.float32)}
    meta_both = {**meta, "buffers": {**meta["buffers"], "running_var2": [3]}}
    with pytest.raises(ModelFileError, match="its buffers"):
        load_model(rewrite("arch.npz", both, meta_both))
    twice = {**meta, "buffers": {**meta["buffers"], "W1": meta["params"]["W1"]}}
    with pytest.raises(ModelFileError, match="config lists"):
        load_model(rewrite("twice.npz", arrays, twice))


def test_a_numpy_file_loads_on_the_backend(backend, tmp_path):
    net = TwoLayerNet(12, 7, 4, activation="relu", backend="numpy", dtype="float32", seed=3)
    path = save_model(tmp_path / "numpy.npz", net)
    loaded, meta = load_model(path, backend=backend.name, device=backend.device)
    assert meta["dtype"] == "float32"
    assert_close(loaded.params["W1"], net.params["W1"], backend, rtol=0)
    assert_close(loaded.predict(X), net.predict(X), backend, rtol=1e-5, atol=1e-6)


@pytest.mark.host
def test_file_holds_params_and_json_config_without_pickle(tmp_path):
    net = TwoLayerNet(12, 7, 4, backend="numpy", dtype="float32", seed=0)
    path = save_model(tmp_path / "m.npz", net, {"training": {"lr": 0.1}})
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted([CONFIG_KEY, "W1", "b1", "W2", "b2"])
        meta = json.loads(str(npz[CONFIG_KEY]))
    assert meta["format"] == "nnxp-model" and meta["format_version"] == 1
    assert meta["model"] == net.config and meta["dtype"] == "float32"
    assert meta["params"]["W1"] == [12, 7] and meta["training"] == {"lr": 0.1}
    assert "nnxp_version" in meta
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message
    return message


@pytest.mark.host
def test_missing_and_corrupt_files_are_model_file_errors(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist; train one") as info:
        load_model(tmp_path / "nope.npz")
    _one_line(info.value)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ModelFileError, match="corrupt or not an .npz") as info:
        load_model(garbage)
    _one_line(info.value)
    net = TwoLayerNet(12, 7, 4, backend="numpy", seed=0)
    good = save_model(tmp_path / "good.npz", net)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ModelFileError) as info:
        load_model(truncated)
    _one_line(info.value)
    with pytest.raises(ModelFileError, match="is a directory"):
        load_model(tmp_path)


@pytest.mark.host
def test_foreign_and_inconsistent_files_are_refused(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, W1=np.zeros((2, 2)))
    with pytest.raises(ModelFileError, match="no nnxp config"):
        load_model(plain)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, W1=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="W1.npy holds 'object' values, not float") as info:
        load_model(pickled)
    assert "allow_pickle" not in _one_line(info.value)

    net = TwoLayerNet(12, 7, 4, backend="numpy", seed=0)
    good = save_model(tmp_path / "good.npz", net)
    arrays, meta = read_model_file(good)

    def rewrite(name, arrays, meta):
        path = tmp_path / name
        np.savez(path, **arrays, **{CONFIG_KEY: np.asarray(json.dumps(meta))})
        return path

    bad_shape = {**arrays, "W1": np.zeros((12, 8), np.float32)}
    with pytest.raises(ModelFileError, match="parameter W1"):
        load_model(rewrite("shape.npz", bad_shape, meta))
    both = {**bad_shape, "b1": np.zeros(8, np.float32)}
    meta_both = {**meta, "params": {**meta["params"], "W1": [12, 8], "b1": [8]}}
    with pytest.raises(ModelFileError, match="do not fit the architecture"):
        load_model(rewrite("arch.npz", both, meta_both))
    with pytest.raises(ModelFileError, match="config lists"):
        load_model(rewrite("missing.npz", {k: arrays[k] for k in ("W1", "b1")}, meta))
    with pytest.raises(ModelFileError, match="upgrade nnxp"):
        load_model(rewrite("future.npz", arrays, {**meta, "format_version": 99}))
    with pytest.raises(ModelFileError, match="cannot build"):
        load_model(rewrite("model.npz", arrays, {**meta, "model": {"model": "resnet"}}))
    with zipfile.ZipFile(tmp_path / "badjson.npz", "w") as z:
        with z.open(CONFIG_KEY + ".npy", "w") as f:
            np.save(f, np.asarray("{not json"))
    with pytest.raises(ModelFileError, match="unreadable config"):
        load_model(tmp_path / "badjson.npz")


@pytest.mark.host
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    net = TwoLayerNet(12, 7, 4, backend="numpy", seed=0)
    path = save_model(tmp_path / "m.npz", net)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(NnxpError, match="No space left on device; free some space"):
        save_model(path, TwoLayerNet(12, 7, 4, backend="numpy", seed=1))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


@pytest.mark.host
def test_check_writable_names_the_problem(tmp_path):
    assert check_writable(tmp_path / "ok.npz") == tmp_path / "ok.npz"
    with pytest.raises(NnxpError, match="does not exist; create it"):
        check_writable(tmp_path / "no" / "such" / "m.npz", "model")
    with pytest.raises(NnxpError, match="is a directory"):
        check_writable(tmp_path)
    atomic_write_text(tmp_path / "t.txt", "hello\n")
    assert (tmp_path / "t.txt").read_text() == "hello\n"


@pytest.mark.host
def test_output_size_is_the_classes_the_checked_net_scores(tmp_path):
    for net in (TwoLayerNet(12, 7, 5, seed=0),
                MultiLayerNetExtend(12, [6, 5], 3, use_batchnorm=True, seed=0),
                SimpleConvNet((1, 8, 8), {"filter_num": 3, "filter_size": 3}, hidden_size=5,
                              output_size=4, seed=0)):
        path = save_model(tmp_path / "m.npz", net)
        loaded, meta = load_model(path)
        assert output_size(meta) == net.config["output_size"] == loaded.config["output_size"]
        assert output_size(read_model_file(path)[1]) == net.config["output_size"]
    arrays, meta = read_model_file(path)
    meta["model"]["output_size"] = 7
    np.savez(tmp_path / "claims7.npz", **arrays, **{CONFIG_KEY: np.asarray(json.dumps(meta))})
    with pytest.raises(ModelFileError, match=r"do not fit the architecture it describes \(W3"):
        read_model_file(tmp_path / "claims7.npz")
