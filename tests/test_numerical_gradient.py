"""One numerical gradient by every path: each agrees with the generic loop (float64, h = 1e-4)
to 1e-9 and with backprop to 1e-7, on random small nets of both activations and several
depths (sigmoid, relu, tanh, identity). References are computed on NumPy nets built from the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnxp.backends import to_numpy
from nnxp.errors import NnxpError
from nnxp.layers import Sigmoid
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.models.two_layer import TwoLayerNet
from nnxp.netgrad import affine_chain, resolve_method, vectorized_chain_gradient
from tests.helpers import assert_close

CASES = [
    ("sigmoid", [5]),
    ("relu", [5]),
    ("sigmoid", [4, 3]),
    ("relu", [4, 3]),
    ("sigmoid", [3, 4, 3]),
    ("relu", [3, 4, 3]),
    ("identity", [4, 3]),
    ("tanh", [5]),
    ("tanh", [4, 3]),
    ("tanh", [3, 4, 3]),
]
IDS = [f"{a}-{'-'.join(map(str, h))}" for a, h in CASES]


def make_net(backend, activation="sigmoid", hidden=(5,), decay=0.0, dtype="float64"):
    """A small net with random biases too (zero biases put ReLU units of blank samples
    exactly on their kink, where no numerical gradient equals backprop)."""
    net = MultiLayerNet(6, list(hidden), 3, activation=activation, weight_init_std=0.5,
                        weight_decay_lambda=decay, backend=backend, dtype=dtype, seed=7)
    rng = np.random.default_rng(11)
    for key in net.params:
        if key.startswith("b"):
            bias = 0.3 * rng.standard_normal(tuple(net.params[key].shape))
            net.params[key] = net.backend.asarray(bias.astype(dtype))
    return net


def chain_of(net):
    """The net as the fast paths see it: the layers its loss runs through, and its params."""
    return affine_chain(net.loss_layers(), net.params, net.weight_decay_lambda)


def make_data(n=5, d=6, classes=3, seed=0):
    """A batch with MNIST's blank inputs (zeros) but no blank sample."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)) * (rng.random((n, d)) < 0.6)
    x[:, 0] += 0.5
    return x, rng.integers(0, classes, n)


def host(grads):
    return {k: to_numpy(v) for k, v in grads.items()}


@pytest.mark.parametrize(("activation", "hidden"), CASES, ids=IDS)
@pytest.mark.parametrize("method", ["auto", "vectorized"])
def test_paths_agree_with_generic_loop(backend, method, activation, hidden):
    x, t = make_data()
    expected = host(make_net("numpy", activation, hidden).numerical_gradient(x, t, "generic"))
    net = make_net(backend, activation, hidden)
    got = net.numerical_gradient(backend.asarray(x), backend.asarray(t), method)
    assert list(got) == list(net.params)
    for key in net.params:
        assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0, dtype=backend.xp.float64)


@pytest.mark.parametrize(("activation", "hidden"), CASES, ids=IDS)
def test_numerical_gradient_agrees_with_backprop(backend, activation, hidden):
    x, t = make_data()
    backprop = host(make_net("numpy", activation, hidden).gradient(x, t))
    got = make_net(backend, activation, hidden).numerical_gradient(backend.asarray(x),
                                                                   backend.asarray(t))
    for key in backprop:
        assert_close(got[key], backprop[key], backend, atol=1e-7, rtol=0)


def test_weight_decay_and_one_hot_labels(backend):
    x, t = make_data()
    t_hot = np.eye(3)[t]
    expected = host(make_net("numpy", "relu", [4, 3], decay=0.3).numerical_gradient(
        x, t_hot, "generic"))
    net = make_net(backend, "relu", [4, 3], decay=0.3)
    for labels in (t, t_hot):
        got = net.numerical_gradient(backend.asarray(x), backend.asarray(labels))
        for key in net.params:
            assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0)


def test_soft_labels(backend):
    x, _ = make_data()
    t = np.random.default_rng(5).dirichlet(np.ones(3), 5)
    expected = host(make_net("numpy", "sigmoid", [4, 3]).numerical_gradient(x, t, "generic"))
    got = make_net(backend, "sigmoid", [4, 3]).numerical_gradient(backend.asarray(x),
                                                                  backend.asarray(t))
    for key in expected:
        assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0)


def test_float32_net_is_differentiated_in_float64(backend):
    x, t = make_data()
    net32 = make_net(backend, "sigmoid", [4, 3], dtype="float32")
    ref = make_net("numpy", "sigmoid", [4, 3])
    for key in ref.params:
        ref.params[key] = np.asarray(net32.backend.to_numpy(net32.params[key]), np.float64)
    x32 = x.astype(np.float32).astype(np.float64)
    expected = host(ref.numerical_gradient(x32, t, "generic"))
    got = net32.numerical_gradient(backend.asarray(x), backend.asarray(t))
    for key in ref.params:
        assert_close(got[key], expected[key].astype(np.float32), backend, rtol=1e-6, atol=1e-12,
                     dtype=backend.xp.float32)


