"""The book's functions on the backend under test, to the digits the seed prints."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnxp.functions import (
    cross_entropy_error,
    identity_function,
    mean_squared_error,
    relu,
    sigmoid,
    softmax,
    step_function,
    tanh,
    tanh_grad,
)
from tests.helpers import assert_close

T = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
Y_RIGHT = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
Y_WRONG = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]


def arr(backend, values, dtype="float64"):
    return backend.asarray(np.asarray(values), dtype=dtype)


def test_softmax_seed_figure(backend):
    y = softmax(arr(backend, [0.3, 2.9, 4.0]))
    assert_close(y, [0.01821127, 0.24519181, 0.73659691], backend, rtol=0, atol=5e-9)
    assert float(backend.xp.sum(y)) == pytest.approx(1.0, abs=1e-15)


def test_softmax_overflow_safe_and_batched(backend):
    x = np.array([[1010.0, 1000.0, 990.0], [0.3, 2.9, 4.0]])
    y = softmax(arr(backend, x))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    assert_close(y, e / e.sum(axis=1, keepdims=True), backend, rtol=1e-12)


def test_mean_squared_error_seed_figures(backend):
    t = arr(backend, T)
    assert float(mean_squared_error(arr(backend, Y_RIGHT), t)) == pytest.approx(0.0975, abs=1e-15)
    assert float(mean_squared_error(arr(backend, Y_WRONG), t)) == pytest.approx(0.5975, abs=1e-15)


@pytest.mark.parametrize(
    ("y", "expected"), [(Y_RIGHT, 0.510825457099338), (Y_WRONG, 2.302584092994546)]
)
def test_cross_entropy_seed_figures(backend, y, expected):
    one_hot = cross_entropy_error(arr(backend, y), arr(backend, T))
    assert float(one_hot) == pytest.approx(expected, abs=1e-14)
    label = backend.asarray(np.asarray(2, dtype=np.int64))
    assert float(cross_entropy_error(arr(backend, y), label)) == pytest.approx(expected, abs=1e-14)


def test_cross_entropy_batch_is_averaged_for_both_label_forms(backend):
    y = arr(backend, [Y_RIGHT, Y_WRONG])
    t_hot = arr(backend, [T, T])
    t_int = backend.asarray(np.array([2, 2]))
    expected = (0.510825457099338 + 2.302584092994546) / 2
    assert float(cross_entropy_error(y, t_hot)) == pytest.approx(expected, abs=1e-14)
    assert float(cross_entropy_error(y, t_int)) == pytest.approx(expected, abs=1e-14)


def test_activations(backend):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    xa = arr(backend, x)
    assert_close(step_function(xa), (x > 0).astype(np.float64), backend)
    assert_close(relu(xa), np.maximum(x, 0), backend)
    assert_close(sigmoid(xa), 1 / (1 + np.exp(-x)), backend, rtol=1e-15)
    assert identity_function(xa) is xa


def test_tanh_and_its_gradient(backend):
    x = np.array([-30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0])
    xa = arr(backend, x)
    # tanh(0.5) = 0.46211715726000974, tanh(2) = 0.9640275800758169 (math.tanh)
    assert_close(tanh(xa), [-1.0, -0.9640275800758169, -0.46211715726000974, 0.0,
                            0.46211715726000974, 0.9640275800758169, 1.0], backend, rtol=1e-15)
    slope = [(math.tanh(v + 1e-6) - math.tanh(v - 1e-6)) / 2e-6 for v in x]
    assert_close(tanh_grad(xa), slope, backend, rtol=1e-8, atol=1e-12)
    assert_close(tanh_grad(xa), 1.0 - np.tanh(x) ** 2, backend, rtol=1e-15)
    x32 = arr(backend, x, dtype="float32")
    assert tanh(x32).dtype == tanh_grad(x32).dtype == backend.xp.float32


def test_sigmoid_large_inputs_no_overflow(backend):
    x = np.array([-1000.0, -40.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        y = sigmoid(arr(backend, x))
    assert_close(y, [0.0, math.exp(-40) / (1 + math.exp(-40)), 1 / (1 + math.exp(-40)), 1.0],
                 backend, rtol=1e-12)


def test_float32_stays_float32(backend):
    x = arr(backend, [[0.3, 2.9, 4.0]], dtype="float32")
    t = arr(backend, [[0.0, 0.0, 1.0]], dtype="float32")
    for out in (sigmoid(x), relu(x), softmax(x), step_function(x), cross_entropy_error(softmax(x), t),
                mean_squared_error(x, t)):
        assert out.dtype == backend.xp.float32


finite = st.floats(-50, 50, allow_nan=False, width=64)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=finite),
       st.floats(-100, 100))
def test_softmax_sums_to_one_and_is_shift_invariant(backend, x, c):
    y = softmax(arr(backend, x))
    sums = backend.to_numpy(backend.xp.sum(y, axis=-1))
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    assert_close(softmax(arr(backend, x + c)), backend.to_numpy(y), backend, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=finite),
       st.data())
def test_cross_entropy_is_non_negative(backend, x, data):
    labels = data.draw(hnp.arrays(np.int64, x.shape[0], elements=st.integers(0, x.shape[1] - 1)))
    loss = float(cross_entropy_error(softmax(arr(backend, x)), backend.asarray(labels)))
    assert loss >= -1e-7  # the book's delta: at worst -log(1 + 1e-7), just above -1e-7


def test_exact_softmax_cross_entropy_matches_the_books_to_its_delta(backend):
    from nnxp.functions import softmax_and_cross_entropy, softmax_cross_entropy

    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 5)) * 3
    labels = rng.integers(0, 5, size=7)
    xa, ta = arr(backend, x), backend.asarray(labels)
    book = float(cross_entropy_error(softmax(xa), ta))
    exact = float(softmax_cross_entropy(xa, ta))
    log_y = x - x.max(axis=1, keepdims=True)
    log_y -= np.log(np.exp(log_y).sum(axis=1, keepdims=True))
    assert exact == pytest.approx(-log_y[np.arange(7), labels].mean(), rel=1e-13)
    y_t = np.exp(log_y[np.arange(7), labels])
    assert 0 <= exact - book <= np.mean(1e-7 / y_t)  # the delta lowers the book's value, no more
    y, loss = softmax_and_cross_entropy(xa, arr(backend, np.eye(5)[labels]))
    assert_close(y, np.exp(log_y), backend, rtol=1e-12)
    assert float(loss) == pytest.approx(exact, rel=1e-13)
    assert float(softmax_cross_entropy(arr(backend, x[0]), backend.asarray(labels[0]))) == pytest.approx(
        -log_y[0, labels[0]], rel=1e-13)
