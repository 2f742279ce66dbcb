"""The numbers the chapter 2-5 basics of examples/ print and the figures they draw (quick mode),
each script loaded as a module and its ``main`` called in this process."""

from __future__ import annotations

import argparse
import re
import runpy

import numpy as np
import pytest

from tests.example_runner import EXAMPLES, is_png


def run_main(name: str, out, capsys) -> str:
    """Run examples/NAME.py's main with ``--quick --out out``; return what it printed."""
    main = runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"]
    assert main(argparse.Namespace(quick=True, out=str(out))) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("gate, table", [
    ("and_gate", "0001"), ("nand_gate", "1110"), ("or_gate", "0111"), ("xor_gate", "0110"),
])
def test_gates_print_the_books_truth_tables(gate, table, tmp_path, capsys):
    out = run_main(f"ch02/{gate}", tmp_path, capsys)
    inputs = ["(0, 0)", "(1, 0)", "(0, 1)", "(1, 1)"]
    assert out == "".join(f"{x} -> {y}\n" for x, y in zip(inputs, table, strict=True))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "step_function"])
def test_activation_curves_are_drawn(name, tmp_path, capsys):
    from matplotlib.image import imread

    out = run_main(f"ch03/{name}", tmp_path, capsys)
    png = tmp_path / f"{name}.png"
    assert out == f"figure: {png}\n"
    assert is_png(png) and imread(png).shape[:2] == (480, 640)
    assert sorted(p.name for p in tmp_path.iterdir()) == [png.name]


def test_gradient_field_prints_the_books_gradients(tmp_path, capsys):
    out = run_main("ch04/gradient_2d", tmp_path, capsys).splitlines()
    assert len(out) == 4 and out[3] == f"figure: {tmp_path / 'gradient_2d.png'}"
    for line, want in zip(out[:3], ([6.0, 8.0], [0.0, 4.0], [6.0, 0.0]), strict=True):
        got = [float(v) for v in re.search(r"\[([^]]*)\]$", line).group(1).split()]
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert out[0].startswith("numerical_gradient(function_2, [3.0, 4.0]): ")
    assert is_png(tmp_path / "gradient_2d.png")


def test_buy_apple_prints_the_books_numbers(tmp_path, capsys):
    out = run_main("ch05/buy_apple", tmp_path, capsys)
    assert out == "price: 220\ndApple: 2.2\ndApple_num: 110\ndTax: 200\n"


def test_buy_apple_orange_prints_the_books_numbers(tmp_path, capsys):
    out = run_main("ch05/buy_apple_orange", tmp_path, capsys)
    assert out == ("price: 715\ndApple: 2.2\ndApple_num: 110\ndOrange: 3.3000000000000003\n"
                   "dOrange_num: 165\ndTax: 650\n")


def test_layer_naive_exercises_mul_and_add(tmp_path, capsys):
    out = run_main("ch05/layer_naive", tmp_path, capsys)
    assert out.splitlines() == [
        "MulLayer.forward(100, 2): 200",
        "MulLayer.backward(1): (2, 100)",
        "AddLayer.forward(200, 450): 650",
        "AddLayer.backward(1): (1, 1)",
        "MulLayer.forward([100. 150.], [2. 3.]): [200. 450.]",
        "MulLayer.backward([1. 1.]): ([2. 3.], [100. 150.])",
    ]


def test_the_basics_write_nothing_without_a_figure(tmp_path, capsys):
    for name in ["ch02/and_gate", "ch05/buy_apple", "ch05/layer_naive"]:
        run_main(name, tmp_path, capsys)
    assert list(tmp_path.iterdir()) == []
