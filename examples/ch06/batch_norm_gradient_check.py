"""The book's ch06/batch_norm_gradient_check.py: backpropagation through batch normalisation
checked against the numerical gradient. MultiLayerNetExtend(784, [100, 100], 10,
use_batchnorm=True) takes the first training image; for each parameter (W1, b1, gamma1,
beta1, W2, ..., b3) it prints the book's line "KEY:DIFF", DIFF the mean absolute difference
between network.gradient and network.numerical_gradient.

With one image, as the book checks, batch normalisation normalises a batch of one: every
unit's deviation from the batch mean is exactly 0, so each normalisation layer outputs its
beta whatever it is given. Everything before the last one (W1 to gamma2) then has a zero
gradient, by either method (DIFF 0.0), and beta2's units feed the last ReLU exactly at its
kink (beta starts at 0), where the central difference sees half the slope and backprop
none: a large DIFF for beta2 (about 0.06 here) that the book's own code prints too.
``--batch 3`` checks three images instead, where every difference is below 1e-8.

nnxp computes in float64, as the book, with weights from seed 0. Batch normalisation takes
the numerical gradient's generic loop (two forward passes per parameter, 90,010 of them:
about two minutes on this busy 2-core machine). ``--quick``: hidden layers of 5 units
(3,998 parameters) on the offline subset.
"""

import numpy as np

from nnxp import companion
from nnxp.argtypes import positive_int
from nnxp.models import MultiLayerNetExtend


def setup(parser) -> None:
    parser.add_argument("--batch", type=positive_int, default=1, metavar="N",
                        help="images to check on (default: 1, the book's)")


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True,
                                                                one_hot_label=True)
    hidden = [5, 5] if args.quick else [100, 100]
    network = MultiLayerNetExtend(input_size=784, hidden_size_list=hidden, output_size=10,
                                  use_batchnorm=True, dtype="float64", seed=0)

    x_batch = x_train[:args.batch]
    t_batch = t_train[:args.batch]

    grad_backprop = network.gradient(x_batch, t_batch)
    grad_numerical = network.numerical_gradient(x_batch, t_batch)

    for key in grad_numerical.keys():
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        print(key + ":" + str(diff))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
