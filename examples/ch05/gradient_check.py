"""The book's ch05/gradient_check.py: backpropagation checked against the numerical gradient.
Chapter 5's TwoLayerNet (784-50-10, ReLU) takes the first three training images; for each
parameter it prints the book's line "KEY:DIFF", DIFF the mean absolute difference between
network.gradient (backprop) and network.numerical_gradient (central differences, h = 1e-4).

The book prints differences of about 1e-10 to 1e-13 (W1:2.2e-13, b1:9.7e-13,
W2:8.4e-13, b2:1.2e-10 in its text): both gradients are the same function's. nnxp computes
in float64 here, as the book does, with weights from seed 0; its numerical gradient is a
Numba kernel (the book's loop evaluates the whole loss 79,520 times), and its loss
has no 1e-7 guard inside the log, so the differences are those of rounding and of the
central difference alone. ``--quick`` reads the offline subset (its first three images);
nothing else changes. ``nnxp gradcheck`` prints the same comparison with more columns.
"""

import numpy as np

from nnxp import TwoLayerNet, companion


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True,
                                                                one_hot_label=True)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, activation="relu",
                          dtype="float64", seed=0)

    x_batch = x_train[:3]
    t_batch = t_train[:3]

    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)

    for key in grad_numerical.keys():
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        print(key + ":" + str(diff))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
