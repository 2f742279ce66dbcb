"""Hostile dtypes and NNXP_BOOK_DIR values: ``nnxp eval --dtype``, ``nnxp convert`` (its
dtype and the pickle found through NNXP_BOOK_DIR), ``nnxp train --dtype float16`` and the
Python API's ``dtype=``: one line, exit code 2 (NnxpError in the library), nothing written."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from nnxp.backends import DtypeError, get_backend
from nnxp.book_weights import book_network, load_book_weights
from nnxp.errors import NnxpError
from nnxp.io import load_model, save_model
from tests.adversarial.conftest import assert_refused, cli, snapshot


@pytest.fixture
def model(workdir):
    """m.npz: the chapter-3 net in float32."""
    save_model("m.npz", book_network("ch03"), {"dataset": {"normalize": True}})
    return workdir / "m.npz"


@pytest.fixture
def book_dir(tmp_path, monkeypatch):
    """NNXP_BOOK_DIR with the book's ch07/params.pkl (random weights in its shapes)."""
    folder = tmp_path / "book"
    (folder / "ch07").mkdir(parents=True)
    params = {k: np.asarray(v) for k, v in book_network("ch07").params.items()}
    (folder / "ch07" / "params.pkl").write_bytes(pickle.dumps(params))
    monkeypatch.setenv("NNXP_BOOK_DIR", str(folder))
    return folder


@pytest.mark.parametrize("dtype", ["float8", "", "FLOAT16", "float16 ", "half", "f2", "int8",
                                   "bfloat16", "float128", "complex64", "\n"])
def test_eval_refuses_a_dtype_it_does_not_compute_in(model, dtype):
    assert_refused(cli(["eval", "--weights", model, "--dtype", dtype]), "argument --dtype",
                   "invalid choice")


@pytest.mark.parametrize("dtype", ["float8", "float16x", "\x00"])
def test_convert_refuses_a_dtype_it_does_not_write(workdir, book_dir, dtype):
    assert_refused(cli(["convert", "--arch", "ch07", "-o", "m.npz", "--dtype", dtype]),
                   "argument --dtype", "invalid choice")
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("argv", [["--dtype", "float16"], ["--dtype=float16"],
                                  ["--dtype", "float32", "--dtype", "float16"]])
def test_train_refuses_float16_saying_why(workdir, tiny_data, argv):
    assert_refused(cli(["train", "--iters", "1", "--save", "m.npz", *argv]),
                   "float16 is for evaluation and inference only", "train in float32")
    assert tiny_data == [] and list(workdir.iterdir()) == []


def test_eval_in_float16_where_the_backend_has_none_says_so(model, tiny_data):
    pytest.importorskip("array_api_strict")
    assert_refused(cli(["eval", "--weights", model, "--dtype", "float16", "--backend",
                        "array_api_strict"]),
                   "backend 'array_api_strict'", "cannot compute in float16", "use float32")
    assert tiny_data == []


@pytest.mark.parametrize("dtype", ["float8", 16, np.float16, ["float16"], "Float16", b"float16"])
def test_the_python_api_refuses_a_dtype_in_one_line(model, dtype):
    for call in (lambda: load_model(model, dtype=dtype),
                 lambda: get_backend("numpy", dtype=dtype),
                 lambda: book_network("ch03", dtype=dtype)):
        with pytest.raises(DtypeError) as caught:
            call()
        assert "\n" not in str(caught.value) and "unknown dtype" in str(caught.value)


def test_load_book_weights_in_float16_where_the_backend_has_none(book_dir):
    pytest.importorskip("array_api_strict")
    with pytest.raises(NnxpError, match="^backend 'array_api_strict' on CPU_DEVICE cannot "
                       "compute in float16: .*; use float32"):
        load_book_weights(book_dir / "ch07" / "params.pkl", "ch07", backend="array_api_strict",
                          dtype="float16")


def _book_dirs(tmp_path):
    """NNXP_BOOK_DIR values that hold no readable ch07/params.pkl."""
    a_file = tmp_path / "file"
    a_file.write_text("x")
    pkl_is_dir = tmp_path / "dirpkl"
    (pkl_is_dir / "ch07" / "params.pkl").mkdir(parents=True)
    device = tmp_path / "dev"
    (device / "ch07").mkdir(parents=True)
    os.symlink("/dev/zero", device / "ch07" / "params.pkl")
    loop = tmp_path / "loop"
    (loop / "ch07").mkdir(parents=True)
    os.symlink("params.pkl", loop / "ch07" / "params.pkl")
    return [str(a_file), str(pkl_is_dir), str(device), str(loop), str(tmp_path / "absent"),
            "a" * 5000, "line\nbreak", " ", "~"]


def test_convert_with_a_hostile_nnxp_book_dir_says_how_to_get_the_pickle(workdir, tmp_path,
                                                                         monkeypatch):
    for value in _book_dirs(tmp_path):
        monkeypatch.setenv("NNXP_BOOK_DIR", value)
        before = snapshot(workdir)
        assert_refused(cli(["convert", "--arch", "ch07", "-o", "m.npz"]),
                       "has no ch07/params.pkl", "git clone", "nnxp convert PATH --arch ch07")
        assert snapshot(workdir) == before


def test_convert_refuses_to_write_over_the_books_pickle(workdir, book_dir):
    pkl = book_dir / "ch07" / "params.pkl"
    before = snapshot(book_dir)
    assert_refused(cli(["convert", "--arch", "ch07", "-o", pkl]), "is also the input BOOK.pkl")
    assert snapshot(book_dir) == before
