"""Hostile `nnxp gradcheck` options: every one refused in one line with exit 2, before any
large allocation; every model checked on a small net."""

from __future__ import annotations

import pytest

from tests.adversarial.conftest import assert_refused, cli

pytestmark = pytest.mark.host

SMALL = ["gradcheck", "--input-size", "10", "--hidden", "5"]


@pytest.mark.parametrize("argv, needle", [
    (["--seed", "-1"], "--seed"),
    (["--seed", "x"], "--seed"),
    (["--atol", "nan"], "--atol"),
    (["--atol", "inf"], "--atol"),
    (["--atol", "-1"], "--atol"),
    (["--rtol", "nan"], "--rtol"),
    (["--hidden", "0"], "--hidden"),
    (["--hidden", "-5"], "--hidden"),
    (["--classes", "0"], "--classes"),
    (["--batch", "0"], "--batch"),
    (["--weight-decay", "-1"], "--weight-decay"),
    (["--dropout-ratio", "1"], "--dropout-ratio"),
])
def test_bad_values_are_refused_by_the_parser(argv, needle):
    assert_refused(cli([*SMALL, *argv]), needle)


@pytest.mark.parametrize("argv, needle", [
    (["gradcheck", "--hidden", "100000000"], "parameters"),
    (["gradcheck", "--input-size", "100000000"], "parameters"),
    (["gradcheck", "--batch", str(10**9)], "random batch"),
    (["gradcheck", "--model", "multi-layer", "--hidden", "10", str(10**12)], "parameters"),
    (["gradcheck", "--model", "two-layer", "--hidden", "3", "4"], "takes one"),
    (["gradcheck", "--model", "two-layer", "--weight-decay", "0.1"], "--weight-decay"),
    (["gradcheck", "--model", "multi-layer", "--dropout"], "--batchnorm/--dropout"),
    (["gradcheck", "--model", "simple-conv", "--input-size", "10"], "--input-size"),
    (["gradcheck", "--model", "deep-conv", "--activation", "sigmoid"], "--activation"),
    (["gradcheck", "--model", "two-layer", "--filters", "2"], "--filters"),
    (["gradcheck", "--backend", "array_api_strict", "--device", "no_float64"], "no_float64"),
])
def test_sizes_and_combinations_are_refused_before_allocating(argv, needle):
    assert_refused(cli(argv), needle)


@pytest.mark.parametrize("argv", [
    ["--model", "two-layer"],
    ["--model", "multi-layer", "--hidden", "5", "4", "--weight-decay", "0.1"],
    ["--model", "multi-layer-extend", "--hidden", "5", "4", "--batchnorm", "--dropout"],
])
def test_every_fully_connected_model_passes(argv):
    result = cli(["gradcheck", "--input-size", "12", *argv])
    assert result.code == 0, result.out + result.err
    assert "parameters pass" in result.out


@pytest.mark.parametrize("argv", [["--model", "simple-conv", "--seed", "1"],
                                  ["--model", "deep-conv", "--seed", "4"]])
def test_conv_models_check_28x28_images(argv):
    result = cli(["gradcheck", *argv])
    assert result.code == 0, result.out + result.err
    assert "1x28x28 images" in result.out and "parameters pass" in result.out


def test_a_tolerance_of_zero_fails_a_dropout_net():
    result = cli([*SMALL, "--model", "multi-layer-extend", "--dropout", "--atol", "0",
                  "--rtol", "0"])
    assert result.code == 1 and "FAIL" in result.out
