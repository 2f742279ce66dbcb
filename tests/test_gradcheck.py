"""gradient_check and ``nnxp gradcheck``: the book's backprop-vs-numerical comparison."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nnxp
from nnxp.cli import main
from nnxp.gradcheck import GradientCheck, random_mnist_like
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.models.two_layer import TwoLayerNet


def test_gradient_check_passes_for_correct_backprop(backend):
    x, t = random_mnist_like(4, input_size=20, classes=5, seed=1)
    net = TwoLayerNet(20, 6, 5, backend=backend, dtype="float64", seed=1)
    result = nnxp.gradient_check(net, backend.asarray(x), backend.asarray(t))
    assert isinstance(result, GradientCheck)
    assert result.passed and result.failed() == []
    assert list(result.params) == ["W1", "b1", "W2", "b2"]
    w1 = result.params["W1"]
    assert w1.shape == (20, 6)
    assert 0 <= w1.mean_abs <= w1.max_abs < 1e-7
    assert 0 <= w1.mean_rel <= w1.max_rel
    assert w1.norm_rel < 1e-4
    assert "W1" in result.table() and "ok" in result.table()


def test_gradient_check_catches_wrong_backprop(backend):
    x, t = random_mnist_like(4, input_size=20, classes=5, seed=2)
    net = MultiLayerNet(20, [6, 4], 5, activation="sigmoid", backend=backend, dtype="float64",
                        seed=2)
    backward = net.last_layer.backward
    net.last_layer.backward = lambda dout=1: 2.0 * backward(dout)
    result = nnxp.gradient_check(net, backend.asarray(x), backend.asarray(t))
    assert not result.passed
    assert result.failed() == list(net.params)
    assert all(abs(c.norm_rel - 1.0) < 1e-3 for c in result.params.values())


def test_gradient_check_float32_uses_looser_defaults(backend):
    x, t = random_mnist_like(3, input_size=12, classes=4, seed=3)
    net = MultiLayerNet(12, [5], 4, activation="relu", backend=backend, dtype="float32", seed=3)
    result = nnxp.gradient_check(net, backend.asarray(x), backend.asarray(t))
    assert (result.atol, result.rtol) == (1e-7, 1e-3)
    assert result.passed


SMALL = ["--input-size", "30", "--batch", "4"]


@pytest.mark.host
def test_cli_prints_one_line_per_parameter(capsys):
    assert main(["gradcheck", *SMALL, "--hidden", "7"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines()[3:-1]]
    assert rows == ["W1", "b1", "W2", "b2"]
    assert "all 4 parameters pass" in out
    assert "two-layer 30-7-10" in out


@pytest.mark.host
def test_cli_multi_layer_relu_with_weight_decay(capsys):
    argv = ["gradcheck", *SMALL, "--model", "multi-layer", "--activation", "relu",
            "--hidden", "6", "5", "--weight-decay", "0.1", "--seed", "4"]
    assert main(argv) == 0
    assert "all 6 parameters pass" in capsys.readouterr().out


@pytest.mark.host
def test_cli_tanh_nets_pass(capsys):
    for model in ("two-layer", "multi-layer"):
        assert main(["gradcheck", *SMALL, "--model", model, "--activation", "tanh"]) == 0
        out = capsys.readouterr().out
        assert "tanh" in out.splitlines()[0] and "parameters pass" in out


@pytest.mark.host
def test_cli_exits_1_when_a_parameter_fails(capsys):
    assert main(["gradcheck", *SMALL, "--hidden", "5", "--atol", "0", "--rtol", "0"]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.host
@pytest.mark.parametrize("argv", [["--batch", "0"], ["--hidden", "3", "4"]])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv):
    try:
        code = main(["gradcheck", "--input-size", "10", *argv])
    except SystemExit as exc:  # argparse refuses a bad value before main runs anything
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnxp gradcheck: error:") and "\n" not in err


@pytest.mark.host
def test_import_and_help_do_not_load_numba():
    code = ("import sys, nnxp, nnxp.cli; nnxp.cli.build_parser(); "
            "assert 'numba' not in sys.modules, 'numba imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    help_text = subprocess.run([sys.executable, "-m", "nnxp", "--help"], check=True,
                               capture_output=True, text=True).stdout
    assert "gradcheck" in help_text
