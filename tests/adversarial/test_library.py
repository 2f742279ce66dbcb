"""Hostile use of the library: labels, layers out of order, foreign devices, constructor
arguments. Every misuse is one NnxpError line; nothing else escapes. Seeded and bounded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnxp.backends import get_backend
from nnxp.conv import Convolution, Pooling
from nnxp.errors import BackendUnavailable, NnxpError
from nnxp.gradcheck import gradient_check, randomize_biases
from nnxp.layers import (
    Affine,
    BatchNormalization,
    Dropout,
    MulLayer,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
)
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNet, MultiLayerNetExtend
from nnxp.models.two_layer import TwoLayerNet
from nnxp.optim import OPTIMIZERS
from nnxp.train import Trainer

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _net(backend, **kw):
    return TwoLayerNet(6, 4, 3, backend=backend, dtype="float64", seed=0, **kw)


def _x(n=2, features=6):
    return np.random.default_rng(0).random((n, features))


def one_line(exc: BaseException) -> None:
    assert isinstance(exc, NnxpError) and "\n" not in str(exc) and str(exc)


# -- labels ---------------------------------------------------------------------------------

def test_the_books_ch07_label_shape_is_one_label(backend):
    """The book's ch07 check passes T = np.array([1]).reshape((1, 1)): one label, ln 10."""
    net = SimpleConvNet((1, 10, 10), {"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1},
                        hidden_size=5, output_size=10, backend=backend, dtype="float64", seed=0)
    X = np.random.default_rng(0).random((1, 1, 10, 10))
    T = np.array([1]).reshape((1, 1))
    assert float(net.loss(X, T)) == pytest.approx(math.log(10), abs=1e-2)
    grads = net.gradient(X, T)
    assert set(grads) == set(net.params)


@pytest.mark.parametrize("t, needle", [
    (np.array([-1, 0]), "in [0, 3)"),
    (np.array([3, 0]), "in [0, 3)"),
    (np.array([0.5, 1.0]), "must be integers"),
    (np.array([[0, 1, 2]]), "do not fit"),
    (np.array([0, 1, 2]), "do not fit"),
    (np.array([True, False]), "must be integers"),
])
def test_hostile_labels_are_refused_by_every_public_method(backend, t, needle):
    net = _net(backend)
    for method in (net.loss, net.gradient, net.accuracy, net.numerical_gradient):
        with pytest.raises(NnxpError, match=needle.replace("[", r"\[").replace(")", r"\)")) as e:
            method(_x(), t)
        one_line(e.value)


def test_labels_n_by_1_are_class_labels(backend):
    net = _net(backend)
    t = np.array([[2], [0]])
    assert float(net.loss(_x(), t)) == pytest.approx(float(net.loss(_x(), t[:, 0])))
    assert net.accuracy(_x(), t) == net.accuracy(_x(), t[:, 0])


_DTYPES = st.sampled_from(["int8", "int64", "uint8", "float32", "float64", "bool", "complex64"])


@SETTINGS
@given(dtype=_DTYPES, shape=st.sampled_from([(2,), (2, 1), (2, 3), (1,), (3,), (2, 2), (),
                                             (2, 3, 1)]),
       values=st.lists(st.integers(-3, 5) | st.floats(allow_nan=True), min_size=1, max_size=8))
def test_any_labels_give_a_loss_or_one_nnxp_error(backend, dtype, shape, values):
    size = math.prod(shape)
    host = np.resize(np.array(values, dtype=object), size).reshape(shape)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            t = host.astype(dtype)
    except (TypeError, ValueError, OverflowError):
        return
    net = _net(backend)
    try:
        loss = float(net.loss(_x(), t))
    except NnxpError as exc:
        one_line(exc)
        return
    integer = np.issubdtype(t.dtype, np.integer)
    assert t.shape == (2, 3) or (integer and t.size == 2 and t.min() >= 0 and t.max() < 3)
    assert math.isfinite(loss) or not np.isfinite(t.astype(np.complex128)).all()


def test_the_trainer_checks_labels_once_and_steps_without_checks(backend, monkeypatch):
    net = _net(backend)
    x, t = _x(20), np.arange(20) % 3
    for bad in (np.where(t == 2, 3, t), t.astype(np.float64), t[:19]):
        with pytest.raises(NnxpError):
            Trainer(net, x, bad, x, t, epochs=1, mini_batch_size=5, verbose=False)
    trainer = Trainer(net, x, t, x, t, epochs=1, mini_batch_size=5, verbose=False)
    import nnxp.models.base

    calls = []
    monkeypatch.setattr(nnxp.models.base, "check_label_range", lambda *a: calls.append(a))
    trainer.train()
    assert len(calls) == 4  # two accuracies of epoch 0 (untrained) and of epoch 1, none per step


# -- layers used out of order ----------------------------------------------------------------

LAYERS = [
    lambda xp, be: MulLayer(),
    lambda xp, be: Relu(),
    lambda xp, be: Sigmoid(),
    lambda xp, be: Tanh(),
    lambda xp, be: Affine(be.zeros((2, 2)), be.zeros((2,))),
    lambda xp, be: SoftmaxWithLoss(),
    lambda xp, be: Dropout(0.5, seed=0),
    lambda xp, be: BatchNormalization(be.zeros((2,)), be.zeros((2,))),
    lambda xp, be: Convolution(be.zeros((1, 1, 2, 2)), be.zeros((1,))),
    lambda xp, be: Pooling(2, 2),
]


@pytest.mark.parametrize("make", LAYERS)
def test_backward_before_forward_is_refused(backend, make):
    be = backend.with_dtype("float64")
    layer = make(be.xp, be)
    with pytest.raises(NnxpError, match="backward called before forward") as e:
        layer.backward(be.zeros((2, 2)))
    one_line(e.value)


def test_affine_backward_params_before_forward_is_refused(backend):
    layer = Affine(backend.zeros((2, 2)), backend.zeros((2,)))
    with pytest.raises(NnxpError, match="before forward"):
        layer.backward_params(backend.zeros((2, 2)))


# -- devices ---------------------------------------------------------------------------------

def test_adopt_moves_arrays_from_other_strict_devices():
    xps = pytest.importorskip("array_api_strict")
    be = get_backend("array_api_strict", device="CPU_DEVICE", dtype="float64")
    net = TwoLayerNet(6, 4, 3, backend=be, dtype="float64", seed=0)
    for name in ("device1", "device2"):
        x = xps.asarray(_x(), device=xps.Device(name))
        t = xps.asarray(np.array([0, 2]), device=xps.Device(name))
        assert be.adopt(x).device == be.device
        assert math.isfinite(float(net.loss(x, t)))
        assert net.accuracy(x, t) >= 0


@pytest.mark.parametrize("device", ["no_float64", "no_x64"])
def test_strict_devices_without_float64_are_refused_in_one_line(device):
    pytest.importorskip("array_api_strict")
    for dtype in ("float32", "float64"):
        with pytest.raises(BackendUnavailable, match=device) as e:
            get_backend("array_api_strict", device=device, dtype=dtype)
        one_line(e.value)


def test_every_listed_device_works_or_is_refused():
    from nnxp.backends import available_backends, devices

    for name in available_backends():
        for dev in devices(name):
            dev = dev.split()[0]
            try:
                be = get_backend(name, device=dev, dtype="float64")
            except BackendUnavailable as exc:
                one_line(exc)
                continue
            net = TwoLayerNet(6, 4, 3, backend=be, dtype="float64", seed=0)
            assert math.isfinite(float(net.loss(_x(), np.array([0, 1]))))


def test_torch_meta_is_refused_as_device_and_as_data():
    torch = pytest.importorskip("torch")
    with pytest.raises(BackendUnavailable, match="meta"):
        get_backend("torch", device="meta")
    be = get_backend("torch", dtype="float64")
    net = TwoLayerNet(6, 4, 3, backend=be, dtype="float64", seed=0)
    with pytest.raises(NnxpError, match="meta"):
        net.loss(torch.zeros((2, 6), device="meta"), np.array([0, 1]))


def test_a_torch_array_meets_a_strict_net():
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_strict")
    be = get_backend("array_api_strict", device="device1", dtype="float64")
    net = TwoLayerNet(6, 4, 3, backend=be, dtype="float64", seed=0)
    loss = net.loss(torch.asarray(_x()), torch.asarray([0, 1]))
    assert math.isfinite(float(loss))


# -- constructor arguments -------------------------------------------------------------------

HOSTILE = (st.integers(-3, 12) | st.sampled_from([0, 10**12, 2**63, -(2**70)]) | st.booleans()
           | st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5)
           | st.lists(st.integers(-2, 6), max_size=3) | st.sampled_from([1.5, "he", "relu"]))

