"""Chapter 6's figures: the numbers behind them (activations by weight scale, losses by initial
weights, accuracy with and without batch norm, the optimizers' printed lines) and the PNGs."""

from __future__ import annotations

import math
import re
import struct
import warnings

import numpy as np
import pytest

from nnxp import datasets
from nnxp.cli import limit_threads
from nnxp.errors import NnxpError
from nnxp.plot.batchnorm import BatchNormRun, book_scales, compare_batchnorm, draw_batchnorm
from nnxp.plot.optimizers import compare_optimizers, smooth_curve
from nnxp.plot.weight_init import (
    WEIGHT_SCALES,
    activation_histograms,
    compare_weight_init,
    draw_activation_histograms,
    draw_weight_init,
    layer_activations,
    plot_activation_histograms,
)

pytestmark = pytest.mark.host

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def mnist_5k():
    if datasets.subset.subset_file() is None:
        pytest.skip(f"the mnist-5k subset is not installed: {datasets.subset.INSTALL_HINT}")
    ((x, t), _), _ = datasets.load_dataset("mnist-5k", normalize=True, flatten=True,
                                           progress=False)
    return x, t


def stds(layers):
    return [float(np.std(z)) for z in layers]


# --- activation histograms (figures 6-10 to 6-14) -------------------------------------------

def test_relu_activations_by_scale_are_the_books_story():
    """He keeps the spread of ReLU activations through 5 layers; Xavier lets it shrink;
    std 0.01 makes it vanish (x 0.07 a layer) and std 1 makes it explode (x 7 a layer)."""
    acts = layer_activations("relu")
    assert list(acts) == ["std=1", "std=0.01", "Xavier", "He"]
    assert all(len(layers) == 5 and layers[0].shape == (1000, 100) for layers in acts.values())
    he, xavier = stds(acts["He"]), stds(acts["Xavier"])
    np.testing.assert_allclose(he, [0.824, 0.825, 0.856, 0.880, 1.00], atol=0.003)
    assert 0.5 < he[4] / he[0] < 2
    np.testing.assert_allclose(xavier, [0.583, 0.412, 0.303, 0.220, 0.177], atol=0.002)
    small, big = stds(acts["std=0.01"]), stds(acts["std=1"])
    assert small[4] < 2e-6 and big[4] > 1e4
    for layers in acts.values():  # ReLU: about half of every layer is exactly 0
        assert all(0.4 < np.mean(z == 0.0) < 0.6 for z in layers)


def test_sigmoid_saturates_at_std_1_and_collapses_at_std_001():
    acts = layer_activations("sigmoid")
    for z in acts["std=1"]:  # figure 6-10: most values at 0 or 1
        assert np.mean((z < 0.05) | (z > 0.95)) > 0.5
    for z in acts["std=0.01"][1:]:  # figure 6-11: everything near 0.5
        assert np.all(np.abs(z - 0.5) < 0.05)
    np.testing.assert_allclose(stds(acts["Xavier"]), [0.207, 0.123, 0.112, 0.124, 0.117],
                               atol=0.002)


def test_tanh_keeps_a_spread_with_xavier_and_he_and_loses_it_at_std_001():
    acts = layer_activations("tanh")
    np.testing.assert_allclose(stds(acts["Xavier"]), [0.626, 0.488, 0.403, 0.353, 0.319],
                               atol=0.002)
    np.testing.assert_allclose(stds(acts["He"]), [0.719, 0.635, 0.591, 0.572, 0.566], atol=0.002)
    small = stds(acts["std=0.01"])  # tanh(a) ~ a near 0: x 0.1 a layer
    np.testing.assert_allclose(np.array(small[1:]) / np.array(small[:-1]), 0.1, rtol=0.03)
    counts, edges = activation_histograms(acts, "tanh")
    assert edges[0] == -1.0 and edges[-1] == 1.0 and edges[15] == 0.0
    assert all(c.sum() == 5 * 100_000 for c in counts.values())  # every value in [-1, 1]
    assert counts["std=1"][4, 0] > 40_000 and counts["std=1"][4, -1] > 40_000  # saturated


