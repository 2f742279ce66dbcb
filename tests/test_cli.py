"""The command line: train, eval, plot, info; every error is one line on stderr and exit 2.

Most tests train on small synthetic data put in place of ``nnxp.datasets.load_dataset``;
one trains on the offline subset mnist-5k, one on real MNIST where its folder is present.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from nnxp import datasets
from nnxp.backends import backend_status
from nnxp.cli import main
from nnxp.io import read_model_file

pytestmark = pytest.mark.host

MNIST_DIR = Path(os.environ.get("NNXP_TEST_MNIST_DIR", Path(__file__).parents[1] / ".." /
                                "shared" / "data" / "mnist"))


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test in its own folder, with its own cache folder."""
    monkeypatch.setenv("NNXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNXP_DATA_DIR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def fake_data(tiny_data):
    """The suite's tiny_data: 500 train and 200 test samples of 10 separable classes."""
    return tiny_data


def run(argv, capsys):
    """(exit code, stdout, stderr) of ``nnxp ARGV``, argparse's exits included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


TRAIN = ["train", "--iters", "100", "--batch-size", "50", "--lr", "0.5"]


def test_train_writes_model_metrics_and_plot(fake_data, capsys, _isolated):
    code, out, err = run([*TRAIN, "--save", "m.npz", "--metrics", "m.jsonl", "--plot", "m.png"],
                         capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training two-layer 64-50-10 relu on mnist-5k (500 train, 200 test)")
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 11 and epochs[1].startswith("epoch  1/10  step 10  loss ")
    assert epochs[0].startswith("epoch  0/10  step 0  loss      -  train acc ")
    final = next(line for line in lines if line.startswith("final: test acc "))
    assert "after 100 iterations (10 epochs) on mnist-5k" in final
    assert any(line.startswith("time: ") and "ms per iteration" in line for line in lines)
    assert "model: m.npz (score it: nnxp eval --weights m.npz)" in lines
    assert "metrics: m.jsonl" in lines and "plot: m.png" in lines
    records = [json.loads(line) for line in (_isolated / "m.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(0, 11))
    assert records[0]["step"] == 0 and records[0]["train_loss"] is None
    assert {"epoch", "step", "train_loss", "train_acc", "test_acc", "seconds"} <= set(records[0])
    assert records[-1]["step"] == 100 and records[-1]["test_acc"] >= 0.9
    arrays, meta = read_model_file(_isolated / "m.npz")
    assert meta["model"]["hidden_size"] == 50 and meta["dtype"] == "float32"
    assert meta["dataset"]["name"] == "mnist-5k" and meta["dataset"]["normalize"] is True
    training = meta["training"]
    assert training["optimizer"] == "sgd" and training["optimizer_param"] == {"lr": 0.5}
    assert training["result"]["steps"] == 100
    assert (_isolated / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in _isolated.iterdir()) == ["m.jsonl", "m.npz", "m.png"]
    assert fake_data[0][0] == "auto"


def test_defaults_are_the_books_chapter_5_run(fake_data, capsys, _isolated):
    code, out, _ = run(["train", "--quiet", "--iters", "20", "--save", "m.npz"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("final: ")
    meta = read_model_file(_isolated / "m.npz")[1]
    assert meta["model"] == {"model": "two-layer", "input_size": 64, "hidden_size": 50,
                             "output_size": 10, "activation": "relu", "weight_init_std": 0.01}
    assert meta["training"]["optimizer_param"] == {"lr": 0.1}
    from nnxp.cli import build_parser

    args = build_parser().parse_args(["train"])
    assert (args.backend, args.model) == ("numpy", "two-layer")
    assert (args.batch_size, args.lr, args.iters, args.epochs) == (100, 0.1, 10_000, None)
    assert (args.dtype, args.dataset, args.optimizer, args.gradient) == (
        "float32", "auto", "sgd", "backprop")


def test_quiet_prints_only_the_summary(fake_data, capsys):
    code, out, err = run([*TRAIN, "--quiet"], capsys)
    assert code == 0 and err == ""
    assert [line.split(":")[0] for line in out.splitlines()] == ["final", "time", "files"]


def test_epochs_multi_layer_on_the_backend_under_test(backend, fake_data, capsys):
    code, out, err = run(["train", "--epochs", "2", "--batch-size", "50", "--model",
                          "multi-layer", "--hidden", "32", "16", "--backend", backend.name,
                          "--device", backend.device_name, "--dtype", "float64", "--quiet"], capsys)
    assert code == 0, err
    assert "after 20 iterations (2 epochs)" in out
    assert f"({backend.name} {backend.device_name} float64)" in out


def test_optimizer_and_its_parameters(fake_data, capsys, _isolated):
    code, out, err = run([*TRAIN, "--optimizer", "adam", "--lr", "0.01", "--beta1", "0.8",
                          "--save", "m.npz"], capsys)
    assert code == 0, err
    assert ": adam lr 0.01, beta1 0.8, batch 50," in out.splitlines()[0]
    training = read_model_file(_isolated / "m.npz")[1]["training"]
    assert training["optimizer"] == "adam"
    assert training["optimizer_param"] == {"lr": 0.01, "beta1": 0.8}
    assert training["result"]["test_acc"] >= 0.9
    code, out, err = run([*TRAIN, "--optimizer", "nesterov", "--momentum", "0.5", "--quiet"],
                         capsys)
    assert code == 0, err


def test_multi_layer_extend_keeps_its_running_statistics(fake_data, capsys, _isolated):
    code, out, err = run([*TRAIN, "--model", "multi-layer-extend", "--hidden", "32", "16",
                          "--batchnorm", "--dropout", "0.2", "--weight-decay", "0.001",
                          "--init", "he", "--save", "m.npz"], capsys)
    assert code == 0, err
    assert out.startswith("training multi-layer-extend 64-32-16-10 relu, batchnorm, dropout 0.2, "
                          "weight decay 0.001 on mnist-5k")
    _, meta = read_model_file(_isolated / "m.npz")
    assert meta["model"]["use_batchnorm"] and meta["model"]["use_dropout"]
    assert meta["model"]["dropout_ratio"] == 0.2 and meta["model"]["weight_init_std"] == "he"
    assert sorted(meta["buffers"]) == ["running_mean1", "running_mean2", "running_var1",
                                       "running_var2"]
    trained = meta["training"]["result"]["test_acc"]
    assert trained >= 0.9
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0 and err == ""
    assert json.loads(out)["accuracy"] == pytest.approx(trained)


@pytest.mark.parametrize(("model", "extra"), [
    ("simple-conv", ["--hidden", "20", "--optimizer", "adam", "--lr", "0.01"]),
    ("deep-conv", ["--iters", "2", "--dropout", "0.3"]),
])
def test_conv_models_train_on_images_and_evaluate(fake_data, capsys, _isolated, model, extra):
    code, out, err = run([*TRAIN, "--model", model, *extra, "--save", "m.npz"], capsys)
    assert code == 0, err
    assert out.startswith(f"training {model} 1x8x8 images, hidden ")
    assert fake_data[-1][1]["flatten"] is False
    _, meta = read_model_file(_isolated / "m.npz")
    assert meta["model"]["input_dim"] == [1, 8, 8] and meta["dataset"]["flatten"] is False
    trained = meta["training"]["result"]["test_acc"]
    if model == "simple-conv":
        assert trained >= 0.5  # chance is 0.1
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0, err
    assert fake_data[-1][1]["flatten"] is False
    assert json.loads(out)["accuracy"] == pytest.approx(trained)


def test_eval_json_and_text(fake_data, capsys, _isolated):
    assert run([*TRAIN, "--quiet", "--save", "m.npz"], capsys)[0] == 0
    trained = read_model_file(_isolated / "m.npz")[1]["training"]["result"]["test_acc"]
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] == pytest.approx(trained)
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 200
    assert np.trace(confusion) == result["correct"]
    assert fake_data[-1][0] == "mnist-5k"  # the dataset the model was trained on
    code, out, _ = run(["eval", "--weights", "m.npz", "--backend", "array_api_strict"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"m.npz: test accuracy {trained:.4f} (")
    assert lines[2].split() == ["true", *map(str, range(10))] and len(lines) == 13


def _assert_one_line_error(code, err, *needles):
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--backend", "tensorflow"], ["invalid choice: 'tensorflow'", "numpy", "see `nnxp train --help`"]),
        (["--lr", "0"], ["learning rate must be a finite number > 0", "--lr 0.1"]),
        (["--lr", "inf"], ["learning rate must be a finite number > 0"]),
        (["--lr", "-1"], ["learning rate must be a finite number > 0"]),
        (["--batch-size", "1000"], ["larger than the training set (500 samples)", "at most 500"]),
        (["--batch-size", "0"], ["argument --batch-size", "not a positive integer"]),
        (["--hidden", "0"], ["argument --hidden", "not a positive integer"]),
        (["--hidden", "50", "20"], ["two-layer takes one hidden size", "--model multi-layer"]),
        (["--hidden", "x"], ["argument --hidden", "not an integer"]),
        (["--init", "gaussian"], ["unknown weight_init_std"]),
        (["--device", "cuda:0"], ["CPU only"]),
        (["--save", "no/such/dir/m.npz"], ["directory no/such/dir does not exist"]),
        (["--metrics", "."], ["is a directory"]),
        (["--plot", "no/such/p.png"], ["does not exist"]),
        (["--dataset", "cifar"], ["unknown dataset 'cifar'"]),
        (["--epochs", "2", "--iters", "3"], ["not allowed with argument"]),
        (["--threads", "-1"], ["argument --threads", "integer >= 0"]),
        (["--momentum", "0.5"], ["--momentum applies to --optimizer momentum or nesterov",
                                 "not sgd"]),
        (["--optimizer", "adam", "--beta2", "1"], ["--optimizer adam: beta2 must be in [0, 1)"]),
        (["--optimizer", "rmsprop", "--decay-rate", "x"], ["argument --decay-rate"]),
        (["--batchnorm"], ["--batchnorm applies to --model multi-layer-extend, not two-layer"]),
        (["--dropout", "0.5"], ["--dropout applies to --model multi-layer-extend or deep-conv"]),
        (["--model", "multi-layer-extend", "--dropout", "1"], ["--dropout", "not in [0, 1)"]),
        (["--model", "multi-layer", "--weight-decay", "-1"], ["--weight-decay", ">= 0"]),
        (["--weight-decay", "0.1"], ["--weight-decay applies to", "not two-layer"]),
        (["--model", "simple-conv", "--activation", "sigmoid"],
         ["--activation applies to", "not simple-conv"]),
        (["--model", "deep-conv", "--init", "he"], ["--init applies to", "not deep-conv"]),
        (["--model", "simple-conv", "--hidden", "10", "20"],
         ["--model simple-conv takes one hidden size"]),
    ],
)
def test_train_errors_are_one_line_and_write_nothing(fake_data, capsys, _isolated, extra, needles):
    code, out, err = run([*TRAIN, "--save", "m.npz", *extra], capsys)
    _assert_one_line_error(code, err, *needles)
    assert list(_isolated.iterdir()) == []


def test_plot_without_matplotlib_fails_before_training(fake_data, capsys, _isolated, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run([*TRAIN, "--save", "m.npz", "--plot", "p.png"], capsys)
    _assert_one_line_error(code, err, "needs matplotlib", "pip install 'nnxp[plot]'")
    assert list(_isolated.iterdir()) == [] and fake_data == []


def test_cupy_without_a_gpu_is_one_line(fake_data, capsys, _isolated):
    reason = backend_status()["cupy"]
    if reason is None:
        pytest.skip("cupy is usable here")
    code, _, err = run([*TRAIN, "--backend", "cupy", "--save", "m.npz"], capsys)
    _assert_one_line_error(code, err, reason, "`nnxp info`")
    assert list(_isolated.iterdir()) == []


def test_nan_loss_stops_naming_the_step_and_keeps_the_model_file(fake_data, capsys, _isolated):
    assert run([*TRAIN, "--quiet", "--save", "m.npz"], capsys)[0] == 0
    good = (_isolated / "m.npz").read_bytes()
    code, out, err = run([*TRAIN, "--lr", "1e30", "--save", "m.npz", "--metrics", "m.jsonl"],
                         capsys)
    _assert_one_line_error(code, err, "training stopped: the loss is nan at step ", "(epoch 1)",
                           "m.npz was not written", "lower the learning rate (now 1e+30)")
    assert (_isolated / "m.npz").read_bytes() == good
    assert sorted(p.name for p in _isolated.iterdir()) == ["m.npz"]


def test_eval_errors_are_one_line(fake_data, capsys, _isolated):
    code, _, err = run(["eval", "--weights", "missing.npz"], capsys)
    _assert_one_line_error(code, err, "missing.npz does not exist", "nnxp train --save")
    (_isolated / "bad.npz").write_bytes(b"\x00" * 100)
    code, _, err = run(["eval", "--weights", "bad.npz"], capsys)
    _assert_one_line_error(code, err, "corrupt or not an .npz")
    code, _, err = run(["eval"], capsys)
    _assert_one_line_error(code, err, "--weights")


def _book_pickle(path, arch, seed=0):
    """A pickle of random weights shaped as the book's for ``arch`` (float64, as NumPy saves)."""
    import pickle

    from nnxp.book_weights import book_network

    rng = np.random.default_rng(seed)
    params = {key: rng.standard_normal(tuple(value.shape))
              for key, value in book_network(arch).params.items()}
    path.write_bytes(pickle.dumps(params, protocol=4))
    return params


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.mark.parametrize("arch", ["ch03", "ch07", "ch08"])
def test_convert_book_weights_then_eval(mnist_shaped, capsys, _isolated, arch):
    params = _book_pickle(_isolated / "book.pkl", arch)
    code, out, err = run(["convert", "book.pkl", "--arch", arch, "-o", "m.npz"], capsys)
    assert code == 0, err
    assert out.startswith("book.pkl: ") and "-> m.npz (float32; score it: nnxp eval" in out
    arrays, meta = read_model_file(_isolated / "m.npz")
    assert meta["source"]["arch"] == arch and len(meta["source"]["sha256"]) == 64
    for key, value in params.items():
        np.testing.assert_array_equal(arrays[key], value.astype(np.float32))
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["total"] == 50
    assert mnist_shaped[-1][1]["flatten"] is (arch == "ch03")
    (_, (x, t)), _ = datasets.load_dataset(flatten=True)
    if arch == "ch03":  # the book's predict(network, x), in plain NumPy float64
        p = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
        a = _sigmoid(_sigmoid(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]) @ p["W3"] + p["b3"]
    else:
        from nnxp.book_weights import load_book_weights

        a = load_book_weights(_isolated / "book.pkl", arch).predict(x)
    assert result["correct"] == int(np.sum(np.argmax(a, axis=1) == t))


def test_convert_refuses_malicious_and_wrong_pickles(capsys, _isolated):
    import pickle

    marker = _isolated / "marker"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    (_isolated / "evil.pkl").write_bytes(pickle.dumps({"W1": np.ones(3), "b1": Payload()}))
    code, _, err = run(["convert", "evil.pkl", "--arch", "ch03", "-o", "m.npz"], capsys)
    _assert_one_line_error(code, err, "nnxp convert: error:", "refusing to load posix.system")
    assert sorted(p.name for p in _isolated.iterdir()) == ["evil.pkl"]

    _book_pickle(_isolated / "ch07.pkl", "ch07")
    code, _, err = run(["convert", "ch07.pkl", "--arch", "ch03", "-o", "m.npz"], capsys)
    _assert_one_line_error(code, err, "W1 has shape (30, 1, 5, 5), but ch03 needs", "--arch")
    code, _, err = run(["convert", "none.pkl", "--arch", "ch03", "-o", "m.npz"], capsys)
    _assert_one_line_error(code, err, "pickle none.pkl does not exist")
    code, _, err = run(["convert", "ch07.pkl", "--arch", "ch07", "-o", "no/dir/m.npz"], capsys)
    _assert_one_line_error(code, err, "directory no/dir does not exist")
    code, _, err = run(["convert", "ch07.pkl", "--arch", "ch09", "-o", "m.npz"], capsys)
    _assert_one_line_error(code, err, "invalid choice: 'ch09'")
    assert sorted(p.name for p in _isolated.iterdir()) == ["ch07.pkl", "evil.pkl"]


def test_plot_figures(capsys, _isolated):
    for name in ("activations", "gradient-field", "descent"):
        code, out, err = run(["plot", name, "-o", f"{name}-x.png"], capsys)
        assert code == 0, err
        assert out.strip() == f"{name}: {name}-x.png"
        assert (_isolated / f"{name}-x.png").read_bytes()[:4] == b"\x89PNG"
    assert run(["plot", "descent"], capsys)[0] == 0
    assert (_isolated / "descent.png").exists()
    code, _, err = run(["plot", "roc"], capsys)
    _assert_one_line_error(code, err, "invalid choice: 'roc'")


def test_plot_optimizers_tiny(fake_data, capsys, _isolated):
    image = pytest.importorskip("matplotlib.image")
    code, out, err = run(["plot", "optimizers", "-o", "o.png", "--iters", "15", "--batch-size",
                          "16", "--optimizers", "sgd", "adam", "rmsprop"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("optimizers: MultiLayerNet 64-100-100-100-100-10 on mnist-5k "
                               "(500 train) with numpy cpu float32, 15 iterations of batch 16 "
                               "each for sgd, adam, rmsprop, seed 0")
    assert lines[1].startswith("final loss (smoothed): sgd ")
    assert lines[-1] == "optimizers: o.png"
    assert fake_data[-1][0] == "auto" and fake_data[-1][1]["flatten"] is True
    pixels = image.imread(_isolated / "o.png")
    assert pixels.shape == (480, 640, 4) and pixels.std() > 0
    assert sorted(p.name for p in _isolated.iterdir()) == ["o.png"]


@pytest.mark.parametrize(("argv", "needles"), [
    (["plot", "descent", "--iters", "5"],
     ["--iters applies to `nnxp plot optimizers` and `nnxp plot weight-init` only"]),
    (["plot", "optimizers", "--optimizers", "lbfgs"], ["invalid choice: 'lbfgs'"]),
    (["plot", "optimizers", "--iters", "0"], ["argument --iters", "not a positive integer"]),
    (["plot", "optimizers", "--batch-size", "501"], ["larger than mnist-5k's 500 training"]),
    (["plot", "optimizers", "-o", "no/dir/o.png"], ["directory no/dir does not exist"]),
])
def test_plot_optimizers_errors_are_one_line(fake_data, capsys, _isolated, argv, needles):
    code, _, err = run(argv, capsys)
    _assert_one_line_error(code, err, *needles)
    assert list(_isolated.iterdir()) == []


def test_threads_limits_the_cpu_thread_pools():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from nnxp.cli.common import limit_threads as _threads

    with _threads(1):
        assert {pool["num_threads"] for pool in threadpoolctl.threadpool_info()} <= {1}
    with _threads(0):
        pass


def test_info_lists_every_backend(capsys):
    code, out, _ = run(["info"], capsys)
    assert code == 0
    assert "numpy             usable    devices: cpu" in out
    for name in ("cupy", "torch", "array_api_strict"):
        assert f"  {name}" in out


def test_short_training_on_the_offline_subset(capsys, _isolated):
    """CI's check: a brief run on mnist-5k is far above chance (0.1)."""
    if datasets.subset.subset_file() is None:
        pytest.skip(f"the mnist-5k subset is not installed: {datasets.subset.INSTALL_HINT}")
    code, out, err = run(["train", "--dataset", "mnist-5k", "--iters", "400", "--quiet",
                          "--save", "m.npz"], capsys)
    assert code == 0, err
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["dataset"] == "mnist-5k" and result["total"] == 1000
    assert result["accuracy"] >= 0.8


def test_simple_conv_on_the_offline_subset(capsys, _isolated):
    """The issue's quick check: 20 iterations of SimpleConvNet on mnist-5k, then eval."""
    if datasets.subset.subset_file() is None:
        pytest.skip(f"the mnist-5k subset is not installed: {datasets.subset.INSTALL_HINT}")
    code, out, err = run(["train", "--model", "simple-conv", "--iters", "20", "--dataset",
                          "mnist-5k", "--optimizer", "adam", "--lr", "0.001", "--quiet",
                          "--save", "m.npz"], capsys)
    assert code == 0, err
    code, out, err = run(["eval", "--weights", "m.npz", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["dataset"] == "mnist-5k" and result["total"] == 1000
    assert result["accuracy"] >= 0.4


def test_one_epoch_on_real_mnist(capsys, _isolated):
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST is not at {MNIST_DIR} (set NNXP_TEST_MNIST_DIR)")
    code, out, err = run(["train", "--data-dir", MNIST_DIR, "--dataset", "mnist", "--iters",
                          "600", "--quiet", "--save", "m.npz"], capsys)
    assert code == 0, err
    assert "on mnist" in out
    code, out, err = run(["eval", "--weights", "m.npz", "--data-dir", MNIST_DIR, "--json"],
                         capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["total"] == 10_000 and result["accuracy"] >= 0.88


@pytest.mark.host
def test_a_reader_that_leaves_early_gets_no_traceback():
    """``nnxp info | head -0``: the pipe closes before nnxp writes."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "nnxp", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()
