"""The book's ch03/neuralnet_mnist.py: inference with the chapter-3 sample network
(784-50-100-10, sigmoid) and the book's trained weights, sample_weight.pkl, one MNIST test
image at a time, as the book's loop does (predict, softmax, the class of the highest
probability). It prints ``Accuracy:0.9352`` over the 10,000 test images, the book's figure.

The weights are ``--weights PATH`` or $NNXP_BOOK_DIR/ch03/sample_weight.pkl (a clone of the
book's repository), read by nnxp's restricted unpickler (NumPy arrays only, never code); the
net computes in float32, the dtype of the book's weights and images. ``--quick``: the 1,000
test images of the offline subset.
"""

import numpy as np

from nnxp import companion
from nnxp.book_weights import load_book_weights
from nnxp.functions import softmax


def setup(parser):
    parser.add_argument("--weights", metavar="PATH",
                        help="the book's sample_weight.pkl (default: "
                        "$NNXP_BOOK_DIR/ch03/sample_weight.pkl)")


def get_data(args):
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(
        args, normalize=True, flatten=True, one_hot_label=False)
    return x_test, t_test


def init_network(args):
    return load_book_weights(companion.book_file("ch03/sample_weight.pkl", args.weights), "ch03")


def predict(network, x):
    return softmax(network.predict(x))


def main(args):
    x, t = get_data(args)
    network = init_network(args)
    accuracy_cnt = 0
    for i in range(len(x)):
        y = predict(network, x[i])
        p = np.argmax(y)  # the index of the most probable class
        if p == t[i]:
            accuracy_cnt += 1

    print("Accuracy:" + str(float(accuracy_cnt) / len(x)))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
