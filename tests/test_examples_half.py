"""What the chapter-3 inference, chapter-7 and chapter-8 scripts of examples/ print and write
(quick mode), each script loaded as a module and its ``main`` called in this process, with
NNXP_BOOK_DIR naming a folder of random weights in the book's shapes (the book's own files
where they are present, for the book's figures)."""

from __future__ import annotations

import argparse
import os
import pickle
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

from nnxp import datasets
from nnxp.io import load_model
from tests.test_half import BOOK_DIR, MNIST_DIR, book_pickle

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def book_dir(tmp_path, monkeypatch):
    """NNXP_BOOK_DIR: a folder laid out like the book's repository, random weights at He
    scale (the chapter-3 pickle in float32, as the book's)."""
    from nnxp.book_weights import BOOK_FILES

    folder = tmp_path / "book"
    for arch, relative in BOOK_FILES.items():
        params = book_pickle(folder / relative, arch, seed=7)
        if arch == "ch03":
            params = {k: v.astype(np.float32) for k, v in params.items()}
            (folder / relative).write_bytes(pickle.dumps(params))
    monkeypatch.setenv("NNXP_BOOK_DIR", str(folder))
    return folder


def run_main(name: str, out: Path, capsys, quick: bool = True, **options) -> list[str]:
    """Run examples/NAME.py's main with ``--quick --out out`` (and the script's own options,
    None by default); return the lines it printed."""
    module = runpy.run_path(str(EXAMPLES / f"{name}.py"))
    parser = argparse.ArgumentParser()
    if "setup" in module:
        module["setup"](parser)
    args = parser.parse_args([])
    args.quick, args.out = quick, str(out)
    for key, value in options.items():
        setattr(args, key, value)
    assert module["main"](args) == 0
    return capsys.readouterr().out.splitlines()


def _book_predict(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The book's chapter-3 predict in plain NumPy (softmax left out: argmax is the same)."""
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))

    z1 = sigmoid(x @ params["W1"] + params["b1"])
    z2 = sigmoid(z1 @ params["W2"] + params["b2"])
    return z2 @ params["W3"] + params["b3"]


@pytest.mark.parametrize("name", ["neuralnet_mnist", "neuralnet_mnist_batch"])
def test_chapter_3_inference_prints_the_books_accuracy_line(name, book_dir, tmp_path, capsys):
    lines = run_main(f"ch03/{name}", tmp_path, capsys)
    params = pickle.loads((book_dir / "ch03" / "sample_weight.pkl").read_bytes())
    _, (x, t) = datasets.load_dataset("mnist-5k")[0]
    correct = int(np.sum(np.argmax(_book_predict(params, x), axis=1) == t))
    assert lines == [f"Accuracy:{correct / 1000}"]
    assert list(tmp_path.iterdir()) == [book_dir]


def test_chapter_3_inference_takes_weights_given_by_option(book_dir, tmp_path, capsys,
                                                           monkeypatch):
    monkeypatch.delenv("NNXP_BOOK_DIR")
    path = book_dir / "ch03" / "sample_weight.pkl"
    lines = run_main("ch03/neuralnet_mnist_batch", tmp_path, capsys, weights=str(path))
    assert re.fullmatch(r"Accuracy:0\.\d+", lines[0])


@pytest.mark.skipif(not (BOOK_DIR / "ch03" / "sample_weight.pkl").is_file()
                    or not MNIST_DIR.is_dir(), reason="the book's files or MNIST are absent")
@pytest.mark.parametrize("name", ["neuralnet_mnist", "neuralnet_mnist_batch"])
def test_chapter_3_inference_on_the_books_weights_gives_the_books_figure(name, tmp_path,
                                                                         capsys, monkeypatch):
    monkeypatch.setenv("NNXP_BOOK_DIR", str(BOOK_DIR))
    monkeypatch.setenv("NNXP_DATA_DIR", str(MNIST_DIR))
    assert run_main(f"ch03/{name}", tmp_path, capsys, quick=False) == ["Accuracy:0.9352"]


def test_gradient_check_prints_differences_far_below_1e_6(tmp_path, capsys):
    lines = run_main("ch07/gradient_check", tmp_path, capsys)
    assert [line.split()[0] for line in lines] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    diffs = [float(line.split()[1]) for line in lines]
    assert all(0 <= d < 1e-6 for d in diffs), lines
    assert max(diffs[1:]) < 1e-9  # W1 (5e-8) is where the ReLUs' kinks show


