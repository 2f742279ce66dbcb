"""The book's ch07/simple_convnet.py defines the class SimpleConvNet (conv - relu - pool -
affine - relu - affine - softmax); nnxp has it as ``nnxp.models.SimpleConvNet``, with the
book's constructor, parameter names and methods (predict, loss, accuracy, gradient,
numerical_gradient, save_params, load_params). The book's file prints nothing; this script
builds the net with the book's defaults and exercises it.

It prints each parameter's shape (``W1 (30, 1, 5, 5)`` ...), the untrained net's loss and
accuracy on 100 MNIST training images (about 2.30 and 0.1: a guess among ten), the same after
50 Adam updates on batches of 100 (lr 0.001, as train_convnet.py), and whether the net saved
with save_params and loaded into a fresh one with load_params predicts the same
(``load_params: same predictions True``). ``--quick``: 10 updates on the offline subset.
"""

import tempfile
from pathlib import Path

import numpy as np

from nnxp import companion
from nnxp.models import SimpleConvNet
from nnxp.optim import Adam
from nnxp.threads import limit_threads


def main(args):
    (x_train, t_train), _ = companion.load_mnist(args, flatten=False)
    network = SimpleConvNet(input_dim=(1, 28, 28),
                            conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                            hidden_size=100, output_size=10, weight_init_std=0.01, seed=0)
    for key, value in network.params.items():
        print(key, tuple(value.shape))

    x, t = x_train[:100], t_train[:100]
    print("loss:", float(network.loss(x, t)), "accuracy:", network.accuracy(x, t))

    steps = 10 if args.quick else 50
    optimizer = Adam(lr=0.001)
    rng = np.random.default_rng(0)
    with limit_threads(1):  # one BLAS thread is the fastest for these small products
        for _ in range(steps):
            batch_mask = rng.choice(len(x_train), 100)
            grads = network.gradient(x_train[batch_mask], t_train[batch_mask])
            optimizer.update(network.params, grads)
    print(f"after {steps} updates: loss:", float(network.loss(x, t)),
          "accuracy:", network.accuracy(x, t))

    with tempfile.TemporaryDirectory() as folder:
        path = network.save_params(Path(folder) / "params.npz")
        loaded = SimpleConvNet(seed=1)
        loaded.load_params(path)
    same = np.array_equal(np.asarray(loaded.predict(x)), np.asarray(network.predict(x)))
    print("load_params: same predictions", same)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
