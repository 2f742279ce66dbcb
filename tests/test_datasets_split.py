"""nnxp.datasets.split: the first N samples, the book's seeded shuffle, validation splits."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.datasets import select_splits, shuffle_dataset, split_validation, take
from nnxp.datasets.split import check_selection, validation_count
from nnxp.errors import NnxpError

pytestmark = pytest.mark.host


def _data(n=500, features=6):
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    t = (np.arange(n) % 10).astype(np.uint8)
    return x, t


def test_take_is_the_books_first_n_samples_as_copies():
    x, t = _data()
    x300, t300 = take(x, t, 300)
    np.testing.assert_array_equal(x300, x[:300])
    np.testing.assert_array_equal(t300, t[:300])
    x300[0, 0] = -1.0
    assert x[0, 0] == 0.0  # a copy: the full set is untouched (and may be freed)
    assert take(x, t, 500)[0].shape == (500, 6)


def test_shuffle_dataset_keeps_pairs_and_a_seed_fixes_the_order():
    x, t = _data()
    xs, ts = shuffle_dataset(x, t, seed=0)
    # each row still carries its own label: row i of x holds i*6 .. i*6+5
    np.testing.assert_array_equal(ts, (xs[:, 0] / 6).astype(int) % 10)
    assert sorted(xs[:, 0].tolist()) == x[:, 0].tolist()
    assert not np.array_equal(xs, x)
    np.testing.assert_array_equal(shuffle_dataset(x, t, seed=0)[0], xs)
    assert not np.array_equal(shuffle_dataset(x, t, seed=1)[0], xs)
    # the order is numpy's default_rng(seed).permutation, on every machine
    np.testing.assert_array_equal(xs[:, 0] / 6, np.random.default_rng(0).permutation(500))
    np.testing.assert_array_equal(x, _data()[0])  # the input is not modified


def test_shuffle_dataset_of_images():
    x = np.arange(4 * 1 * 2 * 2).reshape(4, 1, 2, 2)
    t = np.arange(4)
    xs, ts = shuffle_dataset(x, t, seed=3)
    np.testing.assert_array_equal(xs[:, 0, 0, 0] // 4, ts)


def test_split_validation_is_the_books_shuffle_then_first_fifth():
    x, t = _data()
    (x_train, t_train), (x_val, t_val) = split_validation(x, t, 0.2, seed=0)
    assert x_val.shape == (100, 6) and x_train.shape == (400, 6)  # int(500 * 0.2) = 100
    xs, _ = shuffle_dataset(x, t, seed=0)
    np.testing.assert_array_equal(x_val, xs[:100])
    np.testing.assert_array_equal(x_train, xs[100:])
    both = np.concatenate([x_train[:, 0], x_val[:, 0]])
    assert sorted(both.tolist()) == x[:, 0].tolist()  # disjoint, and nothing lost
    assert validation_count(7, 0.5) == 3  # int(), as the book


def test_select_splits_takes_then_splits_or_cuts_the_test_set():
    x, t = _data()
    xt, tt = _data(200)
    splits = ((x, t), (xt, tt))
    (a, _), (b, _) = select_splits(splits, train_size=300, test_size=50)
    np.testing.assert_array_equal(a, x[:300])
    np.testing.assert_array_equal(b, xt[:50])
    (a, _), (v, _) = select_splits(splits, train_size=300, validation=0.2, seed=5)
    assert (a.shape[0], v.shape[0]) == (240, 60)
    assert set(np.concatenate([a[:, 0], v[:, 0]]).tolist()) == set(x[:300, 0].tolist())
    (a, _), (b, _) = select_splits(splits)
    assert a is not None and a.shape == x.shape and b.shape == xt.shape


@pytest.mark.parametrize(
    ("call", "needles"),
    [
        (lambda x, t: take(x, t, 0), ["must be a positive integer, got 0"]),
        (lambda x, t: take(x, t, -1), ["positive integer"]),
        (lambda x, t: take(x, t, 2.5), ["positive integer, got 2.5"]),
        (lambda x, t: take(x, t, True), ["positive integer, got True"]),
        (lambda x, t: take(x, t, 501), ["501 is larger than the set (500 samples)"]),
        (lambda x, t: take(x, t[:3], 2), ["500 inputs but 3 labels"]),
        (lambda x, t: shuffle_dataset(x, t, seed=-1), ["seed must be an integer >= 0"]),
        (lambda x, t: shuffle_dataset(x, t, seed="0"), ["seed must be an integer >= 0"]),
        (lambda x, t: split_validation(x, t, 0), ["between 0 and 1"]),
        (lambda x, t: split_validation(x, t, 1), ["between 0 and 1"]),
        (lambda x, t: split_validation(x, t, float("nan")), ["between 0 and 1"]),
        (lambda x, t: split_validation(x, t, "0.2"), ["must be a number"]),
        (lambda x, t: split_validation(x, t, 0.001), ["holds out no sample"]),
        (lambda x, t: split_validation(x[:1], t[:1], 0.9), ["0.9 of 1 samples holds out no"]),
        (lambda x, t: split_validation(x[0, 0], t, 0.2), ["one sample per row"]),
    ],
)
def test_bad_arguments_are_one_line(call, needles):
    x, t = _data()
    with pytest.raises(NnxpError) as info:
        call(x, t)
    assert "\n" not in str(info.value)
    for needle in needles:
        assert needle in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"train_size": 10**9}, ["--train-size 1000000000 is larger than any MNIST file can hold"]),
        ({"test_size": 10**9}, ["--test-size", "larger than any MNIST file"]),
        ({"test_size": 10, "validation": 0.2}, ["--test-size has no effect with --validation"]),
        ({"validation": 1.5}, ["--validation must be between 0 and 1"]),
        ({"train_size": 5, "validation": 0.1}, ["--validation 0.1 of 5 samples holds out no"]),
        ({"train_size": 150, "validation": 0.5, "batch_size": 100},
         ["--batch-size 100 is larger than the training set (75 samples after --validation 0.5 "
          "holds 75 out)"]),
        ({"train_size": 50, "batch_size": 100}, ["training set (50 samples)"]),
    ],
)
def test_selection_is_checked_before_the_data_is_loaded(kwargs, needles):
    with pytest.raises(NnxpError) as info:
        check_selection(**kwargs)
    for needle in needles:
        assert needle in str(info.value)


def test_selection_is_checked_against_the_loaded_sets():
    check_selection(train_size=500, validation=0.2, batch_size=100)  # the book's search: fine
    with pytest.raises(NnxpError, match="larger than mnist-5k's training set .4000 samples"):
        check_selection(train_size=5000, available=(4000, 1000), dataset="mnist-5k")
    with pytest.raises(NnxpError, match="mnist-5k's test set .1000 samples"):
        check_selection(test_size=1001, available=(4000, 1000), dataset="mnist-5k")
    with pytest.raises(NnxpError, match="training set .40 samples after --validation 0.99"):
        check_selection(validation=0.99, batch_size=100, available=(4000, 1000))
