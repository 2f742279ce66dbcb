"""The book's ch04/gradient_simplenet.py: the gradient of a one-layer net's loss with respect
to its weights. simpleNet holds a 2x3 weight matrix W (standard normal draws); its loss for
the input x = [0.6, 0.9] and the one-hot label t = [0, 0, 1] is the cross-entropy of the
softmax of x W; dW = numerical_gradient(f, net.W) with f = lambda w: net.loss(x, t), the
book's idiom (nnxp's numerical_gradient moves each element of W in place, as the book's).

It prints W, the scores x W, the loss and dW (the book's script prints dW alone), with
nnxp.functions.softmax and cross_entropy_error and nnxp.gradient.numerical_gradient. W is
drawn from seed 0 (the book's is unseeded, so its figures differ). Last it prints how far
dW is from the analytic gradient outer(x, softmax(x W) - t): about 1e-7, the effect of the
1e-7 that cross_entropy_error adds inside its log. Each row of dW sums to 0 and the
label's column is negative: raising W[i, 2] lowers the loss. ``--quick`` changes
nothing.
"""

import numpy as np

from nnxp import companion
from nnxp.functions import cross_entropy_error, softmax
from nnxp.gradient import numerical_gradient


class simpleNet:  # noqa: N801 (the book's name)
    def __init__(self, rng):
        self.W = rng.standard_normal((2, 3))

    def predict(self, x):
        return x @ self.W

    def loss(self, x, t):
        z = self.predict(x)
        y = softmax(z)
        return cross_entropy_error(y, t)


def main(args) -> int:
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])

    net = simpleNet(np.random.default_rng(0))
    print("W:", net.W)
    print("x W:", net.predict(x))
    print("loss:", float(net.loss(x, t)))

    f = lambda w: net.loss(x, t)  # noqa: E731 (the book's closure)
    dW = numerical_gradient(f, net.W)
    print(dW)
    analytic = np.outer(x, softmax(net.predict(x)) - t)
    print("max |dW - outer(x, softmax(x W) - t)|:", float(np.max(np.abs(dW - analytic))))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
