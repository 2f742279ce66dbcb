"""The book's figure 6-8 (chapter 6, optimizer_compare_naive.py): nnxp's optimizers walk
f(x, y) = x**2 / 20 + y**2 on Python floats from (-7, 2); the figure is `nnxp plot
optimizer-paths`."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.cli import main
from nnxp.plot import FIGURES, plot_figure
from nnxp.plot.paths import NAIVE_OPTIMIZERS, f, optimizer_paths

pytestmark = pytest.mark.host


def test_paths_start_where_the_book_does_and_take_its_steps():
    paths = optimizer_paths()
    assert list(paths) == ["SGD", "Momentum", "AdaGrad", "Adam"]
    for points in paths.values():
        assert points.shape == (30, 2) and tuple(points[0]) == (-7.0, 2.0)
        assert f(*points[-1]) < 0.1 * f(*points[0])  # each heads for the minimum at (0, 0)
    # first steps by hand: SGD lr 0.95 on g = (-0.7, 4); Momentum lr 0.1; AdaGrad lr 1.5
    # moves each coordinate by 1.5 against its sign; Adam lr 0.3 by 0.3 (less its 1e-7)
    np.testing.assert_allclose(paths["SGD"][1:3], [[-6.335, -1.8], [-5.733175, 1.62]])
    np.testing.assert_allclose(paths["Momentum"][1:3], [[-6.93, 1.6], [-6.7977, 0.92]])
    np.testing.assert_allclose(paths["AdaGrad"][1], [-5.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(paths["Adam"][1], [-6.7, 1.7], rtol=1e-6)
    assert abs(paths["AdaGrad"][-1, 1]) < 1e-3 < abs(paths["SGD"][-1, 1])


def test_other_optimizers_and_lengths():
    paths = optimizer_paths({"Nesterov": ("nesterov", {"lr": 0.1})}, (3.0, -1.0), steps=5)
    assert list(paths) == ["Nesterov"] and paths["Nesterov"].shape == (5, 2)
    assert NAIVE_OPTIMIZERS["SGD"] == ("sgd", {"lr": 0.95})


def test_the_figure_is_drawn_by_nnxp_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    assert "6-8" in FIGURES["optimizer-paths"].summary
    png = plot_figure("optimizer-paths", tmp_path / "paths.png")
    assert imread(png).shape[:2] == (840, 1000)
    assert main(["plot", "optimizer-paths", "-o", str(tmp_path / "cli.png")]) == 0
    assert (tmp_path / "cli.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "optimizer-paths" in capsys.readouterr().out
