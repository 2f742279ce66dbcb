"""The book's chapter-6 nets: MultiLayerNet (fully connected, any depth) and
MultiLayerNetExtend (the same with Dropout and BatchNormalization), one construction."""

from __future__ import annotations

from typing import Any

from nnxp.backends import Backend
from nnxp.layers import Affine, BatchNormalization, Dropout
from nnxp.models.base import ModalNetwork, Network, Shapes, affine_shapes
from nnxp.models.checks import (
    ACTIVATIONS,
    check_activation,
    check_init_std,
    decay,
    dropout_fraction,
    flag,
    init_std,
    positive_int,
    positive_ints,
    size,
    sizes,
)
from nnxp.models.params import ParamMap

Slots = dict[str, tuple[Any, str]]


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
        self.weight_decay_lambda = decay(weight_decay_lambda)
        check_activation(activation)
        check_init_std(weight_init_std)
        self.check_param_memory()
        rng = self.backend.rng(seed)
        sizes = [self.input_size, *self.hidden_size_list, self.output_size]
        slots: Slots = {}
        buffers: Slots = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
            W = self.draw_weights(rng, (fan_in, fan_out), init_std(weight_init_std, fan_in))
            affine = Affine(W, self.backend.zeros((fan_out,)))
            self.layers.append(affine)
            slots[f"W{i}"], slots[f"b{i}"] = (affine, "W"), (affine, "b")
            if i < len(sizes) - 1:
                self.layers += self._hidden_layers(i, fan_out, slots, buffers, seed)
        self.params = ParamMap(slots)
        if buffers:
            self.buffers = ParamMap(buffers)

    def _hidden_layers(self, i: int, width: int, slots: Slots, buffers: Slots,
                       seed: int | None) -> list[Any]:
        """The layers after the i-th hidden Affine (of ``width`` outputs): its activation.
        Parameters and buffers they hold go into ``slots`` and ``buffers``."""
        return [ACTIVATIONS[self.activation]()]

    @classmethod
    def param_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        a = cls.arguments(config)
        output = size(a["output_size"], "output_size")
        hidden = sizes(a["hidden_size_list"], "hidden_size_list")
        return affine_shapes([size(a["input_size"], "input_size"), *hidden, output]), {}


class MultiLayerNetExtend(MultiLayerNet, ModalNetwork):
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
        dropout_ration: float | None = None,
        backend: str | Backend = "numpy",
        dtype: str = "float32",
        seed: int | None = None,
    ) -> None:
        self.use_dropout = flag("use_dropout", use_dropout)
        self.dropout_ratio = dropout_fraction(dropout_ratio, dropout_ration)
        self.use_batchnorm = flag("use_batchnorm", use_batchnorm)
        super().__init__(input_size, hidden_size_list, output_size, activation, weight_init_std,
                         weight_decay_lambda, backend=backend, dtype=dtype, seed=seed)
        self.weight_init_std = check_init_std(weight_init_std)

    def _hidden_layers(self, i: int, width: int, slots: Slots, buffers: Slots,
                       seed: int | None) -> list[Any]:
        """BatchNormalization if use_batchnorm, the activation, Dropout if use_dropout."""
        layers = super()._hidden_layers(i, width, slots, buffers, seed)
        if self.use_batchnorm:
            be = self.backend
            ones = be.xp.ones((width,), dtype=be.float_dtype(), device=be.device)
            norm = BatchNormalization(ones, be.zeros((width,)), running_mean=be.zeros((width,)),
                                      running_var=be.zeros((width,)))
            layers.insert(0, norm)
            slots[f"gamma{i}"], slots[f"beta{i}"] = (norm, "gamma"), (norm, "beta")
            buffers[f"running_mean{i}"] = (norm, "running_mean")
            buffers[f"running_var{i}"] = (norm, "running_var")
        if self.use_dropout:
            layers.append(Dropout(self.dropout_ratio, seed=None if seed is None else (seed, i)))
        return layers

    @classmethod
    def param_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        params, buffers = super().param_shapes(config)
        if cls.arguments(config)["use_batchnorm"] is True:
            for i in range(1, len(params) // 2):
                width = params[f"b{i}"]
                params[f"gamma{i}"], params[f"beta{i}"] = width, width
                buffers[f"running_mean{i}"], buffers[f"running_var{i}"] = width, width
        return params, buffers
