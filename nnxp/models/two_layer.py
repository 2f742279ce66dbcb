"""TwoLayerNet, the book's chapter-5 two_layer_net.py on any Array API backend.

Read it beside the book: the same named, ordered layers (Affine1, Relu1 or Sigmoid1,
Affine2) and lastLayer, and the same bodies for predict, loss, numerical_gradient and
gradient. What the book leaves out (input and label checks, the live ``params`` mapping,
chunked accuracy, the fast numerical paths) lives in :mod:`nnxp.models.base`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from nnxp.backends import Backend
from nnxp.layers import Affine, SoftmaxWithLoss
from nnxp.models.base import Network, Shapes, affine_shapes
from nnxp.models.checks import (
    ACTIVATIONS,
    check_activation,
    check_init_std,
    init_std,
    positive_int,
    size,
)
from nnxp.models.params import ParamMap


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
        self.input_size = input_size = positive_int("input_size", input_size)
        self.hidden_size = hidden_size = positive_int("hidden_size", hidden_size)
        self.output_size = output_size = positive_int("output_size", output_size)
        self.weight_init_std, self.activation = weight_init_std, activation
        check_activation(activation)
        check_init_std(weight_init_std)
        self.check_param_memory()

        # weights: weight_init_std * randn, as the book (or he/xavier by fan-in); zero biases
        rng, zeros = self.backend.rng(seed), self.backend.zeros
        W1 = self.draw_weights(rng, (input_size, hidden_size), init_std(weight_init_std, input_size))
        W2 = self.draw_weights(rng, (hidden_size, output_size),
                               init_std(weight_init_std, hidden_size))

        # layers
        Activation = ACTIVATIONS[activation]
        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(W1, zeros((hidden_size,)))
        self.layers[f"{Activation.__name__}1"] = Activation()
        self.layers["Affine2"] = Affine(W2, zeros((output_size,)))
        self.lastLayer = SoftmaxWithLoss()

        # params: a live view of the layers' arrays under the book's names
        self.params = ParamMap({
            "W1": (self.layers["Affine1"], "W"), "b1": (self.layers["Affine1"], "b"),
            "W2": (self.layers["Affine2"], "W"), "b2": (self.layers["Affine2"], "b"),
        })

    @classmethod
    def param_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        a = cls.arguments(config)
        output = size(a["output_size"], "output_size")
        hidden = size(a["hidden_size"], "hidden size")
        return affine_shapes([size(a["input_size"], "input_size"), hidden, output]), {}

    def predict(self, x: Any, train_flg: bool | None = None) -> Any:
        """The scores before softmax: (N, output_size) for a batch (N, input_size), and
        (output_size,) for one sample (input_size,). No layer here uses ``train_flg``."""
        x, one_sample = self.as_batch(x)
        for layer in self.layers.values():
            x = layer.forward(x)
        return x[0, ...] if one_sample else x

    def _loss(self, x: Any, t: Any, train_flg: bool | None = None) -> Any:
        """loss(x, t) for a checked batch: x is input data, t the labels."""
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def _numerical_gradient(self, x: Any, t: Any, method: str = "auto") -> dict[str, Any]:
        """numerical_gradient(x, t) for a checked batch: the loss as a function of W."""
        loss_W = lambda W: self._loss(x, t)  # noqa: E731  (the book's closure)
        return self.numerical_gradient_of(loss_W, x, t, method)

    def _gradient(self, x: Any, t: Any) -> dict[str, Any]:
        """gradient(x, t) for a checked batch, by backpropagation."""
        # forward
        self._loss(x, t)

        # backward
        dout = self.lastLayer.backward(1)
        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers[:-1]:
            dout = layer.backward(dout)
        self.layers["Affine1"].backward_params(dout)  # its input is the data: no gradient

        # settings
        grads = {}
        grads["W1"], grads["b1"] = self.layers["Affine1"].dW, self.layers["Affine1"].db
        grads["W2"], grads["b2"] = self.layers["Affine2"].dW, self.layers["Affine2"].db
        return grads
