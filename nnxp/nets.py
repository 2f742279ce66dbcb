"""The book's networks: the seed's three-layer example, TwoLayerNet and MultiLayerNet.

A net is an ordered list of layers plus a last layer (SoftmaxWithLoss). Its ``params`` is a
live mapping onto the layers' own arrays under the book's names (W1, b1, W2, ...): reading
gives the layer's array, assigning replaces it, so optimizers work on every backend.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from nnxp import netgrad
from nnxp.backend import Backend, get_backend
from nnxp.errors import NnxpError
from nnxp.functions import check_label_range, check_labels, identity_function, sigmoid
from nnxp.layers import (
    Affine,
    BatchNormalization,
    Dropout,
    Identity,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
)
from nnxp.limits import check_memory

ACTIVATIONS: dict[str, type] = {"relu": Relu, "sigmoid": Sigmoid, "identity": Identity}


def init_network(backend: str | Backend = "numpy") -> dict[str, Any]:
    """The seed's hand-set three-layer network (2-3-2-2), float64."""
    be = get_backend(backend, dtype="float64")
    return {
        "W1": be.asarray([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], dtype="float64"),
        "b1": be.asarray([0.1, 0.2, 0.3], dtype="float64"),
        "W2": be.asarray([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], dtype="float64"),
        "b2": be.asarray([0.1, 0.2], dtype="float64"),
        "W3": be.asarray([[0.1, 0.3], [0.2, 0.4]], dtype="float64"),
        "b3": be.asarray([0.1, 0.2], dtype="float64"),
    }


def forward(network: dict[str, Any], x: Any) -> Any:
    """The seed's forward pass: two sigmoid layers, then the identity output."""
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    z1 = sigmoid(x @ W1 + b1)
    z2 = sigmoid(z1 @ W2 + b2)
    return identity_function(z2 @ W3 + b3)


def _show(value: Any) -> str:
    """A value for an error message: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def positive_int(name: str, value: Any) -> int:
    """value as an int if it is an integer >= 1 (bools refused), else a one-line NnxpError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise NnxpError(f"{name} must be a positive integer, got {_show(value)}")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """value as an int if it is an integer >= 0 (bools refused), else a one-line NnxpError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise NnxpError(f"{name} must be an integer >= 0, got {_show(value)}")
    return int(value)


def positive_ints(name: str, values: Any) -> list[int]:
    """A list or tuple of positive integers (hidden sizes), as a list of ints."""
    if not isinstance(values, list | tuple):
        raise NnxpError(f"{name} must be a list of positive integers, got {_show(values)}")
    return [positive_int(f"each of {name}", v) for v in values]


def real_number(name: str, value: Any, low: float = -math.inf, high: float = math.inf,
                rule: str = "a finite number") -> float:
    """value as a float if it is a finite real in [low, high), else a one-line NnxpError."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and low <= value < high)
    if not ok:
        raise NnxpError(f"{name} must be {rule}, got {_show(value)}")
    return float(value)


def flag(name: str, value: Any) -> bool:
    """value if it is True or False, else a one-line NnxpError (no truthiness guessing)."""
    if not isinstance(value, bool):
        raise NnxpError(f"{name} must be True or False, got {_show(value)}")
    return value


def check_activation(activation: Any) -> str:
    """activation if it names one of ACTIVATIONS, else a one-line NnxpError."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise NnxpError(
            f"unknown activation {_show(activation)}: use one of {', '.join(ACTIVATIONS)}"
        )
    return activation


def check_init_std(weight_init_std: Any) -> float | str:
    """weight_init_std if it is a finite number > 0 or a name init_std knows."""
    if isinstance(weight_init_std, str):
        if weight_init_std.lower() not in ("he", "relu", "xavier", "sigmoid"):
            raise NnxpError(f"unknown weight_init_std {_show(weight_init_std)}: use a number, "
                            "'he' or 'xavier'")
        return weight_init_std
    std = real_number("weight_init_std", weight_init_std,
                      rule="a finite number > 0 or 'he'/'xavier'")
    if std <= 0:
        raise NnxpError(f"weight_init_std must be a finite number > 0 or 'he'/'xavier', "
                        f"got {_show(weight_init_std)}")
    return std


def check_param_memory(shapes: Sequence[tuple[int, ...]], dtype: str) -> None:
    """Refuse (NnxpError) parameters of ``shapes`` that would not fit in memory, before any
    is drawn: each is drawn on the host in float64, then cast and moved."""
    counts = [math.prod(shape) for shape in shapes]
    itemsize = 8 if dtype == "float64" else 4
    nbytes = sum(counts) * itemsize + max(counts, default=0) * (8 + itemsize)
    check_memory(nbytes, "the net's parameters", "use smaller layer sizes")


def init_std(weight_init_std: float | str, fan_in: int) -> float:
    """The standard deviation of initial weights: a number, or "he"/"relu" (sqrt(2/n)) or
    "xavier"/"sigmoid" (sqrt(1/n)) for a layer with n inputs, as the book's MultiLayerNet."""
    weight_init_std = check_init_std(weight_init_std)
    if isinstance(weight_init_std, str):
        name = weight_init_std.lower()
        return math.sqrt((2.0 if name in ("he", "relu") else 1.0) / fan_in)
    return float(weight_init_std)


