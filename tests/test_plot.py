"""The figures: valid PNGs, written atomically; the descent path is the book's."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.plot import FIGURES, descent_path, function_2, plot_figure, plot_history
from tests.plot_files import book_pickle, model_file, png

pytest.importorskip("matplotlib")

pytestmark = pytest.mark.host

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_width=300):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height >= 200
    assert data[-8:-4] == b"IEND"


def fast_options(name, folder):
    """Options that make figure ``name`` quick, on the suite's tiny_data where it reads
    MNIST, with the files it reads written into ``folder`` (no book data needed)."""
    if name == "optimizers":
        return {"iters": 5, "batch_size": 16}
    if name == "mnist-samples":
        return {"count": 12}
    if name == "filters":
        return {"weights": book_pickle(folder / "params.pkl", "ch07")}
    if name == "filter-responses":
        return {"weights": model_file(folder / "m.npz"),
                "image": png(folder / "i.png", np.random.default_rng(0).random((30, 40, 3)))}
    if name == "overfit":
        return {"epochs": 2}
    if name == "misclassified":
        return {"weights": model_file(folder / "m.npz"), "test_size": 150, "count": 12}
    return {}


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_is_a_png(tmp_path, tiny_data, monkeypatch, name):
    monkeypatch.delenv("NNXP_BOOK_DIR", raising=False)
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    lines = []
    options = fast_options(name, tmp_path / "in")
    path = plot_figure(name, tmp_path / "out" / f"{name}.png", report=lines.append, **options)
    assert_png(path)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"{name}.png"]
    assert all(isinstance(line, str) and "\n" not in line for line in lines)


def test_figures_declare_cli_options():
    """Every option a figure declares is one ``nnxp plot`` defines, and the draw function
    takes it as a keyword (so the CLI can pass it)."""
    import importlib
    import inspect

    from nnxp.cli.plot import OPTIONS

    for name, figure in FIGURES.items():
        module, _, function = figure.draw.partition(":")
        parameters = inspect.signature(getattr(importlib.import_module(module), function)).parameters
        for option in figure.options:
            assert option in OPTIONS, (name, option)
            assert option in parameters, (name, option)


def test_plot_figure_refuses_an_option_the_figure_does_not_take(tmp_path):
    with pytest.raises(NnxpError, match="figure 'descent' takes no option 'iters'"):
        plot_figure("descent", tmp_path / "d.png", iters=3)
    with pytest.raises(NnxpError, match="takes no option 'colour' .it takes optimizers, iters"):
        plot_figure("optimizers", tmp_path / "o.png", seed=1, colour="red")
    assert list(tmp_path.iterdir()) == []


def test_optimizers_reports_its_progress(tmp_path, tiny_data):
    lines = []
    plot_figure("optimizers", tmp_path / "o.png", report=lines.append, iters=12, batch_size=20,
                optimizers=["sgd", "adam"], seed=3)
    assert lines[0] == ("optimizers: MultiLayerNet 64-100-100-100-100-10 on mnist-5k (500 train) "
                        "with numpy cpu float32, 12 iterations of batch 20 each for sgd, adam, "
                        "seed 3")
    assert lines[1].startswith("final loss (smoothed): sgd ") and ", adam " in lines[1]
    assert tiny_data == [("auto", {"data_dir": None, "normalize": True, "flatten": True,
                                   "one_hot_label": False, "progress": True})]


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
