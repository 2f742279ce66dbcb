"""The figures: valid PNGs, written atomically; the descent path is the book's."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.plot import FIGURES, descent_path, function_2, plot_figure, plot_history

pytest.importorskip("matplotlib")

pytestmark = pytest.mark.host

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_width=300):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height >= 200
    assert data[-8:-4] == b"IEND"


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_is_a_png(tmp_path, name):
    path = plot_figure(name, tmp_path / f"{name}.png")
    assert_png(path)
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.png"]


def test_history_png(tmp_path):
    rng = np.random.default_rng(0)
    history = {
        "train_acc": [0.8, 0.9, 0.95],
        "test_acc": [0.79, 0.88, 0.93],
        "train_loss": list(2.3 * np.exp(-np.arange(300) / 50) + 0.05 * rng.random(300)),
    }
    assert_png(plot_history(history, tmp_path / "h.png"), min_width=800)


def test_descent_path_is_the_books():
    """From (-3, 4) with lr 0.1, each step multiplies x by 0.8 (the gradient of x0^2 + x1^2
    is 2x); after 100 steps the book prints [-6.11110793e-10, 8.14814391e-10]."""
    path = descent_path(function_2, (-3.0, 4.0), lr=0.1, step_num=20)
    assert path.shape == (21, 2)
    np.testing.assert_allclose(path[-1], np.array([-3.0, 4.0]) * 0.8**20, rtol=1e-6)
    long = descent_path(function_2, (-3.0, 4.0), lr=0.1, step_num=100)
    np.testing.assert_allclose(long[-1], [-6.11110793e-10, 8.14814391e-10], rtol=1e-6)


def test_unknown_figure_and_bad_path(tmp_path):
    with pytest.raises(NnxpError, match="unknown figure"):
        plot_figure("roc", tmp_path / "x.png")
    with pytest.raises(NnxpError, match="does not exist"):
        plot_figure("descent", tmp_path / "missing" / "x.png")
    assert list(tmp_path.iterdir()) == []
