"""The book's ch08/awesome_net.py, whose whole text is "Create your awesome net!!": here is
one, a net of the reader's own built on nnxp's Network, trained, saved and loaded back.

AwesomeNet subclasses nnxp.models.ModalNetwork (nnxp.models.Network for nets without
Dropout or BatchNormalization; this one also lets its numerical_gradient differentiate the
training-mode loss that gradient does): its constructor takes the backend, dtype and seed
keywords, lays out its layers from nnxp.layers (two hidden layers of Affine,
BatchNormalization and tanh, then Dropout and the output Affine; Xavier-scaled weights, as
suits tanh) and calls name_params(), which names the parameters as the book's nets do (W1,
b1, gamma1, beta1, ..., and the running statistics as buffers); config_keys lists its
arguments for model files. Everything else (predict, loss, accuracy, gradient,
numerical_gradient, save_params, load_params) is inherited.

It trains with nnxp's Trainer (Adam, lr 0.001, mini-batches of 100, 10 epochs on MNIST;
one line per epoch, the untrained net's first), prints the test accuracy (about 0.977),
saves the net with the book's save_params (awesome_net.npz in --out: an nnxp model file,
no pickle), loads it into a fresh AwesomeNet with load_params and rebuilds it with
nnxp.io.load_model (which finds the class because this script defined it), both scoring
the same, and predicts one test image alone. ``--quick``: the offline subset, 2 epochs.
"""

import math
from pathlib import Path

import numpy as np

from nnxp import Trainer, companion
from nnxp.io import load_model
from nnxp.layers import Affine, BatchNormalization, Dropout, Tanh
from nnxp.models import ModalNetwork


class AwesomeNet(ModalNetwork):
    """784 - [Affine - BatchNorm - tanh] x 2 - Dropout - Affine - softmax."""

    config_keys = ("hidden_size", "dropout_ratio")

    def __init__(self, hidden_size=200, dropout_ratio=0.2, *, backend="numpy",
                 dtype="float32", seed=None):
        super().__init__(backend, dtype)
        self.hidden_size, self.dropout_ratio = hidden_size, dropout_ratio
        be, rng = self.backend, self.backend.rng(seed)
        sizes = [784, hidden_size, hidden_size, 10]
        for i in range(3):
            fan_in, fan_out = sizes[i], sizes[i + 1]
            W = self.draw_weights(rng, (fan_in, fan_out), math.sqrt(1.0 / fan_in))
            self.layers.append(Affine(W, be.zeros((fan_out,))))
            if i < 2:
                gamma, beta = be.asarray(np.ones(fan_out)), be.zeros((fan_out,))
                self.layers += [BatchNormalization(gamma, beta), Tanh()]
        self.layers.insert(-1, Dropout(dropout_ratio, seed=seed))
        self.name_params()


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True)
    network = AwesomeNet(seed=0)
    print("layers:", " -> ".join(type(layer).__name__ for layer in network.layers))
    print("params:", ", ".join(network.params), "| buffers:", ", ".join(network.buffers))

    trainer = Trainer(network, x_train, t_train, x_test, t_test,
                      epochs=2 if args.quick else 10, mini_batch_size=100,
                      optimizer="Adam", optimizer_param={"lr": 0.001}, seed=0, progress=False)
    trainer.train()
    test_acc = network.accuracy(x_test, t_test)
    print("test acc:", test_acc)

    path = network.save_params(Path(args.out) / "awesome_net.npz")
    print("saved:", path)
    loaded = AwesomeNet(seed=1)
    loaded.load_params(path)
    print("load_params: test acc", loaded.accuracy(x_test, t_test))
    rebuilt, meta = load_model(path)
    print(f"load_model: {type(rebuilt).__name__} (model {meta['model']['model']!r}), test acc",
          rebuilt.accuracy(x_test, t_test))
    scores = network.predict(x_test[0])
    print(f"predict(x_test[0]): class {int(np.argmax(scores))} (label {int(t_test[0])})")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
