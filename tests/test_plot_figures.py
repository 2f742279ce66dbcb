"""The chapter 3, 4, 7 and 8 figures: the numbers behind them are the book's, their grids hold
what they claim, and the files they read are recognised."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.plot import plot_figure
from nnxp.plot.filters import draw_filters, filter_responses
from nnxp.plot.functions import function_1, tangent_line
from nnxp.plot.images import png_size, read_gray_png, to_gray
from nnxp.plot.misclassified import draw_misclassified, first_misclassified, predict_labels
from nnxp.plot.mnist import as_images, digit_count, draw_digits
from nnxp.plot.weights import conv_filters, load_trained_net
from tests.plot_files import book_pickle, first_filters, model_file, png

pytest.importorskip("matplotlib")

pytestmark = pytest.mark.host


def _titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_tangent_reports_the_books_derivatives(tmp_path):
    lines = []
    plot_figure("tangent", tmp_path / "t.png", report=lines.append)
    assert lines == ["numerical_diff(function_1, 5) = 0.1999999999990898",
                     "numerical_diff(function_1, 10) = 0.2999999999986347"]
    line = tangent_line(function_1, 5)
    assert line(5) == pytest.approx(function_1(5)) == pytest.approx(0.75)
    assert line(6) - line(5) == pytest.approx(0.2, abs=1e-9)


def test_sigmoid_step_draws_both_curves(tmp_path):
    from nnxp.plot.functions import draw_sigmoid_step

    (ax,) = draw_sigmoid_step().axes
    sig, step = (line.get_ydata() for line in ax.get_lines())
    assert len(sig) == 100 and sig[50] == pytest.approx(1 / (1 + np.exp(-1e-14)), abs=1e-9)
    assert list(step[:51]) == [0] * 51 and list(step[51:]) == [1] * 49
    assert ax.get_ylim() == (-0.1, 1.1)


def test_digits_are_titled_by_their_labels():
    x = np.arange(3 * 784, dtype=np.float32).reshape(3, 784)
    fig = draw_digits(x, ["5", "0", "4"])
    assert _titles(fig) == ["5", "0", "4"]
    shown = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
    np.testing.assert_array_equal(shown[1], x[1].reshape(28, 28))
    assert as_images(x.reshape(3, 1, 28, 28)).shape == (3, 28, 28)
    with pytest.raises(NnxpError, match="785 pixels are not square"):
        as_images(np.zeros((2, 785)))


@pytest.mark.parametrize(("count", "needle"), [(0, "0 is not in 1..100"), (10**9, "not in 1..100"),
                                                (-1, "not in 1..100"), (2.5, "whole number"),
                                                (True, "whole number")])
def test_digit_counts_are_bounded(count, needle):
    with pytest.raises(NnxpError, match=needle):
        digit_count(count)
    assert digit_count(100) == 100
    with pytest.raises(NnxpError, match="--count 30 is more than the 20 images"):
        digit_count(30, 20)


def test_mnist_samples_are_the_first_training_images(tmp_path, tiny_data):
    lines = []
    plot_figure("mnist-samples", tmp_path / "m.png", report=lines.append, count=4)
    ((_, t), _), _ = __import__("nnxp").datasets.load_dataset("mnist-5k")
    assert lines == [f"mnist-samples: the first 4 of mnist-5k's 500 training images, labels "
                     f"{' '.join(str(int(v)) for v in t[:4])}"]
    assert tiny_data[0][1]["normalize"] is False


def test_filter_responses_are_correlations_with_zero_bias():
    """Each response is the filter slid over the image (cross-correlation, no flip): checked
    against a plain double loop."""
    rng = np.random.default_rng(0)
    filters, image = rng.standard_normal((3, 1, 3, 3)), rng.random((7, 9))
    out = filter_responses(filters, image)
    assert out.shape == (3, 5, 7)
    for k in range(3):
        for i in range(5):
            for j in range(7):
                assert out[k, i, j] == pytest.approx(np.sum(filters[k, 0] * image[i:i + 3, j:j + 3]))
    assert filter_responses(filters, image, count=2).shape == (2, 5, 7)
    with pytest.raises(NnxpError, match=r"image \(2 x 9\) is smaller than the filters \(3 x 3\)"):
        filter_responses(filters, image[:2])


def test_filters_figure_shows_fresh_then_trained(tmp_path):
    trained = first_filters(model_file(tmp_path / "m.npz", seed=5))
    fresh = first_filters(model_file(tmp_path / "f.npz", seed=0))
    fig = draw_filters(fresh, trained)
    left, right = fig.subfigs
    assert left._suptitle.get_text() == "random initialisation"
    assert right._suptitle.get_text() == "after training"
    first_right = [ax for ax in right.axes if ax.get_images()][0]
    np.testing.assert_array_equal(first_right.get_images()[0].get_array(), trained[0, 0])
    assert sum(bool(ax.get_images()) for ax in left.axes) == 30


def test_plot_filters_draws_the_weights_files_filters(tmp_path):
    lines = []
    weights = book_pickle(tmp_path / "params.pkl", "ch07", seed=3)
    plot_figure("filters", tmp_path / "f.png", report=lines.append, weights=weights, seed=2)
    assert lines == [f"filters: the 30 first-layer filters (1x5x5) of SimpleConvNet from the "
                     f"book's {weights}, and a fresh init (seed 2)"]


def test_weights_are_recognised_by_content(tmp_path):
    for arch, name in (("ch07", "SimpleConvNet"), ("ch08", "DeepConvNet"),
                       ("ch03", "the chapter-3 sample network")):
        net, words = load_trained_net(book_pickle(tmp_path / f"{arch}.bin", arch), ("ch08", "ch07",
                                                                                    "ch03"))
        assert words == f"{name} from the book's {tmp_path / f'{arch}.bin'}"
    pickled = book_pickle(tmp_path / "w.pkl", "ch07", seed=4)
    net, _ = load_trained_net(pickled, ("ch07",))
    import pickle

    expected = pickle.loads(pickled.read_bytes())["W1"]
    np.testing.assert_allclose(conv_filters(net, "x"), expected.astype(np.float32))
    net, words = load_trained_net(model_file(tmp_path / "m.pkl"), ("ch07",))
    assert words == f"simple-conv model file {tmp_path / 'm.pkl'}"
    with pytest.raises(NnxpError, match="not the weights of SimpleConvNet .ch07/params.pkl."):
        load_trained_net(book_pickle(tmp_path / "c3.pkl", "ch03"), ("ch07",))
    two = load_trained_net(model_file(tmp_path / "t.npz", "two-layer"), ("ch07",))
    with pytest.raises(NnxpError, match=r"has no convolution filters \(its W1 is \(64, 10\)\)"):
        conv_filters(*two)


def test_predictions_and_the_first_misclassified(tmp_path, tiny_data):
    from nnxp import datasets

    net, _ = load_trained_net(model_file(tmp_path / "m.npz"), ())
    (_, (x, t)), _ = datasets.load_dataset("mnist-5k")
    predicted = predict_labels(net, x[:150], batch_size=100)
    scores = net.predict(x[:150])
    np.testing.assert_array_equal(predicted, np.argmax(np.asarray(scores), axis=1))
    wrong = np.flatnonzero(predicted != t[:150])
    np.testing.assert_array_equal(first_misclassified(predicted, t[:150], 5), wrong[:5])
    lines = []
    plot_figure("misclassified", tmp_path / "x.png", report=lines.append,
                weights=tmp_path / "m.npz", test_size=150, count=5)
    assert lines[1] == (f"test accuracy: {1 - len(wrong) / 150:.4f} ({len(wrong)} of 150 "
                        "misclassified)")
    pairs = {i: (int(t[k]), int(predicted[k])) for i, k in enumerate(wrong[:5], 1)}
    assert lines[2] == f"the first 5 misclassified {{view index: (label, inference)}}: {pairs}"


def test_misclassified_titles_are_label_colon_inference():
    fig = draw_misclassified(np.zeros((2, 784)), [7, 2], [1, 3])
    assert _titles(fig) == ["7:1", "2:3"]
    assert fig._suptitle.get_text() == "label:inference"
    empty = draw_misclassified(np.zeros((0, 784)), [], [])
    assert empty._suptitle.get_text() == "no misclassified digits"


def test_png_reading_turns_colour_to_gray(tmp_path):
    rgb = np.zeros((4, 6, 3))
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1.0, 0.6, 0.0
    gray = read_gray_png(png(tmp_path / "c.png", rgb))
    assert gray.shape == (4, 6) and gray.dtype == np.float64
    np.testing.assert_allclose(gray, 0.299 + 0.587 * 153 / 255, atol=1e-6)
    ramp = np.linspace(0, 1, 12).reshape(3, 4)
    np.testing.assert_allclose(read_gray_png(png(tmp_path / "g.png", ramp)), ramp, atol=1 / 255)
    assert png_size((tmp_path / "c.png").read_bytes(), "c") == (6, 4)
    np.testing.assert_array_equal(to_gray(np.array([[[0, 65535]]], dtype=np.uint16), "u"), [[0.0]])
    np.testing.assert_array_equal(to_gray(np.full((1, 1, 2), 255, np.uint8), "ga"), [[1.0]])


def test_filter_responses_fall_back_to_an_mnist_digit(tmp_path, tiny_data, monkeypatch):
    """Without --image and without the book's lena_gray.png: the first test digit."""
    from nnxp import datasets

    monkeypatch.delenv("NNXP_BOOK_DIR", raising=False)
    weights = model_file(tmp_path / "m.npz")
    lines = []
    plot_figure("filter-responses", tmp_path / "r.png", report=lines.append, weights=weights)
    (_, (_, t_test)), _ = datasets.load_dataset("mnist-5k", flatten=False)
    assert lines == [f"filter-responses: 16 filters of simple-conv model file {weights} applied "
                     f"to mnist-5k test digit 0 (a {int(t_test[0])}) (8 x 8)"]
    assert tiny_data[0][1]["flatten"] is False
    with pytest.raises(NnxpError, match="give either --image or them"):
        plot_figure("filter-responses", tmp_path / "s.png", image=tmp_path / "x.png",
                    dataset="mnist")
