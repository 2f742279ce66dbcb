"""Hostile sizes and fractions for the smaller training sets and validation splits
(``--train-size``, ``--test-size``, ``--validation`` of ``nnxp train`` and ``nnxp search``,
``nnxp plot overfit --train-size``, and nnxp.datasets' take / split_validation /
shuffle_dataset): one line, exit code 2 (NnxpError in Python), nothing written, and the data
never loaded when the numbers alone are wrong."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.datasets import select_splits, shuffle_dataset, split_validation, take
from nnxp.errors import NnxpError
from nnxp.search import draw_trials, random_search
from tests.adversarial.conftest import assert_refused, cli, snapshot

COMMANDS = {
    "train": ["train", "--iters", "2", "--save", "m.npz"],
    "search": ["search", "--trials", "1", "--epochs", "1", "--results", "r.json"],
}

NOT_A_SIZE = ["0", "-1", "-0", "1.5", "1e3", "nan", "inf", "", " ", "x", "0x10"]
NOT_A_FRACTION = ["0", "1", "-0.2", "1.0000001", "nan", "inf", "-inf", "", "x", "20%", "1/5"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("value", NOT_A_SIZE)
def test_sizes_that_are_no_count(workdir, tiny_data, command, value):
    before = snapshot(workdir)
    assert_refused(cli([*COMMANDS[command], "--train-size", value]), "--train-size")
    assert snapshot(workdir) == before and tiny_data == []


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("value", NOT_A_FRACTION)
def test_fractions_outside_zero_one(workdir, tiny_data, command, value):
    assert_refused(cli([*COMMANDS[command], "--validation", value]), "--validation")
    assert list(workdir.iterdir()) == [] and tiny_data == []


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("extra", "needle", "loads"),
    [
        (["--train-size", "99999999999999999999"], "larger than any MNIST file can hold", False),
        (["--train-size", "81633"], "larger than any MNIST file can hold", False),
        (["--train-size", "501"], "larger than mnist-5k's training set (500 samples)", True),
        (["--train-size", "10", "--batch-size", "11"], "--batch-size 11 is larger than the "
                                                       "training set (", False),
        (["--train-size", "100", "--validation", "0.001", "--batch-size", "1"],
         "--validation 0.001 of 100 samples holds out no sample", False),
        (["--train-size", "1", "--validation", "0.5", "--batch-size", "1"],
         "of 1 samples holds out no sample", False),
        (["--train-size", "200", "--validation", "0.9", "--batch-size", "100"],
         "training set (20 samples after --validation 0.9 holds 180 out)", False),
    ],
)
def test_splits_too_small_for_the_batch_or_empty(workdir, tiny_data, command, extra, needle,
                                                 loads):
    argv = COMMANDS[command]
    if command == "search" and "--batch-size" not in extra:
        extra = [*extra, "--batch-size", "10"]
    assert_refused(cli([*argv, *extra]), needle)
    assert list(workdir.iterdir()) == []
    assert bool(tiny_data) == loads


def test_a_vanishing_fraction(workdir, tiny_data):
    """Of the whole set (train), checked once it is loaded; of search's --train-size 500, before."""
    assert_refused(cli([*COMMANDS["train"], "--validation", "1e-300"]),
                   "--validation 1e-300 of 500 samples holds out no sample")
    assert len(tiny_data) == 1
    assert_refused(cli([*COMMANDS["search"], "--validation", "1e-300"]),
                   "--validation 1e-300 of 500 samples holds out no sample")
    assert len(tiny_data) == 1
    assert list(workdir.iterdir()) == []