def _loss_accuracy(line: str) -> tuple[float, float]:
    found = re.search(r"loss: (\S+) accuracy: (\S+)$", line)
    return float(found.group(1)), float(found.group(2))


@pytest.mark.parametrize(("name", "shapes", "count"), [
    ("ch07/simple_convnet", {"W1": (30, 1, 5, 5), "W2": (4320, 100), "b3": (10,)}, None),
    ("ch08/deep_convnet", {"W1": (16, 1, 3, 3), "W6": (64, 64, 3, 3), "W7": (1024, 50),
                           "W8": (50, 10)}, "parameters: 123,552"),
])
def test_the_conv_net_scripts_exercise_their_class(name, shapes, count, tmp_path, capsys):
    lines = run_main(name, tmp_path, capsys)
    printed = {line.split()[0]: line.split(" ", 1)[1] for line in lines if " (" in line
               and line.split()[0][:1] in "Wb"}
    for key, shape in shapes.items():
        assert printed[key] == str(shape)
    if count:
        assert count in lines
    before = _loss_accuracy(next(line for line in lines if line.startswith("loss:")))
    after = _loss_accuracy(next(line for line in lines if line.startswith("after 10 updates")))
    assert abs(before[0] - 2.3) < 0.15 and before[1] < 0.25  # a guess among ten
    assert after[0] < before[0]
    assert lines[-1] == "load_params: same predictions True"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "saved", "model", "epochs", "least"), [
    ("ch07/train_convnet", "params.npz", "simple-conv", 2, 0.7),
    ("ch08/train_deepnet", "deep_convnet_params.npz", "deep-conv", 1, 0.4),
])
def test_the_training_scripts_print_the_books_lines_and_save_a_model_file(
        name, saved, model, epochs, least, tmp_path, capsys):
    lines = run_main(name, tmp_path, capsys)
    epoch_lines = [line for line in lines if line.startswith("=== epoch:")]
    assert len(epoch_lines) in (epochs, epochs + 1)  # with or without the untrained net's
    for line in epoch_lines:
        assert re.fullmatch(r"=== epoch:\d+, train acc:[\d.]+, test acc:[\d.]+ ===", line)
    at = lines.index("=============== Final Test Accuracy ===============")
    final = float(lines[at + 1].removeprefix("test acc:"))
    assert final >= least and lines[at + 2] == "Saved Network Parameters!"
    net, meta = load_model(tmp_path / saved)
    assert meta["model"]["model"] == model
    _, (x, t) = datasets.load_dataset("mnist-5k", flatten=False)[0]
    assert abs(net.accuracy(x, t) - final) <= 0.001  # the same net, chunked otherwise
    if name.endswith("train_convnet"):
        assert lines[-1] == f"figure: {tmp_path / 'train_convnet.png'}"
        assert (tmp_path / "train_convnet.png").read_bytes()[:8] == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [saved, *(["train_convnet.png"] if name.endswith("train_convnet") else [])])


def test_the_training_scripts_refuse_an_out_folder_that_is_not_there(tmp_path, capsys):
    from nnxp.errors import NnxpError

    with pytest.raises(NnxpError, match="directory .*absent does not exist"):
        run_main("ch07/train_convnet", tmp_path / "absent", capsys)


def _half_float_accuracies(lines: list[str]) -> tuple[float, float]:
    assert lines[0] == "caluculate accuracy (float64) ... "
    assert lines[2] == "caluculate accuracy (float16) ... " and len(lines) == 4
    return float(lines[1]), float(lines[3])


def test_half_float_network_scores_float16_as_float64(book_dir, tmp_path, capsys):
    a64, a16 = _half_float_accuracies(run_main("ch08/half_float_network", tmp_path, capsys))
    from nnxp.book_weights import load_book_weights

    _, (x, t) = datasets.load_dataset("mnist-5k", flatten=False)[0]
    path = book_dir / "ch08" / "deep_convnet_params.pkl"
    assert a64 == load_book_weights(path, "ch08", dtype="float64").accuracy(x, t)
    assert abs(a16 - a64) <= 0.005


@pytest.mark.skipif(not (BOOK_DIR / "ch08" / "deep_convnet_params.pkl").is_file(),
                    reason="the book's files are absent")
def test_half_float_network_on_the_books_weights(tmp_path, capsys):
    path = BOOK_DIR / "ch08" / "deep_convnet_params.pkl"
    a64, a16 = _half_float_accuracies(run_main("ch08/half_float_network", tmp_path, capsys,
                                               weights=os.fspath(path)))
    assert a64 >= 0.97 and abs(a16 - a64) <= 0.002