def test_batches_of_any_shape_are_flattened(backend):
    x, t = make_data(d=6)
    expected = host(make_net("numpy", "sigmoid", [5]).numerical_gradient(x, t, "generic"))
    got = make_net(backend, "sigmoid", [5]).numerical_gradient(
        backend.asarray(x.reshape(5, 2, 3)), backend.asarray(t))
    for key in expected:
        assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0)


def test_vectorized_chunks_give_one_result(backend):
    x, t = make_data()
    chain = chain_of(make_net(backend, "relu", [3, 4, 3]))
    xs, ts = backend.asarray(x), backend.asarray(t)
    whole = vectorized_chain_gradient(chain.weights, chain.biases, chain.activations, xs, ts)
    tiny = vectorized_chain_gradient(chain.weights, chain.biases, chain.activations, xs, ts,
                                     max_elements=7)
    for (dW, db), (tW, tb) in zip(whole, tiny, strict=True):
        assert_close(tW, backend.to_numpy(dW), backend, atol=1e-10, rtol=0)
        assert_close(tb, backend.to_numpy(db), backend, atol=1e-10, rtol=0)


class CustomSigmoid(Sigmoid):
    """A layer the fast paths do not know: a subclass may compute anything."""


def test_nets_the_fast_paths_do_not_cover_fall_back_to_generic(backend):
    x, t = make_data()
    net = make_net(backend, "sigmoid", [4])
    assert resolve_method(net) in ("jit", "vectorized")
    net.layers[1] = CustomSigmoid()
    assert chain_of(net) is None
    assert resolve_method(net) == "generic"
    for method in ("jit", "vectorized"):
        with pytest.raises(NnxpError, match="method='generic'"):
            net.numerical_gradient(backend.asarray(x), backend.asarray(t), method)
    expected = host(make_net("numpy", "sigmoid", [4]).numerical_gradient(x, t, "generic"))
    got = net.numerical_gradient(backend.asarray(x), backend.asarray(t))
    for key in expected:
        assert_close(got[key], expected[key], backend, atol=1e-10, rtol=0)


def test_unknown_method_is_refused(backend):
    with pytest.raises(NnxpError, match="unknown numerical-gradient method"):
        make_net(backend).numerical_gradient(*make_data(), method="fast")


def test_two_layer_net_mnist_shaped(backend):
    rng = np.random.default_rng(3)
    x = rng.random((4, 30)) * (rng.random((4, 30)) < 0.2)
    t = np.eye(10)[rng.integers(0, 10, 4)]
    ref = TwoLayerNet(30, 8, 10, dtype="float64", seed=1)
    expected = host(ref.numerical_gradient(x, t, "generic"))
    net = TwoLayerNet(30, 8, 10, backend=backend, dtype="float64", seed=1)
    got = net.numerical_gradient(backend.asarray(x), backend.asarray(t))
    for key in expected:
        assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0)


# The Numba path (NumPy only).

@pytest.fixture
def numpy_only(backend):
    if backend.name != "numpy":
        pytest.skip("the Numba kernels run on NumPy arrays only")


@pytest.mark.usefixtures("numpy_only")
@pytest.mark.parametrize(("activation", "hidden"), CASES, ids=IDS)
def test_general_kernel_agrees_with_generic_loop(activation, hidden):
    from nnxp.kernels.numba_netgrad import affine_chain_gradient

    x, t = make_data()
    net = make_net("numpy", activation, hidden)
    expected = net.numerical_gradient(x, t, "generic")
    chain = chain_of(net)
    pairs = affine_chain_gradient(chain.weights, chain.biases, chain.activations, x, t,
                                  fast=False)
    for (dW, db), wk, bk in zip(pairs, chain.weight_keys, chain.bias_keys, strict=True):
        np.testing.assert_allclose(dW, expected[wk], atol=1e-9, rtol=0)
        np.testing.assert_allclose(db, expected[bk], atol=1e-9, rtol=0)


@pytest.mark.usefixtures("numpy_only")
def test_large_weights_take_the_general_kernel_and_agree():
    x, t = make_data()
    net = make_net("numpy", "sigmoid", [4, 3])
    net.params["W3"] = net.params["W3"] * 400.0
    net.params["W2"] = net.params["W2"] * 40.0
    expected = net.numerical_gradient(x, t, "generic")
    got = net.numerical_gradient(x, t, "jit")
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], atol=1e-9, rtol=0)


@pytest.mark.usefixtures("numpy_only")
@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    d=st.integers(1, 6),
    classes=st.integers(2, 4),
    n=st.integers(1, 5),
    activation=st.sampled_from(["sigmoid", "relu", "tanh", "identity"]),
    seed=st.integers(0, 2**16),
    labels=st.sampled_from(["integer", "one-hot", "soft"]),
)
def test_kernel_and_its_array_api_twin_agree(sizes, d, classes, n, activation, seed, labels):
    from nnxp.kernels.numba_netgrad import affine_chain_gradient

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.7)
    t = rng.integers(0, classes, n)
    if labels == "one-hot":
        t = np.eye(classes)[t]
    elif labels == "soft":
        t = rng.dirichlet(np.ones(classes), n)
    net = MultiLayerNet(d, sizes, classes, activation=activation, weight_init_std=0.7,
                        dtype="float64", seed=seed)
    chain = chain_of(net)
    args = (chain.weights, chain.biases, chain.activations, x, t)
    for (kW, kb), (vW, vb) in zip(affine_chain_gradient(*args), vectorized_chain_gradient(*args),
                                  strict=True):
        np.testing.assert_allclose(kW, vW, atol=1e-9, rtol=0)
        np.testing.assert_allclose(kb, vb, atol=1e-9, rtol=0)