def test_every_row_has_the_same_input_and_draws():
    acts = layer_activations("sigmoid", {"a": 0.5, "b": 0.5, "c": "he"}, samples=10,
                             node_num=8, hidden_layer_size=3, seed=4)
    for za, zb in zip(acts["a"], acts["b"], strict=True):
        np.testing.assert_array_equal(za, zb)
    assert acts["a"][0].shape == (10, 8) and len(acts["c"]) == 3
    assert stds(acts["c"]) == stds(layer_activations("sigmoid", {"c": 0.5}, samples=10,
                                                     node_num=8, hidden_layer_size=3,
                                                     seed=4)["c"])
    other = layer_activations("sigmoid", {"a": 0.5}, samples=10, node_num=8,
                              hidden_layer_size=3, seed=5)
    assert not np.array_equal(other["a"][0], acts["a"][0])


def test_histograms_count_in_the_books_30_bins():
    acts = layer_activations("relu", {"std=1": 1.0, "He": "he"})
    counts, edges = activation_histograms(acts, "relu")
    np.testing.assert_allclose(edges, np.linspace(0, 1, 31))
    assert counts["He"].shape == (5, 30)
    for i, z in enumerate(acts["He"]):  # values above 1 are not counted, as plt.hist's range
        assert counts["He"][i].sum() == np.count_nonzero(z <= 1.0)
    assert counts["std=1"][4].sum() < 0.6 * 100_000 < counts["He"][4].sum()
    sig, _ = activation_histograms(layer_activations("sigmoid"), "sigmoid")
    assert all(c.sum() == 5 * 100_000 for c in sig.values())


def test_activation_histograms_png(tmp_path):
    pytest.importorskip("matplotlib")
    lines = []
    path = plot_activation_histograms(tmp_path / "h.png", activation="relu", report=lines.append)
    assert png_size(path)[0] >= 1000
    assert lines[3].startswith("He: std of the activations by layer 0.824 0.825 0.856 0.88 1")
    assert [p.name for p in tmp_path.iterdir()] == ["h.png"]


@pytest.mark.parametrize("bad, match", [
    ({"activation": "softplus"}, "unknown activation 'softplus'"),
    ({"activation": None}, "unknown activation None"),
    ({"samples": 0}, "samples must be a positive integer"),
    ({"node_num": 2.5}, "node_num must be a positive integer"),
    ({"hidden_layer_size": True}, "hidden_layer_size must be a positive integer"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"samples": 10**9, "node_num": 10**4}, "the layers' activations"),
    ({"scales": {"x": -1.0}}, "weight_init_std must be a finite number > 0"),
    ({"scales": {"x": math.nan}}, "weight_init_std must be a finite number"),
    ({"scales": {"x": "lecun"}}, "unknown weight_init_std 'lecun'"),
])
def test_layer_activations_refuse_bad_arguments(bad, match):
    with pytest.raises(NnxpError, match=re.escape(match)):
        layer_activations(**{"activation": "relu", **bad})


def test_default_scales_are_the_books_four():
    assert WEIGHT_SCALES == {"std=1": 1.0, "std=0.01": 0.01, "Xavier": "xavier", "He": "he"}


# --- weight-init loss curves (figure 6-15) --------------------------------------------------

def test_weight_init_losses_he_first_std_001_stuck(mnist_5k):
    x, t = mnist_5k
    lines = []
    losses = compare_weight_init(x, t, iterations=150, report=lines.append)
    assert list(losses) == ["std=0.01", "Xavier", "He"]
    assert all(len(curve) == 150 for curve in losses.values())
    final = {label: smooth_curve(curve)[-1] for label, curve in losses.items()}
    assert abs(final["std=0.01"] - math.log(10)) < 0.01  # no signal reaches the output
    assert final["He"] < final["Xavier"] - 0.3 < final["std=0.01"] - 0.3
    he = losses["He"]
    assert np.mean(he[-20:]) < np.mean(he[:20]) - 0.5
    assert lines[0] == "===========iteration:0==========="
    assert lines[4] == "===========iteration:100==========="
    assert len(lines) == 8
    assert lines[1] == f"std=0.01:{losses['std=0.01'][0]}"
    assert lines[7] == f"He:{losses['He'][100]}"
    assert re.fullmatch(r"Xavier:2\.\d+", lines[2])