def test_test_size_beyond_the_set_and_beside_validation(workdir, tiny_data):
    assert_refused(cli([*COMMANDS["train"], "--test-size", "201"]),
                   "--test-size 201 is larger than mnist-5k's test set (200 samples)")
    assert_refused(cli([*COMMANDS["train"], "--test-size", "5", "--validation", "0.2"]),
                   "--test-size has no effect with --validation")
    assert_refused(cli([*COMMANDS["search"], "--test-size", "5"]), "unrecognized arguments")
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-3", "x", "99999999", "600"])
def test_plot_overfit_train_size(workdir, tiny_data, value):
    assert_refused(cli(["plot", "overfit", "--epochs", "1", "--train-size", value]),
                   "--train-size")
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    ("bounds", "needle"),
    [
        (["-2", "-6"], "give the lower bound first"),
        (["-400", "-2"], "[-38, 38]"),
        (["1e308", "1e308"], "[-38, 38]"),
        (["nan", "0"], "not a finite number"),
        (["-inf", "0"], "expected 2 arguments"),  # argparse takes -inf for an option
        (["1"], "expected 2 arguments"),
    ],
)
@pytest.mark.parametrize("option", ["--lr-range", "--weight-decay-range"])
def test_search_ranges(workdir, tiny_data, option, bounds, needle):
    assert_refused(cli([*COMMANDS["search"], option, *bounds]), needle)
    assert list(workdir.iterdir()) == [] and tiny_data == []


def test_search_huge_trials_draw_lazily(workdir, tiny_data):
    """A count of trials is legitimate long work, not an allocation: they are drawn as run."""
    drawn = draw_trials(10**18, seed=0)
    assert next(drawn).number == 1 and next(drawn).number == 2


def test_search_with_a_huge_net_is_refused_before_loading(workdir, tiny_data):
    assert_refused(cli([*COMMANDS["search"], "--hidden", "10000000", "10000000"]), "memory")
    assert tiny_data == []


X = np.zeros((10, 3), dtype=np.float32)
T = np.arange(10) % 3


@pytest.mark.parametrize(
    "call",
    [
        lambda: take(X, T, 0),
        lambda: take(X, T, 11),
        lambda: take(X, T, 10**30),
        lambda: take(X, T, -1),
        lambda: take(X, T, 2.0),
        lambda: take(X, T, "3"),
        lambda: take(X, T, None),
        lambda: take(X, T, True),
        lambda: take(X, T[:4], 2),
        lambda: take(np.float32(1.0), T, 1),
        lambda: take([[1, 2], [3]], [0, 1], 1),
        lambda: shuffle_dataset(X, T, seed=-1),
        lambda: shuffle_dataset(X, T, seed=1.5),
        lambda: shuffle_dataset(X, T, seed=[1, 2]),
        lambda: split_validation(X, T, float("nan")),
        lambda: split_validation(X, T, float("inf")),
        lambda: split_validation(X, T, -0.5),
        lambda: split_validation(X, T, 0),
        lambda: split_validation(X, T, 1),
        lambda: split_validation(X, T, 0.05),
        lambda: split_validation(X, T, None),
        lambda: split_validation(X, T, "0.2"),
        lambda: split_validation(X, T, 0.2, seed=-1),
        lambda: select_splits(((X, T), (X, T)), train_size=11),
        lambda: select_splits(((X, T), (X, T)), test_size=0),
        lambda: select_splits(((X, T), (X, T)), validation=0.5, test_size=2),
        lambda: select_splits(((X, T), (X, T)), validation=0.5, batch_size=6),
        lambda: random_search(X, T, X, T, trials=1, epochs=1, batch_size=11),
        lambda: random_search(X, T, X, T, trials=True, epochs=1, batch_size=1),
        lambda: random_search(X, T, X, T, trials=1, epochs=1, batch_size=1, lr_range="ab"),
        lambda: random_search(X, T, X[:, :2], T, trials=1, epochs=1, batch_size=1),
    ],
)
def test_library_refusals_are_one_line(call):
    with pytest.raises(NnxpError) as info:
        call()
    assert "\n" not in str(info.value) and str(info.value)


def test_numpy_integers_and_fractions_are_accepted():
    (x, _), (v, _) = split_validation(X, T, np.float32(0.5), seed=np.int64(3))
    assert (x.shape[0], v.shape[0]) == (5, 5)
    assert take(X, T, np.int64(4))[0].shape == (4, 3)
