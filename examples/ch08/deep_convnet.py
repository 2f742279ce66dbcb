"""The book's ch08/deep_convnet.py defines the class DeepConvNet, its net of over 99%
(conv - relu - conv - relu - pool, three times with 16, 32 and 64 filters of 3x3, then affine
50 - relu - dropout - affine 10 - dropout - softmax, He initial weights); nnxp has it as
``nnxp.models.DeepConvNet``, with the book's constructor, parameter names (W1 ... W8) and
methods. The book's file prints nothing; this script builds the net and exercises it.

It prints each parameter's shape (``W1 (16, 1, 3, 3)`` ... ``W8 (50, 10)``) and their number
(``parameters: 123,552``), the untrained net's loss and accuracy on 100 MNIST training
images (about 2.3 and 0.1), the same after 50 Adam updates on batches of 100 (lr 0.001, as
train_deepnet.py; dropout acts in the updates, not in the measures), and whether the net
saved with save_params and loaded into a fresh one with load_params predicts the same
(``load_params: same predictions True``). ``--quick``: 10 updates on the offline subset.
"""

import tempfile
from pathlib import Path

import numpy as np

from nnxp import companion
from nnxp.models import DeepConvNet
from nnxp.optim import Adam
from nnxp.threads import limit_threads


def main(args):
    (x_train, t_train), _ = companion.load_mnist(args, flatten=False)
    network = DeepConvNet(seed=0)
    for key, value in network.params.items():
        print(key, tuple(value.shape))
    print(f"parameters: {sum(int(np.prod(v.shape)) for v in network.params.values()):,}")

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
        path = network.save_params(Path(folder) / "deep_convnet_params.npz")
        loaded = DeepConvNet(seed=1)
        loaded.load_params(path)
    same = np.array_equal(np.asarray(loaded.predict(x)), np.asarray(network.predict(x)))
    print("load_params: same predictions", same)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
