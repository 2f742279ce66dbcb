"""``net.save_params`` / ``net.load_params`` (the book's method names) handed hostile paths
and files: each refusal is one NnxpError line, the net keeps its parameters, and no file is
left where a save was refused."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.models.two_layer import TwoLayerNet

pytestmark = pytest.mark.host


def _net(seed=0):
    return TwoLayerNet(6, 4, 3, seed=seed)


def _refused(call, *needles):
    with pytest.raises(NnxpError) as e:
        call()
    text = str(e.value)
    assert text and "\n" not in text, text
    for needle in needles:
        assert needle in text, (needle, text)


def _unchanged(net, before):
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], before[key])


def _write(path, data):
    path.write_bytes(data)
    return path


SHAPES = {"W1": (6, 4), "b1": (4,), "W2": (4, 3), "b2": (3,)}

LOADS = {
    "missing": (lambda d: d / "none.npz", "does not exist"),
    "directory": (lambda d: d, "directory"),
    "empty": (lambda d: _write(d / "e.npz", b""), "empty"),
    "png": (lambda d: _write(d / "p.npz", b"\x89PNG\r\n\x1a\n" + bytes(64)), "PNG"),
    "truncated": (lambda d: _write(d / "t.npz", _net().save_params(d / "f.npz").read_bytes()[:300]),
                  "t.npz"),
    "dev-zero": (lambda d: "/dev/zero", "device"),
    "a pickle of a list": (lambda d: _write(d / "l.pkl", pickle.dumps([1, 2])), "l.pkl"),
    "a pickle of ints": (lambda d: _write(d / "i.pkl", pickle.dumps(
        {key: np.zeros(shape, np.int64) for key, shape in SHAPES.items()})), "not floating point"),
    "a pickle of other names": (lambda d: _write(d / "o.pkl", pickle.dumps(
        {"W1": np.zeros((6, 4))})), "does not fit this net"),
    "a pickle of other shapes": (lambda d: _write(d / "s.pkl", pickle.dumps(
        {key: np.zeros(shape[::-1]) for key, shape in SHAPES.items()})), "W1 is (4, 6) there"),
}


@pytest.mark.parametrize("case", list(LOADS))
def test_load_params_refuses_in_one_line_and_changes_nothing(tmp_path, case):
    make, needle = LOADS[case]
    path = make(tmp_path)
    net = _net()
    before = {key: np.array(net.params[key]) for key in net.params}
    _refused(lambda: net.load_params(path), needle)
    _unchanged(net, before)


def test_load_params_refuses_a_fifo_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    _refused(lambda: _net().load_params(fifo), "FIFO")


@pytest.mark.parametrize("where", ["dir", "slash", "dev-null-dir"])
def test_save_params_refuses_places_that_are_no_file(tmp_path, where):
    target = {"dir": tmp_path, "slash": f"{tmp_path}/new/", "dev-null-dir": "/dev/null/p.npz"}
    _refused(lambda: _net().save_params(target[where]))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_save_then_load_the_same_path_twice(tmp_path):
    net, other = _net(0), _net(1)
    path = tmp_path / "p.npz"
    net.save_params(path)
    net.save_params(path)  # replaced atomically, no temporary file left
    other.load_params(path)
    other.load_params(path)
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz"]
    _unchanged(other, {key: np.array(net.params[key]) for key in net.params})
