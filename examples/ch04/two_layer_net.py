"""The book's ch04/two_layer_net.py, its chapter-4 TwoLayerNet class: nnxp.TwoLayerNet is that
class (sigmoid hidden layer, weights weight_init_std * randn, params W1, b1, W2, b2, and
predict, loss, accuracy, numerical_gradient, gradient), so this script builds and exercises
it as the book's section 4.5.1 does, on its dummy data.

TwoLayerNet(input_size=784, hidden_size=100, output_size=10): it prints the shape of each
parameter, predicts a batch of 100 random images (scores (100, 10); nnxp's predict returns
the scores before softmax, the book's chapter-4 one their softmax), then the gradient of the
loss against 100 random label rows by numerical_gradient, each parameter's shape, how long
it took (the book's loop: about a minute; nnxp's Numba kernel: a second or two here,
the first call in a process also loading it) and how far backprop's gradient is from it
(about 1e-10 in float64). The label rows are the book's np.random.rand(100, 10) scaled to
sum to 1, as probabilities do: backprop's (y - t) / N is the loss's gradient only for such
rows. Weights and data come from seed 0. ``--quick`` changes nothing.
"""

import time

import numpy as np

from nnxp import TwoLayerNet, companion
from nnxp.functions import softmax


def main(args) -> int:
    net = TwoLayerNet(input_size=784, hidden_size=100, output_size=10, dtype="float64", seed=0)
    for key in ("W1", "b1", "W2", "b2"):
        print(f"net.params['{key}'].shape: {tuple(net.params[key].shape)}")

    rng = np.random.default_rng(0)
    x = rng.random((100, 784))  # dummy input data (100 images)
    y = net.predict(x)
    print("y.shape:", y.shape, "| softmax rows sum to", float(softmax(y).sum(axis=1).mean()))

    t = rng.random((100, 10))  # dummy labels (100 rows), each summing to 1
    t /= t.sum(axis=1, keepdims=True)
    start = time.perf_counter()
    grads = net.numerical_gradient(x, t)
    seconds = time.perf_counter() - start
    for key in ("W1", "b1", "W2", "b2"):
        print(f"grads['{key}'].shape: {tuple(grads[key].shape)}")
    print(f"numerical_gradient: {seconds:.2f} s")
    backprop = net.gradient(x, t)
    diff = max(float(np.max(np.abs(backprop[key] - grads[key]))) for key in grads)
    print(f"max |gradient - numerical_gradient|: {diff:.1e}")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
