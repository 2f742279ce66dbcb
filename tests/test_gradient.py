"""Numerical differentiation and gradient descent, to the digits the seed prints."""

import numpy as np
import pytest

from nnxp.gradient import gradient_descent, numerical_diff, numerical_gradient
from tests.helpers import assert_close


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


@pytest.mark.host
def test_numerical_diff_seed_figures():
    assert numerical_diff(lambda x0: x0 * x0 + 4.0**2.0, 3.0) == pytest.approx(
        6.00000000000378, abs=1e-9)
    assert numerical_diff(lambda x1: 3.0**2.0 + x1 * x1, 4.0) == pytest.approx(
        7.999999999999119, abs=1e-9)


def test_numerical_gradient_seed_figure(backend):
    x = backend.asarray(np.array([3.0, 4.0]), dtype="float64")
    grad = numerical_gradient(function_2, x)
    assert_close(grad, [6.0, 8.0], backend, atol=1e-7, dtype=backend.xp.float64)
    assert_close(x, [3.0, 4.0], backend, rtol=0)


def test_gradient_descent_seed_figure(backend):
    init = backend.asarray(np.array([-3.0, 4.0]), dtype="float64")
    x = gradient_descent(function_2, init, lr=0.1, step_num=100)
    assert_close(x, [-6.11110793e-10, 8.14814391e-10], backend, rtol=1e-8)
    assert_close(init, [-3.0, 4.0], backend, rtol=0)


def test_numerical_gradient_any_shape(backend):
    rng = np.random.default_rng(0)
    host = rng.standard_normal((2, 3, 4))
    weights = rng.standard_normal((2, 3, 4))
    xp = backend.xp
    w = backend.asarray(weights)
    x = backend.asarray(host)
    grad = numerical_gradient(lambda a: xp.sum(w * a**3), x)
    assert_close(grad, 3 * weights * host**2, backend, atol=1e-6)
    assert_close(x, host, backend, rtol=0)


def test_book_idiom_through_a_closure(backend):
    """numerical_gradient(lambda W: loss(), W): f ignores its argument and reads W itself."""
    xp = backend.xp
    host = np.array([[1.0, -2.0], [0.5, 3.0]])
    W = backend.asarray(host)
    grad = numerical_gradient(lambda _: xp.sum(W**2), W)
    assert_close(grad, 2 * host, backend, atol=1e-7)