def test_weight_init_same_seed_same_losses(mnist_5k):
    x, t = mnist_5k
    a = compare_weight_init(x[:300], t[:300], iterations=5, inits={"He": "he"}, seed=3)
    b = compare_weight_init(x[:300], t[:300], iterations=5, inits={"He": "he"}, seed=3)
    c = compare_weight_init(x[:300], t[:300], iterations=5, inits={"He": "he"}, seed=4)
    assert a == b and a != c


def test_weight_init_on_the_backend_under_test(backend, mnist_5k):
    """The same seed gives the same first losses on every backend (host draws)."""
    x, t = mnist_5k
    ref = compare_weight_init(x[:256], t[:256], iterations=3, batch_size=32,
                              inits={"He": "he"}, backend="numpy")
    got = compare_weight_init(x[:256], t[:256], iterations=3, batch_size=32,
                              inits={"He": "he"}, backend=backend)
    np.testing.assert_allclose(got["He"], ref["He"], rtol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    ({"iterations": 0}, "iterations must be a positive integer"),
    ({"batch_size": 11}, "batch size 11 is larger than the 10 training images"),
    ({"batch_size": -1}, "batch_size must be a positive integer"),
    ({"lr": math.inf}, "learning rate must be a finite number"),
    ({"lr": 0.0}, "learning rate must be > 0"),
    ({"inits": {"a": 0.0}}, "weight_init_std must be a finite number > 0"),
    ({"hidden_size_list": [10, 0]}, "each of hidden_size_list must be a positive integer"),
    ({"seed": -2}, "seed must be an integer >= 0"),
    ({"activation": "softplus"}, "unknown activation 'softplus'"),
    ({"threads": -1}, "threads must be an integer >= 0"),
    ({"threads": "2"}, "threads must be an integer >= 0"),
])
def test_compare_weight_init_refuses_bad_arguments(kwargs, match):
    x = np.zeros((10, 6), np.float32)
    t = np.zeros(10, np.int64)
    with pytest.raises(NnxpError, match=re.escape(match)):
        compare_weight_init(x, t, **{"iterations": 1, "batch_size": 5, **kwargs})


def test_compare_weight_init_refuses_bad_data():
    with pytest.raises(NnxpError, match="images must be floating point"):
        compare_weight_init(np.zeros((10, 6), np.uint8), np.zeros(10, np.int64), 1, 5)
    with pytest.raises(NnxpError, match="10 images and 9 labels"):
        compare_weight_init(np.zeros((10, 6), np.float32), np.zeros(9, np.int64), 1, 5)


def test_weight_init_png(tmp_path):
    pytest.importorskip("matplotlib")
    curve = list(2.3 * np.exp(-np.arange(200) / 50))
    path = draw_weight_init({"std=0.01": [2.3] * 200, "Xavier": curve, "He": curve[::2] * 2},
                            tmp_path / "w.png")
    assert png_size(path) == (640, 480)


# --- batch norm (figure 6-18) ---------------------------------------------------------------

def test_book_scales_are_logspace_0_to_minus_4():
    scales = book_scales()
    assert len(scales) == 16 and scales[0] == 1.0 and scales[-1] == pytest.approx(1e-4)
    assert scales[1] == pytest.approx(10 ** (-4 / 15))
    with pytest.raises(NnxpError, match="scales must be at most 64"):
        book_scales(65)
    with pytest.raises(NnxpError, match="scales must be a positive integer"):
        book_scales(0)


