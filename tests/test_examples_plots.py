"""The numbers the chapter 3, 4, 7 and 8 figure scripts of examples/ print and the figures they
draw (quick mode), each script's ``main`` called in this process with NNXP_BOOK_DIR naming
the book's files (``$NNXP_BOOK_DIR``, ``../shared/data/book``) or, where neither is here, a
folder of random weights in the book's shapes."""

from __future__ import annotations

import argparse
import hashlib
import os
import runpy
from pathlib import Path

import numpy as np
import pytest

from tests.plot_files import book_pickle, png

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BOOK_FILES = ("ch07/params.pkl", "ch08/deep_convnet_params.pkl", "dataset/lena_gray.png")
REAL_CH08 = "4b7a27baee2037605afa94d3f514ca9fa9cc96623739328609765073cfd5f802"
"""sha256 of the book's ch08/deep_convnet_params.pkl (retrained 2022)."""


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory):
    for folder in (os.environ.get("NNXP_BOOK_DIR"), ROOT.parent / "shared" / "data" / "book"):
        if folder and all((Path(folder) / name).is_file() for name in BOOK_FILES):
            return Path(folder)
    folder = tmp_path_factory.mktemp("book")
    for name, arch in (("ch07/params.pkl", "ch07"), ("ch08/deep_convnet_params.pkl", "ch08")):
        (folder / name).parent.mkdir(parents=True)
        book_pickle(folder / name, arch)
    (folder / "dataset").mkdir()
    png(folder / "dataset" / "lena_gray.png", np.random.default_rng(0).random((40, 48)))
    return folder


def run_main(name, out, capsys, monkeypatch, book_dir=None, **options):
    """examples/NAME.py's main with ``--quick --out out`` (and ``options``), run from its
    folder; returns the lines it printed."""
    if book_dir is not None:
        monkeypatch.setenv("NNXP_BOOK_DIR", str(book_dir))
    monkeypatch.chdir(EXAMPLES / Path(name).parent)
    main = runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"]
    assert main(argparse.Namespace(quick=True, out=str(out), **options)) == 0
    return capsys.readouterr().out.splitlines()


def _png_shape(path):
    from matplotlib.image import imread

    return imread(path).shape[:2]


def test_mnist_show_prints_the_first_label_and_shapes(tmp_path, capsys, monkeypatch):
    from nnxp.datasets import load_dataset

    ((_, t), _), _ = load_dataset("mnist-5k", progress=False)
    lines = run_main("ch03/mnist_show", tmp_path, capsys, monkeypatch)
    assert lines == [str(t[0]), "(784,)", "(28, 28)", f"figure: {tmp_path / 'mnist_show.png'}"]
    assert t[0] == 4 and _png_shape(tmp_path / "mnist_show.png") == (430, 400)


def test_sig_step_compare_draws_one_figure(tmp_path, capsys, monkeypatch):
    lines = run_main("ch03/sig_step_compare", tmp_path, capsys, monkeypatch)
    assert lines == [f"figure: {tmp_path / 'sig_step_compare.png'}"]
    assert _png_shape(tmp_path / "sig_step_compare.png") == (480, 640)


def test_gradient_1d_prints_the_books_derivatives(tmp_path, capsys, monkeypatch):
    lines = run_main("ch04/gradient_1d", tmp_path, capsys, monkeypatch)
    assert lines == ["0.1999999999990898", "0.2999999999986347",
                     f"figure: {tmp_path / 'gradient_1d.png'}"]


def test_visualize_filter_loads_the_books_filters(tmp_path, capsys, monkeypatch, book_dir):
    lines = run_main("ch07/visualize_filter", tmp_path, capsys, monkeypatch, book_dir,
                     weights=None)
    assert lines == [f"trained filters: SimpleConvNet from the book's {book_dir}/ch07/params.pkl",
                     f"figure: {tmp_path / 'visualize_filter.png'}"]
    assert _png_shape(tmp_path / "visualize_filter.png")[1] > 1000


def test_apply_filter_prints_each_responses_range(tmp_path, capsys, monkeypatch, book_dir):
    """Filter 0's response, recomputed as a plain sliding window, has the printed range."""
    import pickle

    from nnxp.plot.images import read_gray_png

    lines = run_main("ch07/apply_filter", tmp_path, capsys, monkeypatch, book_dir, weights=None,
                     image=None)
    assert len(lines) == 17 and lines[-1] == f"figure: {tmp_path / 'apply_filter.png'}"
    img = read_gray_png(book_dir / "dataset" / "lena_gray.png")
    w = pickle.loads((book_dir / "ch07" / "params.pkl").read_bytes())["W1"][0, 0]
    windows = np.lib.stride_tricks.sliding_window_view(img, (5, 5))
    out = np.einsum("ijkl,kl->ij", windows, w.astype(np.float32).astype(np.float64))
    h, w_ = out.shape
    assert lines[0] == f"filter 0: response {h}x{w_}, from {out.min():.4f} to {out.max():.4f}"
    assert all(line.startswith(f"filter {i}: response {h}x{w_}, from ")
               for i, line in enumerate(lines[:16]))


def test_misclassified_mnist_prints_the_books_lines(tmp_path, capsys, monkeypatch, book_dir):
    from nnxp.datasets import load_dataset

    lines = run_main("ch08/misclassified_mnist", tmp_path, capsys, monkeypatch, book_dir,
                     weights=None)
    assert lines[0] == "calculating test accuracy ... "
    assert lines[1].startswith("test accuracy:")
    accuracy = float(lines[1].removeprefix("test accuracy:"))
    assert lines[2:4] == ["======= misclassified result =======",
                          "{view index: (label, inference), ...}"]
    pairs = eval(lines[4])  # a dict of int pairs, as the book prints it
    assert lines[5] == f"figure: {tmp_path / 'misclassified_mnist.png'}"
    wrong = round((1 - accuracy) * 500)
    assert len(pairs) == min(20, wrong) and list(pairs) == list(range(1, len(pairs) + 1))
    (_, (_, t_test)), _ = load_dataset("mnist-5k", progress=False)
    labels = [label for label, _ in pairs.values()]
    assert all(label in set(t_test[:500].tolist()) for label in labels)
    assert all(label != inference for label, inference in pairs.values())
    digest = hashlib.sha256((book_dir / "ch08" / "deep_convnet_params.pkl").read_bytes())
    if digest.hexdigest() == REAL_CH08:
        assert accuracy == 0.986
        assert pairs == {1: (1, 7), 2: (1, 2), 3: (1, 8), 4: (8, 4), 5: (8, 2), 6: (6, 5),
                         7: (5, 8)}