def _plain(value: Any) -> Any:
    """A config value as JSON has it: tuples as lists, and copies of lists and dicts."""
    if isinstance(value, list | tuple):
        return list(value)
    return dict(value) if isinstance(value, dict) else value


class ParamMap(MutableMapping):
    """A live view of the parameters: name -> the owning layer's attribute."""

    def __init__(self, slots: dict[str, tuple[Any, str]]) -> None:
        self._slots = slots

    def __getitem__(self, key: str) -> Any:
        layer, attr = self._slots[key]
        return getattr(layer, attr)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._slots:
            raise KeyError(f"{key!r} is not a parameter of this net; it has {list(self._slots)}")
        layer, attr = self._slots[key]
        setattr(layer, attr, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("a net's parameters cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def slots(self) -> dict[str, tuple[Any, str]]:
        """For each parameter name, the layer that owns it and the attribute it lives in."""
        return dict(self._slots)

    def grads_of(self) -> dict[str, Any]:
        """The gradients backward stored beside each parameter (dW for W, db for b)."""
        return {key: getattr(layer, "d" + attr) for key, (layer, attr) in self._slots.items()}


class Network:
    """Layers, a loss layer and live params; the methods the book's nets share."""

    model: str = ""
    train_flg: bool = False
    """The mode predict uses when not told; True only while a net differentiates numerically."""

    def __init__(self, backend: str | Backend, dtype: str) -> None:
        self.backend = get_backend(backend, dtype=dtype)
        self.dtype = dtype
        self.layers: list[Any] = []
        self.last_layer = SoftmaxWithLoss()
        self.params = ParamMap({})
        self.weight_decay_lambda = 0.0

    config_keys: tuple[str, ...] = ()
    """The constructor's arguments, kept as attributes of the same names, that config lists."""

    @property
    def config(self) -> dict[str, Any]:
        """The plain dict that :func:`build` rebuilds this architecture from."""
        return {"model": self.model, **{key: _plain(getattr(self, key)) for key in self.config_keys}}

    def _affine_stack(
        self, sizes: list[int], activation: str, weight_init_std: float | str, seed: int | None
    ) -> None:
        """Affine layers between consecutive sizes, the activation between them."""
        check_activation(activation)
        check_init_std(weight_init_std)
        check_param_memory(_affine_shapes(sizes), self.dtype)
        be = self.backend
        rng = be.rng(seed)
        slots: dict[str, tuple[Any, str]] = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
            std = init_std(weight_init_std, fan_in)
            W = be.asarray((std * rng.standard_normal((fan_in, fan_out))).astype(self.dtype))
            affine = Affine(W, be.zeros((fan_out,)))
            self.layers.append(affine)
            slots[f"W{i}"] = (affine, "W")
            slots[f"b{i}"] = (affine, "b")
            if i < len(sizes) - 1:
                self.layers.append(ACTIVATIONS[activation]())
        self.params = ParamMap(slots)

    @property
    def classes(self) -> int:
        """Scores per sample: the width of the last weighted layer (the output size)."""
        for layer in reversed(self.layers):
            W = getattr(layer, "W", None)
            if W is not None:
                return int(W.shape[-1])
        raise NnxpError("this net has no weighted layer, so no classes; build it with layers")

    @property
    def input_features(self) -> int:
        """Numbers per sample the first layer takes (the input size)."""
        return int(self.layers[0].W.shape[0])

    def check_inputs(self, x: Any) -> Any:
        """x as this net takes it: a batch (N, features...) of real numbers on its backend, in
        its dtype (integer images are cast). A one-line NnxpError for anything else."""
        x = self.backend.adopt(x, self.dtype)
        xp = self.backend.xp
        shape = tuple(int(d) for d in x.shape)
        if len(shape) < 2 or math.prod(shape[1:]) != self.input_features:
            raise NnxpError(f"inputs of shape {shape} do not fit this net, which takes batches "
                            f"of {self.input_features} numbers per sample: pass shape "
                            f"(N, {self.input_features})")
        if not xp.isdtype(x.dtype, ("real floating", "integral", "bool")):
            raise NnxpError(f"inputs must be real numbers, got dtype {x.dtype}")
        if not xp.isdtype(x.dtype, "real floating"):
            x = xp.astype(x, self.backend.float_dtype(self.dtype))
        return x

    def check_batch(self, x: Any, t: Any) -> tuple[Any, Any]:
        """(x, t) checked as every public method takes them: inputs by :meth:`check_inputs`,
        labels one-hot or integer classes in range (checked before they are moved; reading
        their range is one device sync), both on this net's backend."""
        x = self.check_inputs(x)
        if not hasattr(t, "shape"):
            t = self.backend.adopt(t)
        t = check_labels(t, (int(x.shape[0]), self.classes))
        check_label_range(t, self.classes)
        return x, self.backend.adopt(t, self.dtype)

    def predict(self, x: Any, train_flg: bool | None = None) -> Any:
        """The output layer's scores (before softmax), as the book's layered nets return.

        ``train_flg`` goes to the layers that act differently in training (Dropout,
        BatchNormalization); None means the net's mode ``self.train_flg`` (inference).
        """
        x = self.backend.adopt(x, self.dtype)
        train_flg = self.train_flg if train_flg is None else train_flg
        for layer in self.layers:
            if getattr(layer, "train_flg_aware", False):
                x = layer.forward(x, train_flg)
            else:
                x = layer.forward(x)
        return x

    def loss(self, x: Any, t: Any, train_flg: bool | None = None) -> Any:
        """Cross-entropy of the softmax of predict(x) against t, plus any weight decay.

        t is one-hot rows (x's batch by the classes) or integer class labels, (N,) or (N, 1).
        """
        return self._loss(*self.check_batch(x, t), train_flg)

    def _loss(self, x: Any, t: Any, train_flg: bool | None = None) -> Any:
        """loss() for a batch check_batch has passed (no label checks, no device sync)."""
        y = self.predict(x, train_flg)
        loss = self.last_layer.forward(y, t)
        if self.weight_decay_lambda:
            xp = self.backend.xp
            for key in self.params:
                if key.startswith("W"):
                    loss = loss + 0.5 * self.weight_decay_lambda * xp.sum(self.params[key] ** 2)
        return loss

    accuracy_batch_size: int | None = None
    """Samples predicted at a time by accuracy (None: all at once)."""

    def accuracy(self, x: Any, t: Any, batch_size: int | None = None) -> float:
        """Fraction of samples whose highest score is the label (t one-hot or integer).

        Predicts ``batch_size`` samples at a time (default: accuracy_batch_size) to bound
        memory; the hits are summed on the device and read once.
        """
        if batch_size is not None:
            batch_size = positive_int("batch_size", batch_size)
        xp = self.backend.xp
        x, t = self.check_batch(x, t)
        if t.ndim != 1:
            t = xp.argmax(t, axis=1)
        n = int(x.shape[0])
        if n == 0:
            return float("nan")
        chunk = batch_size or self.accuracy_batch_size or n
        hits = None
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            y = xp.argmax(self.predict(x[start:stop, ...]), axis=1)
            h = xp.sum(xp.astype(y == xp.astype(t[start:stop], y.dtype), xp.int64))
            hits = h if hits is None else hits + h
        return float(hits) / n

    def gradient(self, x: Any, t: Any) -> dict[str, Any]:
        """Gradients of loss(x, t) for every parameter, by backpropagation (training mode)."""
        return self._gradient(*self.check_batch(x, t))

    def _gradient(self, x: Any, t: Any) -> dict[str, Any]:
        """gradient() for a batch check_batch has passed (no label checks, no device sync)."""
        self._loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        first = self.layers[0]  # its input is the data, which needs no gradient
        if hasattr(first, "backward_params"):
            first.backward_params(dout)
        else:
            first.backward(dout)
        grads = self.params.grads_of()
        if self.weight_decay_lambda:
            for key in grads:
                if key.startswith("W"):
                    grads[key] = grads[key] + self.weight_decay_lambda * self.params[key]
        return grads

    def numerical_gradient(self, x: Any, t: Any, method: str = "auto") -> dict[str, Any]:
        """Gradients of loss(x, t) by the book's central differences (h = 1e-4).

        ``method="auto"`` takes the fastest path that covers this net: Numba kernels for
        NumPy nets of Affine and activation layers, batched array code for those nets on
        other backends, else the generic loop ("generic", "jit", "vectorized" force one).
        The fast paths compute in float64 and return the net's dtype; see nnxp.netgrad.
        """
        return self._numerical_gradient(*self.check_batch(x, t), method)

    def _numerical_gradient(self, x: Any, t: Any, method: str = "auto") -> dict[str, Any]:
        """numerical_gradient() for a batch check_batch has passed."""
        return netgrad.numerical_gradient(self, x, t, method)


def _affine_shapes(sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """The shapes of the weights and biases of Affine layers between consecutive sizes."""
    shapes: list[tuple[int, ...]] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def _decay(weight_decay_lambda: Any) -> float:
    """weight_decay_lambda as a float if finite and >= 0, else a one-line NnxpError."""
    return real_number("weight_decay_lambda", weight_decay_lambda, 0.0,
                       rule="a finite number >= 0 (0: no decay)")


def dropout_fraction(dropout_ratio: Any) -> float:
    """dropout_ratio as a float if in [0, 1), else a one-line NnxpError."""
    return real_number("dropout_ratio", dropout_ratio, 0.0, 1.0, rule="a number in [0, 1)")


class TwoLayerNet(Network):
    """input -> Affine -> activation -> Affine -> softmax, the book's chapters 4 and 5."""

    model = "two-layer"
    config_keys = ("input_size", "hidden_size", "output_size", "weight_init_std", "activation")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float | str = 0.01,
        activation: str = "sigmoid",
        *,
        backend: str | Backend = "numpy",
        dtype: str = "float32",
        seed: int | None = None,
    ) -> None:
        super().__init__(backend, dtype)
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.output_size = positive_int("output_size", output_size)
        self.weight_init_std, self.activation = weight_init_std, activation
        input_size, hidden_size, output_size = self.input_size, self.hidden_size, self.output_size
        self._affine_stack([input_size, hidden_size, output_size], activation, weight_init_std, seed)



class MultiLayerNet(Network):
    """A fully connected net of any depth, the book's chapter-6 MultiLayerNet."""

    model = "multi-layer"
    config_keys = ("input_size", "hidden_size_list", "output_size", "activation", "weight_init_std",
                   "weight_decay_lambda")

    def __init__(
        self,
        input_size: int,
        hidden_size_list: list[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: float | str = "relu",
        weight_decay_lambda: float = 0.0,
        *,
        backend: str | Backend = "numpy",
        dtype: str = "float32",
        seed: int | None = None,
    ) -> None:
        super().__init__(backend, dtype)
        self.input_size = positive_int("input_size", input_size)
        self.output_size = positive_int("output_size", output_size)
        self.hidden_size_list = positive_ints("hidden_size_list", hidden_size_list)
        self.activation, self.weight_init_std = activation, weight_init_std
        self.weight_decay_lambda = _decay(weight_decay_lambda)
        sizes = [self.input_size, *self.hidden_size_list, self.output_size]
        self._affine_stack(sizes, activation, weight_init_std, seed)



class ModalNetwork(Network):
    """A net with layers that act differently in training (Dropout, BatchNormalization).

    Its numerical gradient differentiates the function gradient() differentiates, as the
    book's MultiLayerNetExtend does: the training-mode loss, each Dropout layer holding the
    mask its last forward drew (gradient()'s, or a training step's), running statistics
    (``buffers``) restored afterwards. ``keep_dropout_masks()`` holds the masks beyond that.
    """

    def __init__(self, backend: str | Backend, dtype: str) -> None:
        super().__init__(backend, dtype)
        self.buffers = ParamMap({})

    def keep_dropout_masks(self, keep: bool = True) -> None:
        """Make every Dropout layer reuse its last mask (or draw anew, with keep=False)."""
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.keep_mask = keep

    def _numerical_gradient(self, x: Any, t: Any, method: str = "auto") -> dict[str, Any]:
        dropouts = [layer for layer in self.layers if isinstance(layer, Dropout)]
        kept = [layer.keep_mask for layer in dropouts]
        saved = dict(self.buffers.items())
        self.train_flg = True
        self.keep_dropout_masks()
        try:
            return super()._numerical_gradient(x, t, method)
        finally:
            self.train_flg = False
            for layer, keep in zip(dropouts, kept, strict=True):
                layer.keep_mask = keep
            for key, value in saved.items():
                self.buffers[key] = value


class MultiLayerNetExtend(ModalNetwork):
    """MultiLayerNet with optional Dropout and BatchNormalization, the book's chapter 6.

    Each hidden layer is Affine, then BatchNormalization (gamma{i}, beta{i}) if
    use_batchnorm, then the activation, then Dropout if use_dropout. With neither, a seed
    gives the same weights as MultiLayerNet. ``buffers`` holds the running statistics
    (running_mean{i}, running_var{i}) that inference uses and a saved model must keep.
    """

    model = "multi-layer-extend"
    config_keys = (*MultiLayerNet.config_keys, "use_dropout", "dropout_ratio", "use_batchnorm")

    def __init__(
        self,
        input_size: int,
        hidden_size_list: list[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: float | str = "relu",
        weight_decay_lambda: float = 0.0,
        use_dropout: bool = False,
        dropout_ratio: float = 0.5,
        use_batchnorm: bool = False,
        *,
        backend: str | Backend = "numpy",
        dtype: str = "float32",
        seed: int | None = None,
    ) -> None:
        super().__init__(backend, dtype)
        self.activation = check_activation(activation)
        self.input_size = positive_int("input_size", input_size)
        self.output_size = positive_int("output_size", output_size)
        self.hidden_size_list = positive_ints("hidden_size_list", hidden_size_list)
        self.weight_init_std = check_init_std(weight_init_std)
        self.weight_decay_lambda = _decay(weight_decay_lambda)
        self.use_dropout = flag("use_dropout", use_dropout)
        self.dropout_ratio = dropout_fraction(dropout_ratio)
        self.use_batchnorm = flag("use_batchnorm", use_batchnorm)
        be, xp = self.backend, self.backend.xp
        sizes = [self.input_size, *self.hidden_size_list, self.output_size]
        norm_shapes = [(n,) for n in self.hidden_size_list for _ in range(4)]
        check_param_memory(_affine_shapes(sizes) + (norm_shapes if self.use_batchnorm else []),
                           self.dtype)
        rng = be.rng(seed)
        slots: dict[str, tuple[Any, str]] = {}
        buffers: dict[str, tuple[Any, str]] = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
            std = init_std(weight_init_std, fan_in)
            W = be.asarray((std * rng.standard_normal((fan_in, fan_out))).astype(self.dtype))
            affine = Affine(W, be.zeros((fan_out,)))
            self.layers.append(affine)
            slots[f"W{i}"], slots[f"b{i}"] = (affine, "W"), (affine, "b")
            if i == len(sizes) - 1:
                break
            if self.use_batchnorm:
                ones = xp.ones((fan_out,), dtype=be.float_dtype(), device=be.device)
                norm = BatchNormalization(
                    ones, be.zeros((fan_out,)),
                    running_mean=be.zeros((fan_out,)), running_var=be.zeros((fan_out,)),
                )
                self.layers.append(norm)
                slots[f"gamma{i}"], slots[f"beta{i}"] = (norm, "gamma"), (norm, "beta")
                buffers[f"running_mean{i}"] = (norm, "running_mean")
                buffers[f"running_var{i}"] = (norm, "running_var")
            self.layers.append(ACTIVATIONS[activation]())
            if self.use_dropout:
                layer_seed = None if seed is None else (seed, i)
                self.layers.append(Dropout(self.dropout_ratio, seed=layer_seed))
        self.params = ParamMap(slots)
        self.buffers = ParamMap(buffers)



MODELS: dict[str, type[Network]] = {
    "two-layer": TwoLayerNet,
    "multi-layer": MultiLayerNet,
    "multi-layer-extend": MultiLayerNetExtend,
}


def build(
    config: dict[str, Any],
    *,
    backend: str | Backend = "numpy",
    dtype: str = "float32",
    seed: int | None = None,
) -> Network:
    """A new net from a config dict such as ``net.config`` (weights freshly initialised)."""
    config = dict(config)
    model = config.pop("model", None)
    if model not in MODELS:
        raise NnxpError(f"unknown model {model!r}: use one of {', '.join(MODELS)}")
    try:
        return MODELS[model](**config, backend=backend, dtype=dtype, seed=seed)
    except TypeError as exc:
        raise NnxpError(f"bad config for model {model!r}: {exc}") from None


import nnxp.convnets  # noqa: E402, F401  (adds simple-conv and deep-conv to MODELS)