def test_batch_norm_learns_where_the_plain_net_cannot(mnist_5k):
    """At scale 0.001 the plain 6-layer net's signal vanishes and it stays at chance; with
    batch norm it learns; at scale 1 the plain net diverges (NaN) without a warning."""
    x, t = mnist_5k
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = compare_batchnorm(x[:500], t[:500], [1.0, 0.001], epochs=6, report=lines.append)
    assert [run.weight_scale for run in runs] == [1.0, 0.001]
    small = runs[1]
    assert len(small.train_acc) == len(small.bn_train_acc) == 6
    assert max(small.train_acc) < 0.2
    assert small.bn_train_acc[-1] > 0.5
    assert runs[0].train_acc[-1] < 0.2
    assert lines[0] == "============== 1/2 =============="
    assert lines[1] == f"epoch:0 | {runs[0].train_acc[0]} - {runs[0].bn_train_acc[0]}"
    assert lines[7] == "============== 2/2 =============="
    assert re.fullmatch(r"epoch:5 \| 0\.\d+ - 0\.\d+", lines[13])
    assert len(lines) == 14


def test_batch_norm_epochs_follow_the_books_count():
    """An epoch is len(x) // batch_size updates; accuracy is taken after the first."""
    x = np.random.default_rng(0).random((30, 6)).astype(np.float32)
    t = np.arange(30) % 10
    (run,) = compare_batchnorm(x, t, [0.1], epochs=3, batch_size=7, hidden_size_list=[5])
    assert len(run.train_acc) == 3
    assert all(acc in {k / 30 for k in range(31)} for acc in run.train_acc + run.bn_train_acc)


def test_batch_norm_on_the_backend_under_test(backend, mnist_5k):
    """The same seed gives the same accuracies on every backend (host draws, same batches)."""
    x, t = mnist_5k
    kwargs = {"weight_scales": [0.01], "epochs": 3, "batch_size": 50,
              "hidden_size_list": [20, 20]}
    (ref,) = compare_batchnorm(x[:200], t[:200], backend="numpy", **kwargs)
    (got,) = compare_batchnorm(x[:200], t[:200], backend=backend, **kwargs)
    np.testing.assert_allclose(got.bn_train_acc, ref.bn_train_acc, atol=0.011)
    np.testing.assert_allclose(got.train_acc, ref.train_acc, atol=0.011)


@pytest.mark.parametrize("kwargs, match", [
    ({"weight_scales": "1"}, "weight_scales must be a list of numbers"),
    ({"weight_scales": []}, "weight_scales must hold 1 to 64 numbers"),
    ({"weight_scales": [0.1] * 65}, "weight_scales must hold 1 to 64 numbers"),
    ({"weight_scales": ["he"]}, "a weight scale must be a number > 0"),
    ({"weight_scales": [-0.1]}, "weight_init_std must be a finite number > 0"),
    ({"weight_scales": [math.nan]}, "weight_init_std must be a finite number"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 11}, "batch size 11 is larger than the 10 training images"),
    ({"lr": -1.0}, "learning rate must be > 0"),
    ({"threads": 1.5}, "threads must be an integer >= 0"),
])
def test_compare_batchnorm_refuses_bad_arguments(kwargs, match):
    x = np.zeros((10, 6), np.float32)
    t = np.zeros(10, np.int64)
    with pytest.raises(NnxpError, match=re.escape(match)):
        compare_batchnorm(x, t, **{"weight_scales": [0.1], "epochs": 1, "batch_size": 5,
                                   **kwargs})


def test_batchnorm_png(tmp_path):
    pytest.importorskip("matplotlib")
    runs = [BatchNormRun(w, [0.1] * 20, list(np.linspace(0.1, 0.9, 20))) for w in book_scales()]
    assert png_size(draw_batchnorm(runs, tmp_path / "bn.png")) == (1200, 1020)
    assert png_size(draw_batchnorm(runs[:5], tmp_path / "bn5.png")) == (900, 540)
    with pytest.raises(NnxpError, match="no runs to draw"):
        draw_batchnorm([], tmp_path / "none.png")


# --- the optimizers' printed lines (figure 6-9) ---------------------------------------------

