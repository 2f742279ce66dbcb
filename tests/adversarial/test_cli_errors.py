"""Tracebacks where the contract is one line and exit code 2: the CLI's own checks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.adversarial.conftest import assert_refused, cli

TRAIN = ["train", "--iters", "5", "--batch-size", "50", "--quiet"]


@pytest.mark.parametrize("argv", [
    [*TRAIN, "--seed", "-1"],
    ["plot", "optimizers", "--seed", "-1", "--iters", "2"],
])
def test_a_negative_seed_is_refused(workdir, tiny_data, argv):
    assert_refused(cli(argv), "--seed", "integer >= 0")
    assert tiny_data == [] and list(workdir.iterdir()) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1e-9"])
def test_a_learning_rate_that_is_not_finite_and_positive_is_refused(workdir, tiny_data, value):
    assert_refused(cli([*TRAIN, f"--lr={value}"]), "learning rate must be a finite number > 0")


@pytest.mark.parametrize("argv", [["train"], ["eval", "--weights", "m.npz"],
                                  ["convert", "b.pkl", "--arch", "ch03", "-o", "m.npz"],
                                  ["plot", "activations"], ["gradcheck"], ["info"]])
def test_an_unknown_option_points_at_the_subcommands_help(workdir, argv):
    assert_refused(cli([*argv, "--no-such-option"]), f"see `nnxp {argv[0]} --help`",
                   "unrecognized arguments: --no-such-option")
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(("error", "needles"), [
    (MemoryError(), ["out of memory"]),
    (OSError(5, "Input/output error", "/some/file"), ["Input/output error (/some/file)"]),
])
def test_an_unexpected_memory_or_os_error_is_still_one_line(workdir, monkeypatch, error,
                                                             needles):
    from nnxp import datasets

    def load_dataset(*args, **kwargs):
        raise error

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert_refused(cli(TRAIN), *needles)


def test_errors_never_recommend_allow_pickle(workdir, tiny_data):
    np.save("plain.npy", np.zeros(3, dtype=object), allow_pickle=True)
    result = cli(["eval", "--weights", "plain.npy"])
    assert_refused(result)
