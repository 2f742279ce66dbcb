"""The book's ch08/misclassified_mnist.py: the MNIST test digits DeepConvNet gets wrong.

It loads the book's trained ch08/deep_convnet_params.pkl (under $NNXP_BOOK_DIR, or --weights
PATH: a book pickle or an nnxp model file), classifies the 10,000 test images in batches of
100 and prints the test accuracy with the book's labels (``calculating test accuracy ...``,
``test accuracy:0.9935`` with the book's 2016 weights; the book's repository now ships weights
retrained in 2022, which score 0.9797), then the first 20 misclassified digits as the book
prints them, ``{view index: (label, inference), ...}``, and draws them, each titled
"label:inference", as misclassified_mnist.png in --out (the book opens a window). Many are
digits a person would hesitate over too. ``nnxp plot misclassified`` draws the same.
``--quick``: the first 500 of the offline subset's 1,000 test images.
"""

import numpy as np

from nnxp import companion
from nnxp.plot.misclassified import draw_misclassified, first_misclassified, predict_labels
from nnxp.plot.weights import load_trained_net
from nnxp.threads import limit_threads


def setup(parser):
    parser.add_argument("--weights", metavar="PATH",
                        help="trained weights (default: $NNXP_BOOK_DIR/ch08/deep_convnet_params.pkl)")


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, flatten=False)
    if args.quick:
        x_test, t_test = x_test[:500], t_test[:500]

    weights = companion.book_file("ch08/deep_convnet_params.pkl", args.weights)
    network, _ = load_trained_net(weights, ("ch08",))

    print("calculating test accuracy ... ")
    with limit_threads(1):  # one BLAS thread is the fastest for these small products
        classified_ids = predict_labels(network, x_test, batch_size=100)
    acc = np.sum(classified_ids == t_test) / x_test.shape[0]
    print("test accuracy:" + str(float(acc)))

    max_view = 20
    mis = first_misclassified(classified_ids, t_test, max_view)
    mis_pairs = {i: (int(t_test[k]), int(classified_ids[k])) for i, k in enumerate(mis, 1)}
    print("======= misclassified result =======")
    print("{view index: (label, inference), ...}")
    print(mis_pairs)

    fig = draw_misclassified(x_test[mis], t_test[mis], classified_ids[mis])
    companion.save(fig, "misclassified_mnist.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
