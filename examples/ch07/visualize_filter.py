"""The book's ch07/visualize_filter.py: SimpleConvNet's 30 first-layer filters (5 x 5), at
random initialisation and after training (figure 7-24).

Random filters show no structure; trained ones have learned edges and blobs: regions of
light and dark that respond to strokes of one direction. It builds nnxp.models.SimpleConvNet
(the book's shapes, weights drawn with std 0.01), loads the book's trained ch07/params.pkl
(under $NNXP_BOOK_DIR, or --weights PATH: that pickle, or a model file from
``nnxp train --model simple-conv --save``), and saves both grids side by side, dark for large
weights as the book draws them, as visualize_filter.png in --out (the book opens two
windows). ``nnxp plot filters`` draws the same. ``--quick`` changes nothing (no data is read).
"""

from nnxp import companion
from nnxp.backends import to_numpy
from nnxp.models import SimpleConvNet
from nnxp.plot.filters import draw_filters
from nnxp.plot.weights import load_trained_net


def setup(parser):
    parser.add_argument("--weights", metavar="PATH",
                        help="trained weights (default: $NNXP_BOOK_DIR/ch07/params.pkl)")


def main(args) -> int:
    network = SimpleConvNet(seed=0)
    random_filters = to_numpy(network.params["W1"])  # the weights right after initialisation

    trained, words = load_trained_net(companion.book_file("ch07/params.pkl", args.weights),
                                      ("ch07",))
    print(f"trained filters: {words}")
    fig = draw_filters(random_filters, to_numpy(trained.params["W1"]))
    companion.save(fig, "visualize_filter.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
