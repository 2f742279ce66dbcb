"""The machinery the book's nets share, which a reader of the nets can skip: the live
``params`` mapping, input and label checks, chunked accuracy, backprop with weight decay,
the numerical gradient's hand-off, and the shapes a config implies.

A net is an ordered list of layers plus a last layer (SoftmaxWithLoss). Its ``params`` is a
live mapping onto the layers' own arrays under the book's names (W1, b1, W2, ...): reading
gives the layer's array, assigning replaces it, so optimizers work on every backend.

A net of your own (the book's chapter-8 ``awesome_net.py``) subclasses :class:`Network`
(:class:`ModalNetwork` when it holds Dropout or BatchNormalization layers): its constructor
takes ``backend``, ``dtype`` and ``seed`` keywords and calls ``super().__init__(backend,
dtype)``, sets ``self.layers`` (and ``self.last_layer``), then ``self.name_params()``;
``config_keys`` names the constructor's arguments to keep in model files.
``save_params`` / ``load_params`` then work as for the book's nets, and
``nnxp.io.load_model`` rebuilds it wherever its class is defined (its ``model`` name is
``"module:ClassName"`` unless the class sets one).
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnxp import netgrad
from nnxp.backends import Backend, get_backend
from nnxp.errors import NnxpError
from nnxp.functions import check_label_range, check_labels
from nnxp.layers import BatchNormalization, Dropout, SoftmaxWithLoss
from nnxp.models.checks import check_param_memory, positive_int
from nnxp.models.params import ParamMap

Shapes = dict[str, tuple[int, ...]]
"""Parameter (or buffer) name -> the shape of its array."""


def _plain(value: Any) -> Any:
    """A config value as JSON has it: tuples as lists, and copies of lists and dicts."""
    if isinstance(value, list | tuple):
        return list(value)
    return dict(value) if isinstance(value, dict) else value


class Network:
    """Layers, a loss layer and live params; the methods the book's nets share."""

    model: str = ""
    """The name model files and the registry know the net by; a subclass that sets none is
    named "module:ClassName"."""
    train_flg: bool = False
    """The mode predict uses when not told; True only while a net differentiates numerically."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" not in cls.__dict__:
            cls.model = f"{cls.__module__}:{cls.__qualname__}"

    def __init__(self, backend: str | Backend, dtype: str) -> None:
        self.backend = get_backend(backend, dtype=dtype)
        self.dtype = dtype
        self.layers: Any = []
        self.last_layer = SoftmaxWithLoss()
        self.params = ParamMap({})
        self.weight_decay_lambda = 0.0

    def name_params(self) -> None:
        """Make ``params`` a live view of the layers' parameters under the book's names: W1,
        b1 for the first layer holding weights (Affine, Convolution), W2, b2 for the next, ...;
        gamma1, beta1 for the first BatchNormalization, gamma2, beta2 for the next, ..., whose
        running statistics (running_mean1, running_var1, ...) become ``buffers``, which model
        files keep. For nets of your own; the book's nets name theirs as the book does."""
        slots: dict[str, tuple[Any, str]] = {}
        buffers: dict[str, tuple[Any, str]] = {}
        weighted = norms = 0
        for layer in self.layer_list():
            if isinstance(layer, BatchNormalization):
                norms += 1
                slots[f"gamma{norms}"], slots[f"beta{norms}"] = (layer, "gamma"), (layer, "beta")
                if layer.running_mean is None:
                    be, width = self.backend, tuple(layer.gamma.shape)
                    layer.running_mean, layer.running_var = be.zeros(width), be.zeros(width)
                buffers[f"running_mean{norms}"] = (layer, "running_mean")
                buffers[f"running_var{norms}"] = (layer, "running_var")
            elif getattr(layer, "W", None) is not None and hasattr(layer, "b"):
                weighted += 1
                slots[f"W{weighted}"], slots[f"b{weighted}"] = (layer, "W"), (layer, "b")
        self.params = ParamMap(slots)
        if buffers or hasattr(self, "buffers"):
            self.buffers = ParamMap(buffers)

    def save_params(self, file_name: str | os.PathLike[str] = "params.npz") -> Path:
        """Write the parameters (and running statistics) with the net's config to
        ``file_name``: an nnxp model file (.npz, no pickle), written atomically, that
        :meth:`load_params`, ``nnxp.io.load_model`` and ``nnxp eval`` read. The book's
        ``save_params``; returns the path."""
        from nnxp.io import save_model

        return save_model(file_name, self)

    def load_params(self, file_name: str | os.PathLike[str] = "params.npz") -> None:
        """Replace the parameters (and running statistics) with those of ``file_name``: a
        model file (:meth:`save_params`, ``nnxp train --save``) or one of the book's weight
        pickles (read by nnxp's restricted unpickler). Every name and shape must be this
        net's own, else one NnxpError line and nothing is changed. The book's ``load_params``."""
        from nnxp.io import load_params

        load_params(file_name, self)

    @property
    def lastLayer(self) -> Any:  # noqa: N802  (the book's name)
        """The book's name for ``last_layer``."""
        return self.last_layer

    @lastLayer.setter
    def lastLayer(self, layer: Any) -> None:  # noqa: N802
        self.last_layer = layer

    def layer_list(self) -> list[Any]:
        """The layers in order, whether ``layers`` is a list or the book's OrderedDict."""
        layers = self.layers
        return list(layers.values() if isinstance(layers, Mapping) else layers)

    config_keys: tuple[str, ...] = ()
    """The constructor's arguments, kept as attributes of the same names, that config lists."""

    @property
    def config(self) -> dict[str, Any]:
        """The plain dict that :func:`nnxp.models.registry.build` rebuilds this net from."""
        return {"model": self.model, **{key: _plain(getattr(self, key)) for key in self.config_keys}}

    @classmethod
    def arguments(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor's arguments a config gives (its "model" key aside), defaults
        filled in; NnxpError for arguments the constructor does not take."""
        given = {key: value for key, value in config.items() if key != "model"}
        try:
            bound = inspect.signature(cls).bind(**given)
        except TypeError as exc:
            raise NnxpError(f"bad config for model {cls.model!r}: {exc}") from None
        bound.apply_defaults()
        return dict(bound.arguments)

    @classmethod
    def param_shapes(cls, config: Mapping[str, Any]) -> tuple[Shapes, Shapes]:
        """The (parameter, buffer) shapes a net of this config allocates, computed from the
        config alone, arguments checked as the constructor checks them."""
        raise NotImplementedError(f"{cls.__name__} does not say its parameter shapes")

    def check_param_memory(self) -> None:
        """Refuse (NnxpError) a net whose arrays would not fit in memory, before drawing."""
        params, buffers = self.param_shapes(self.config)
        check_param_memory([*params.values(), *buffers.values()], self.dtype)

    def draw_weights(self, rng: Any, shape: tuple[int, ...], std: float) -> Any:
        """std times standard-normal draws from the host generator (float64, then cast to the
        net's dtype and moved), so one seed gives the same weights on every backend."""
        return self.backend.asarray((std * rng.standard_normal(shape)).astype(self.dtype))

    @property
    def classes(self) -> int:
        """Scores per sample: the width of the last weighted layer (the output size)."""
        for layer in reversed(self.layer_list()):
            W = getattr(layer, "W", None)
            if W is not None:
                return int(W.shape[-1])
        raise NnxpError("this net has no weighted layer, so no classes; build it with layers")

    @property
    def input_features(self) -> int:
        """Numbers per sample the first layer takes (the input size)."""
        return int(self.layer_list()[0].W.shape[0])

    def is_sample(self, x: Any) -> bool:
        """Whether x is one sample rather than a batch: a 1-D array (input_size,) for the
        fully connected nets, as the book's chapter 3 passes ``x[i]`` to predict."""
        return x.ndim == 1

    def sample_shapes(self) -> tuple[tuple[int, ...], ...]:
        """The shapes one sample may have: (input_size,) for the fully connected nets."""
        return ((self.input_features,),)

    def as_batch(self, x: Any) -> tuple[Any, bool]:
        """(x as a batch on this net's backend and dtype, whether x was one sample): one
        sample (:meth:`is_sample`) becomes a batch of one."""
        x = self.backend.adopt(x, self.dtype)
        if self.is_sample(x):
            return self.backend.xp.reshape(x, (1, *tuple(x.shape))), True
        return x, False

    def check_inputs(self, x: Any) -> Any:
        """x as this net takes it: a batch (N, features...) of real numbers on its backend, in
        its dtype (integer images are cast). A one-line NnxpError for anything else."""
        x = self.backend.adopt(x, self.dtype)
        xp = self.backend.xp
        shape = tuple(int(d) for d in x.shape)
        if len(shape) < 2 or math.prod(shape[1:]) != self.input_features:
            raise NnxpError(f"inputs of shape {shape} do not fit this net, which takes batches "
                            f"of {self.input_features} numbers per sample: pass shape "
                            f"(N, {self.input_features}), or ({self.input_features},) for one "
                            "sample")
        if not xp.isdtype(x.dtype, ("real floating", "integral", "bool")):
            raise NnxpError(f"inputs must be real numbers, got dtype {x.dtype}")
        if not xp.isdtype(x.dtype, "real floating"):
            x = xp.astype(x, self.backend.float_dtype(self.dtype))
        return x

    def check_batch(self, x: Any, t: Any) -> tuple[Any, Any]:
        """(x, t) checked as every public method takes them: inputs by :meth:`check_inputs`,
        labels one-hot or integer classes in range (checked before they are moved; reading
        their range is one device sync), both on this net's backend. One sample (see
        :meth:`is_sample`) with its label (an int, or a one-hot row) is a batch of one."""
        x, one = self.as_batch(x)
        if one and tuple(int(n) for n in x.shape[1:]) not in self.sample_shapes():
            shapes = " or ".join(str(shape) for shape in self.sample_shapes())
            raise NnxpError(f"one sample of shape {tuple(x.shape[1:])} does not fit this net: "
                            f"pass one sample of shape {shapes}, or a batch with a first axis "
                            "of samples")
        x = self.check_inputs(x)
        if not hasattr(t, "shape"):
            t = self.backend.adopt(t)
        if one and tuple(t.shape) in ((), (self.classes,)):
            t = self.backend.xp.reshape(t, (1, *tuple(t.shape)))
        t = check_labels(t, (int(x.shape[0]), self.classes))
        check_label_range(t, self.classes)
        return x, self.backend.adopt(t, self.dtype)

    def predict(self, x: Any, train_flg: bool | None = None) -> Any:
        """The output layer's scores (before softmax), as the book's layered nets return:
        (N, classes) for a batch, (classes,) for one sample (see :meth:`is_sample`).

        ``train_flg`` goes to the layers that act differently in training (Dropout,
        BatchNormalization); None means the net's mode ``self.train_flg`` (inference).
        """
        x, one = self.as_batch(x)
        train_flg = self.train_flg if train_flg is None else train_flg
        for layer in self.layer_list():
            if getattr(layer, "train_flg_aware", False):
                x = layer.forward(x, train_flg)
            else:
                x = layer.forward(x)
        return x[0, ...] if one else x

    def loss(self, x: Any, t: Any, train_flg: bool | None = None) -> Any:
        """Cross-entropy of the softmax of predict(x) against t, plus any weight decay.

        t is one-hot rows (x's batch by the classes) or integer class labels, (N,) or (N, 1);
        for one sample x, its label (an int) or its one-hot row.
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
        x, t = self.check_batch(x, t)
        n = int(x.shape[0])
        return self._hits(x, t, batch_size) / n if n else float("nan")

    def hits(self, x: Any, t: Any, batch_size: int | None = None) -> int:
        """How many samples' highest score is the label (what :meth:`accuracy` divides),
        so the hits of shares of a data set add up exactly (a data-parallel evaluation)."""
        return self._hits(*self.check_batch(x, t), batch_size)

    def _hits(self, x: Any, t: Any, batch_size: int | None) -> int:
        """hits() of a batch check_batch has passed."""
        if batch_size is not None:
            batch_size = positive_int("batch_size", batch_size)
        xp = self.backend.xp
        if t.ndim != 1:
            t = xp.argmax(t, axis=1)
        n = int(x.shape[0])
        chunk = batch_size or self.accuracy_batch_size or n
        hits = None
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            y = xp.argmax(self.predict(x[start:stop, ...]), axis=1)
            h = xp.sum(xp.astype(y == xp.astype(t[start:stop], y.dtype), xp.int64))
            hits = h if hits is None else hits + h
        return 0 if hits is None else int(hits)

    def gradient(self, x: Any, t: Any) -> dict[str, Any]:
        """Gradients of loss(x, t) for every parameter, by backpropagation (training mode)."""
        return self._gradient(*self.check_batch(x, t))

    def _gradient(self, x: Any, t: Any) -> dict[str, Any]:
        """gradient() for a batch check_batch has passed (no label checks, no device sync)."""
        self._loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        layers = self.layer_list()
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        first = layers[0]  # its input is the data, which needs no gradient
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
        return self.numerical_gradient_of(lambda W: self._loss(x, t), x, t, method)

    def numerical_gradient_of(self, loss_W: Any, x: Any, t: Any, method: str) -> dict[str, Any]:
        """The gradient of ``loss_W`` (the loss as a function of one parameter, the book's
        closure) for every parameter, handed to nnxp.netgrad with the layers it runs x
        through: those let the fast paths recompute the loss without calling it."""
        return netgrad.numerical_gradient(loss_W, self.params, x, t, self.loss_layers(),
                                          backend=self.backend, method=method,
                                          weight_decay_lambda=self.weight_decay_lambda)

    def loss_layers(self) -> list[Any] | None:
        """The layers ``_loss`` runs a batch through, last layer included, weight decay
        aside: what lets the numerical gradient recompute the loss without calling it.
        A subclass whose loss is anything else returns None (the generic loop)."""
        return [*self.layer_list(), self.last_layer]


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
        for layer in self.layer_list():
            if isinstance(layer, Dropout):
                layer.keep_mask = keep

    def _numerical_gradient(self, x: Any, t: Any, method: str = "auto") -> dict[str, Any]:
        dropouts = [layer for layer in self.layer_list() if isinstance(layer, Dropout)]
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


def affine_shapes(sizes: list[int]) -> Shapes:
    """The shapes of W{i}, b{i} of Affine layers between consecutive sizes."""
    shapes: Shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
    return shapes