@pytest.mark.usefixtures("numpy_only")
def test_jitted_scalar_function_book_figures(monkeypatch):
    import numba

    import nnxp.gradient as gradient

    @numba.njit
    def function_2(x):
        return np.sum(x**2)

    def refuse(*args, **kwargs):
        raise AssertionError("the generic loop ran for a jitted function")

    monkeypatch.setattr(gradient, "central_difference", refuse)
    for point, figure in (([3.0, 4.0], [6.0, 8.0]), ([0.0, 2.0], [0.0, 4.0]),
                          ([3.0, 0.0], [6.0, 0.0])):
        x = np.array(point)
        grad = gradient.numerical_gradient(function_2, x)
        np.testing.assert_allclose(grad, figure, atol=1e-9)
        assert np.array_equal(x, point)
    monkeypatch.undo()
    x = np.arange(6.0).reshape(2, 3) / 7.0
    jitted = gradient.numerical_gradient(function_2, x)
    generic = gradient.numerical_gradient(lambda v: float(np.sum(v**2)), x)
    assert jitted.shape == (2, 3)
    np.testing.assert_allclose(jitted, generic, atol=1e-9, rtol=0)


@pytest.mark.usefixtures("numpy_only")
def test_jitted_function_with_other_arrays_takes_the_generic_loop():
    import numba

    import nnxp.gradient as gradient

    @numba.njit
    def f(x):
        return np.sum(x**3)

    x = np.arange(12.0).reshape(3, 4)[:, ::2] / 10.0
    np.testing.assert_allclose(gradient.numerical_gradient(f, x), 3 * x**2, atol=1e-7)
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert gradient.numerical_gradient(f, x32).dtype == np.float32


@pytest.mark.usefixtures("numpy_only")
def test_thread_count_and_threads_give_one_result(monkeypatch):
    import numba

    from nnxp.kernels.numba_netgrad import affine_chain_gradient, thread_count

    available = numba.config.NUMBA_NUM_THREADS
    monkeypatch.delenv("NNXP_JIT_THREADS", raising=False)
    assert thread_count() == 1
    assert thread_count(0) == available
    assert thread_count(10_000) == available
    monkeypatch.setenv("NNXP_JIT_THREADS", "0")
    assert thread_count() == available
    monkeypatch.setenv("NNXP_JIT_THREADS", "two")
    with pytest.raises(NnxpError, match="NNXP_JIT_THREADS"):
        thread_count()
    x, t = make_data(n=8)
    chain = chain_of(make_net("numpy", "relu", [4, 3]))
    args = (chain.weights, chain.biases, chain.activations, x, t)
    before = numba.get_num_threads()
    one = affine_chain_gradient(*args, threads=1)
    many = affine_chain_gradient(*args, threads=0)
    assert numba.get_num_threads() == before
    for (a, b), (c, d) in zip(one, many, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


class LoggingNet(MultiLayerNet):
    """A subclass that overrides loss (and _loss) only to log: the same function."""

    calls = 0

    def loss(self, x, t, train_flg=None):
        type(self).calls += 1
        return super().loss(x, t, train_flg)

    def _loss(self, x, t, train_flg=None):
        type(self).calls += 1
        return super()._loss(x, t, train_flg)


def test_a_net_that_overrides_loss_to_log_keeps_the_fast_path(backend):
    x, t = make_data()
    net = make_net(backend, "sigmoid", [4])
    logging = LoggingNet(6, [4], 3, activation="sigmoid", weight_init_std=0.5, backend=backend,
                         dtype="float64", seed=7)
    for key in net.params:
        logging.params[key] = net.params[key]
    assert resolve_method(logging) == resolve_method(net) != "generic"
    expected = host(net.numerical_gradient(backend.asarray(x), backend.asarray(t), "generic"))
    got = logging.numerical_gradient(backend.asarray(x), backend.asarray(t))
    for key in expected:
        assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0)


def test_a_two_layer_net_hands_over_its_book_layers(backend):
    x, t = make_data()
    net = TwoLayerNet(6, 4, 3, weight_init_std=0.5, backend=backend, dtype="float64", seed=1)
    assert resolve_method(net) != "generic"
    expected = host(net.numerical_gradient(backend.asarray(x), backend.asarray(t), "generic"))
    got = net.numerical_gradient(backend.asarray(x), backend.asarray(t))
    for key in expected:
        assert_close(got[key], expected[key], backend, atol=1e-9, rtol=0)
