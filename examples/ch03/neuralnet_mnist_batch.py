"""The book's ch03/neuralnet_mnist_batch.py: the same inference as neuralnet_mnist.py, the
chapter-3 sample network with the book's sample_weight.pkl, but 100 test images at a time: one
matrix product per layer and batch instead of per image, the same answers. It prints
``Accuracy:0.9352`` over MNIST's 10,000 test images, the book's figure.

The weights are ``--weights PATH`` or $NNXP_BOOK_DIR/ch03/sample_weight.pkl, read by nnxp's
restricted unpickler; the net computes in float32, as the book's does. ``--quick``: the 1,000
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

    batch_size = 100  # images per batch
    accuracy_cnt = 0

    for i in range(0, len(x), batch_size):
        x_batch = x[i:i + batch_size]
        y_batch = predict(network, x_batch)
        p = np.argmax(y_batch, axis=1)
        accuracy_cnt += np.sum(p == t[i:i + batch_size])

    print("Accuracy:" + str(float(accuracy_cnt) / len(x)))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