def test_compare_optimizers_reports_the_books_lines(mnist_5k):
    x, t = mnist_5k
    lines = []
    with limit_threads(1):
        losses = compare_optimizers(x[:500], t[:500], ["sgd", "adam"], iterations=101,
                                    report=lines.append)
    assert lines == ["===========iteration:0===========", f"SGD:{losses['sgd'][0]}",
                     f"Adam:{losses['adam'][0]}", "===========iteration:100===========",
                     f"SGD:{losses['sgd'][100]}", f"Adam:{losses['adam'][100]}"]


def test_draw_activation_histograms_needs_rows(tmp_path):
    with pytest.raises(NnxpError, match="no activations to draw"):
        draw_activation_histograms({}, np.linspace(0, 1, 31), tmp_path / "x.png")


# --- nnxp plot activation-histograms, weight-init, batchnorm --------------------------------


def test_cli_activation_histograms(workdir):
    from tests.adversarial.conftest import cli

    result = cli(["plot", "activation-histograms", "--activation", "relu", "--weight-scales",
                  "he", "0.05", "--seed", "0"])
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "He: std of the activations by layer 0.824 0.825 0.856 0.88 1",
        "std=0.05: std of the activations by layer 0.292 0.103 0.0378 0.0137 0.00552",
        "activation-histograms: activation-histograms.png"]
    assert png_size(workdir / "activation-histograms.png")[1] == 2 * 200 + 60


def test_cli_weight_init(workdir, tiny_data):
    from tests.adversarial.conftest import cli

    result = cli(["plot", "weight-init", "--iters", "101", "--batch-size", "20", "--seed", "2",
                  "-o", "w.png"])
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == ("weight-init: MultiLayerNet 64-100-100-100-100-10 (relu) on mnist-5k "
                        "(500 train), SGD lr 0.01, 101 iterations of batch 20, numpy cpu float32, "
                        "seed 2")
    assert lines[1] == "===========iteration:0==========="
    assert [line.split(":")[0] for line in lines[2:5]] == ["std=0.01", "Xavier", "He"]
    assert lines[5] == "===========iteration:100==========="
    assert re.fullmatch(r"final loss \(smoothed\): std=0.01 2\.\d+, Xavier \d\.\d+, He 0\.\d+",
                        lines[9])
    assert lines[10] == "weight-init: w.png" and len(lines) == 11
    assert (workdir / "w.png").stat().st_size > 10_000


def test_cli_weight_init_with_sigmoid_or_tanh_and_chosen_scales(workdir, tiny_data):
    from tests.adversarial.conftest import cli

    for activation in ("sigmoid", "tanh"):
        result = cli(["plot", "weight-init", "--iters", "3", "--activation", activation,
                      "--weight-scales", "xavier", "1"])
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        assert f"({activation})" in lines[0]
        assert [line.split(":")[0] for line in lines[2:4]] == ["Xavier", "std=1"]


def test_cli_batchnorm(workdir, tiny_data):
    from tests.adversarial.conftest import cli

    result = cli(["plot", "batchnorm", "--weight-scales", "0.1", "0.001", "--epochs", "3",
                  "--train-size", "200", "--batch-size", "50"])
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == ("batchnorm: MultiLayerNetExtend 64-100-100-100-100-100-10 with and "
                        "without batch norm on the first 200 images of mnist-5k, 2 weight "
                        "scales, 3 epochs of batch 50, SGD lr 0.01, numpy cpu float32, seed 0")
    assert lines[1] == "============== 1/2 =============="
    assert [line.split(" | ")[0] for line in lines[2:5]] == ["epoch:0", "epoch:1", "epoch:2"]
    assert lines[5] == "============== 2/2 =============="
    assert re.fullmatch(r"last epoch: batch norm ahead at [0-2] of 2 weight scales", lines[9])
    assert lines[10] == "batchnorm: batchnorm.png" and len(lines) == 11
    assert png_size(workdir / "batchnorm.png") == (600, 300)
