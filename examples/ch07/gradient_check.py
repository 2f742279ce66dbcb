"""The book's ch07/gradient_check.py: SimpleConvNet's backpropagation checked against its
numerical gradient, on a small net (10x10 images, 10 filters of 3x3, hidden size 10) and one
random image of label 1. It prints, as the book's script, each parameter's name and the mean
absolute difference of the two gradients: ``W1 5.2e-08``, ``b1 1.2e-12`` ... ``b3 1.2e-10``.

The net computes in float64 (the numerical gradient's central difference, h = 1e-4, needs it)
and draws its weights and the image from seed 0, so the figures repeat; the book's script,
unseeded, prints from 1e-13 to 1e-3 from run to run: where a perturbation of 1e-4 moves an
input across a ReLU's kink or changes a max-pool's winner, the central difference is not
the derivative. ``--quick`` changes nothing (it takes a second already).
"""

import numpy as np

from nnxp import companion
from nnxp.models import SimpleConvNet


def main(args):
    network = SimpleConvNet(input_dim=(1, 10, 10),
                            conv_param={"filter_num": 10, "filter_size": 3, "pad": 0, "stride": 1},
                            hidden_size=10, output_size=10, weight_init_std=0.01,
                            dtype="float64", seed=0)

    rng = np.random.default_rng(0)
    X = rng.random(100).reshape((1, 1, 10, 10))
    T = np.array([1]).reshape((1, 1))

    grad_num = network.numerical_gradient(X, T)
    grad = network.gradient(X, T)

    for key in grad_num:
        print(key, np.abs(grad_num[key] - grad[key]).mean())
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
