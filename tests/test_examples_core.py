"""The numbers the chapter 4-8 examples on nnxp's nets, optimizers and parameter files print
(quick mode), each script loaded as a module and its ``main`` called in this process."""

from __future__ import annotations

import argparse
import re
import runpy

import numpy as np
import pytest

from tests.example_runner import EXAMPLES, is_png


def run_main(name: str, out, capsys, **options) -> list[str]:
    """Run examples/NAME.py's main with ``--quick --out out``; return its printed lines."""
    main = runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"]
    assert main(argparse.Namespace(quick=True, out=str(out), **options)) == 0
    return capsys.readouterr().out.splitlines()


def numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text)]


def test_gradient_method_prints_the_books_descents(tmp_path, capsys):
    out = run_main("ch04/gradient_method", tmp_path, capsys)
    np.testing.assert_allclose(numbers(out[0])[-2:], np.array([-3.0, 4.0]) * 0.8**20, rtol=1e-6)
    np.testing.assert_allclose(numbers(out[1])[-2:], [-6.11110793e-10, 8.14814391e-10],
                               rtol=1e-6)
    assert out[2] == "lr=10.0: [-2.58983747e+13 -1.29524862e+12]"  # as the book's text
    assert out[3] == "lr=1e-10: [-2.99999994  3.99999992]"
    assert out[4] == f"figure: {tmp_path / 'gradient_method.png'}"
    assert is_png(tmp_path / "gradient_method.png")


def test_gradient_simplenet_dW_is_the_analytic_gradient(tmp_path, capsys):
    out = run_main("ch04/gradient_simplenet", tmp_path, capsys)
    assert out[0].startswith("W: [[") and out[3].startswith("loss: ")
    dW = np.array([numbers(out[4]), numbers(out[5])])
    assert dW.shape == (2, 3)
    np.testing.assert_allclose(dW.sum(axis=1), 0, atol=1e-6)
    assert (dW[:, 2] < 0).all() and (dW[:, :2] > 0).all()
    assert out[6].startswith("max |dW - outer(x, softmax(x W) - t)|: ")
    assert numbers(out[6])[-1] < 2e-7  # the 1e-7 inside cross_entropy_error's log


def test_two_layer_net_ch04_shapes_and_numerical_gradient(tmp_path, capsys):
    out = run_main("ch04/two_layer_net", tmp_path, capsys)
    assert out[:4] == ["net.params['W1'].shape: (784, 100)", "net.params['b1'].shape: (100,)",
                       "net.params['W2'].shape: (100, 10)", "net.params['b2'].shape: (10,)"]
    assert out[4] == "y.shape: (100, 10) | softmax rows sum to 1.0"
    assert out[5] == "grads['W1'].shape: (784, 100)"
    assert numbers(out[-1])[-1] < 1e-8


@pytest.mark.parametrize(("name", "line"), [
    ("ch04/train_neuralnet", r"train acc, test acc \| ([0-9.]+), ([0-9.]+)"),
    ("ch05/train_neuralnet", r"([0-9.]+) ([0-9.]+)"),
])
def test_train_neuralnet_prints_an_accuracy_pair_per_epoch(tmp_path, capsys, name, line):
    out = run_main(name, tmp_path, capsys)
    pairs = [re.fullmatch(line, text) for text in out if not text.startswith("figure: ")]
    assert len(pairs) == 10 and all(pairs)  # 400 iterations, an epoch of 40
    first, last = ([float(v) for v in pair.groups()] for pair in (pairs[0], pairs[-1]))
    assert max(first) < 0.3 and min(last) > (0.5 if name.startswith("ch04") else 0.8)
    if name.startswith("ch04"):
        assert is_png(tmp_path / "train_neuralnet.png")


def test_gradient_check_differences_are_tiny(tmp_path, capsys):
    out = run_main("ch05/gradient_check", tmp_path, capsys)
    assert [line.split(":")[0] for line in out] == ["W1", "b1", "W2", "b2"]
    assert all(float(line.split(":")[1]) < 1e-8 for line in out)


def test_two_layer_net_ch05_layers_one_sample_and_params_file(tmp_path, capsys):
    out = run_main("ch05/two_layer_net", tmp_path, capsys)
    assert out[0] == "layers: Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss"
    assert out[1:5] == ["W1: (784, 50)", "b1: (50,)", "W2: (50, 10)", "b2: (10,)"]
    assert out[5] == ("predict(x[:3]).shape: (3, 10) | predict(x[0]).shape: (10,) | the same "
                      "scores: True")
    assert out[-2] == f"saved: {tmp_path / 'two_layer_net.npz'}"
    assert out[-1] == "loaded: the same scores: True"


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_norm_gradient_check(tmp_path, capsys, batch):
    out = run_main("ch06/batch_norm_gradient_check", tmp_path, capsys, batch=batch)
    diffs = {line.split(":")[0]: float(line.split(":")[1]) for line in out}
    assert list(diffs) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3",
                           "b3"]
    if batch == 1:  # one image: each normalisation outputs its beta; beta2 meets ReLU's kink
        assert all(diffs[key] == 0.0 for key in list(diffs)[:7]) and diffs["beta2"] > 0.01
    else:
        assert max(diffs.values()) < 1e-8


def test_optimizer_compare_naive(tmp_path, capsys):
    out = run_main("ch06/optimizer_compare_naive", tmp_path, capsys)
    assert [line.split(" (")[0] for line in out[:4]] == ["SGD", "Momentum", "AdaGrad", "Adam"]
    final = {line.split(" (")[0]: numbers(line.split(": ")[1]) for line in out[:4]}
    assert final["AdaGrad"][2] < 0.001 < final["SGD"][2] < final["Adam"][2]
    assert all(n[-1] == 30 for n in final.values())
    assert out[4] == f"figure: {tmp_path / 'optimizer_compare_naive.png'}"
    assert is_png(tmp_path / "optimizer_compare_naive.png")


def test_awesome_net_trains_saves_and_loads_back(tmp_path, capsys):
    out = run_main("ch08/awesome_net", tmp_path, capsys)
    assert out[0].startswith("layers: Affine -> BatchNormalization -> Tanh -> Affine")
    assert out[2].startswith("epoch 0/2  step 0  loss      -  ")
    acc = float(next(line for line in out if line.startswith("test acc: ")).split()[-1])
    assert acc > 0.85
    assert f"saved: {tmp_path / 'awesome_net.npz'}" in out
    assert f"load_params: test acc {acc}" in out
    rebuilt = next(line for line in out if line.startswith("load_model: "))
    assert re.fullmatch(rf"load_model: AwesomeNet \(model '.+:AwesomeNet'\), test acc {acc}",
                        rebuilt)  # '__main__:AwesomeNet' when run as a script
    assert re.fullmatch(r"predict\(x_test\[0\]\): class \d \(label \d\)", out[-1])