NET_ARGS = {
    TwoLayerNet: ({"input_size": 6, "hidden_size": 4, "output_size": 3},
                  ["input_size", "hidden_size", "output_size", "weight_init_std", "activation",
                   "seed", "dtype"]),
    MultiLayerNet: ({"input_size": 6, "hidden_size_list": [4], "output_size": 3},
                    ["input_size", "hidden_size_list", "output_size", "activation",
                     "weight_init_std", "weight_decay_lambda", "seed"]),
    MultiLayerNetExtend: ({"input_size": 6, "hidden_size_list": [4], "output_size": 3},
                          ["hidden_size_list", "weight_decay_lambda", "use_dropout",
                           "dropout_ratio", "dropout_ration", "use_batchnorm", "activation"]),
    SimpleConvNet: ({"input_dim": (1, 6, 6), "hidden_size": 4, "output_size": 3,
                     "conv_param": {"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1}},
                    ["input_dim", "conv_param", "hidden_size", "output_size",
                     "weight_init_std"]),
    DeepConvNet: ({"input_dim": (1, 8, 8), "hidden_size": 4, "output_size": 3,
                   **{f"conv_param_{i}": {"filter_num": 2} for i in range(1, 7)}},
                  ["input_dim", "conv_param_1", "conv_param_4", "hidden_size",
                   "dropout_ratio", "dropout_ration"]),
}
CASES = [(cls, arg) for cls, (_, args) in NET_ARGS.items() for arg in args]


@pytest.mark.host
@pytest.mark.parametrize("cls, arg", CASES, ids=[f"{c.__name__}-{a}" for c, a in CASES])
def test_hostile_constructor_arguments(monkeypatch, cls, arg):
    monkeypatch.setenv("NNXP_MAX_MEMORY", str(2 * 10**8))  # refuse big nets, draw only small
    base = NET_ARGS[cls][0]

    @SETTINGS
    @given(value=HOSTILE | (st.dictionaries(st.sampled_from(["filter_num", "pad", "stride",
                                                            "filter_size", "bad"]), HOSTILE,
                                            max_size=2) if "conv_param" in arg else HOSTILE))
    def case(value):
        try:
            net = cls(**{**base, arg: value})
        except NnxpError as exc:
            one_line(exc)
            return
        x = np.random.default_rng(0).random((2, net.input_features))
        with np.errstate(all="ignore"):  # a huge weight_init_std is the caller's to choose
            float(net.loss(x, np.array([0, 1]) % net.classes))

    case()


@pytest.mark.host
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_hostile_optimizer_arguments(name):
    cls = OPTIMIZERS[name]

    @SETTINGS
    @given(lr=HOSTILE)
    def case(lr):
        try:
            opt = cls(lr=lr)
        except NnxpError as exc:
            one_line(exc)
            return
        assert opt.lr > 0

    case()


@pytest.mark.host
@pytest.mark.parametrize("kw", [{"hidden_size": 0}, {"hidden_size": -5}, {"hidden_size": True},
                                {"hidden_size": 10**12}, {"input_size": 100_000_000}])
def test_sizes_are_refused_before_allocating(monkeypatch, kw):
    monkeypatch.setenv("NNXP_MAX_MEMORY", str(2 * 10**9))
    args = {"input_size": 6, "hidden_size": 4, "output_size": 3, **kw}
    with pytest.raises(NnxpError) as e:
        TwoLayerNet(**args)
    one_line(e.value)


@pytest.mark.host
@pytest.mark.parametrize("kw", [{"weight_decay_lambda": -0.1}, {"weight_decay_lambda": math.inf},
                                {"hidden_size_list": [10, 0]}, {"dropout_ratio": math.nan}])
def test_multilayer_refuses_what_the_cli_refuses(kw):
    with pytest.raises(NnxpError):
        MultiLayerNetExtend(**{"input_size": 6, "hidden_size_list": [4], "output_size": 3, **kw})


# -- gradient checks of modal nets -----------------------------------------------------------

def _breaks(net, key):
    """Make backprop's gradient of ``key`` wrong by a tenth."""
    plain = net._gradient

    def broken(x, t):
        grads = plain(x, t)
        return {**grads, key: grads[key] * 1.1}

    net._gradient = broken


def test_gradient_check_passes_batchnorm_and_dropout_and_catches_a_broken_gradient(backend):
    rng = np.random.default_rng(1)
    x, t = rng.random((3, 8)), rng.integers(0, 4, 3)
    net = MultiLayerNetExtend(8, [5, 5], 4, use_batchnorm=True, use_dropout=True,
                              dropout_ratio=0.3, backend=backend, dtype="float64", seed=0)
    before = {k: backend.to_numpy(v).copy() for k, v in net.buffers.items()}
    result = gradient_check(net, x, t)
    assert result.passed, result.table()
    for key, value in net.buffers.items():
        np.testing.assert_array_equal(backend.to_numpy(value), before[key])
    _breaks(net, "gamma1")
    assert gradient_check(net, x, t).failed() == ["gamma1"]


def test_gradient_check_passes_a_small_deep_conv_net(backend):
    rng = np.random.default_rng(2)
    x, t = rng.random((2, 1, 8, 8)), np.array([1, 3])
    net = DeepConvNet((1, 8, 8), **{f"conv_param_{i}": {"filter_num": 2} for i in range(1, 7)},
                      hidden_size=6, output_size=5, backend=backend, dtype="float64", seed=0)
    randomize_biases(net, 0)  # zero biases put units of all-zero patches on ReLU's kink
    result = gradient_check(net, x, t)
    assert result.passed, result.table()
    _breaks(net, "W7")
    assert gradient_check(net, x, t).failed() == ["W7"]


def test_numerical_training_with_dropout_holds_the_masks(backend):
    rng = np.random.default_rng(3)
    x, t = rng.random((12, 6)), rng.integers(0, 3, 12)
    net = MultiLayerNetExtend(6, [4], 3, use_dropout=True, backend=backend, dtype="float64",
                              seed=0)
    trainer = Trainer(net, x, t, x, t, iters=3, mini_batch_size=4, gradient="numerical",
                      optimizer_param={"lr": 0.1}, seed=0, verbose=False)
    trainer.train()
    assert max(trainer.train_loss_list) < 10


def test_the_divergence_message_names_the_optimizers_own_lr(backend):
    from nnxp.optim import Adam

    x, t = _x(10), np.arange(10) % 3
    trainer = Trainer(_net(backend), x, t, x, t, epochs=1, mini_batch_size=5,
                      optimizer=Adam(0.25), verbose=False)
    assert "(now 0.25)" in trainer._advice()
    assert trainer.settings()["optimizer_param"] == {"lr": 0.25}
