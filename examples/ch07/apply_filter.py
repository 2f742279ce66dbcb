"""The book's ch07/apply_filter.py: what SimpleConvNet's trained filters see in a photograph.

It loads the book's trained ch07/params.pkl (under $NNXP_BOOK_DIR, or --weights PATH), reads
the book's dataset/lena_gray.png (or --image PATH, any PNG, turned gray), and slides each of
the first 16 filters over the image with nnxp.conv.Convolution, bias 0 as in the book. The
filters that look like edges answer to edges of their direction. It prints each response's
size and range, and saves the image, the 16 filters and their 16 responses side by side as
apply_filter.png in --out (the book opens two windows: the filters, the responses).
``nnxp plot filter-responses`` draws the same. ``--quick`` changes nothing (no data is read).
"""

import numpy as np

from nnxp import companion
from nnxp.backends import to_numpy
from nnxp.conv import Convolution
from nnxp.plot.filters import draw_filter_responses
from nnxp.plot.images import read_gray_png
from nnxp.plot.weights import load_trained_net


def setup(parser):
    parser.add_argument("--weights", metavar="PATH",
                        help="trained weights (default: $NNXP_BOOK_DIR/ch07/params.pkl)")
    parser.add_argument("--image", metavar="PNG",
                        help="image (default: $NNXP_BOOK_DIR/dataset/lena_gray.png)")


def main(args) -> int:
    network, _ = load_trained_net(companion.book_file("ch07/params.pkl", args.weights), ("ch07",))
    filters = to_numpy(network.params["W1"])  # (30, 1, 5, 5)

    img = read_gray_png(companion.book_file("dataset/lena_gray.png", args.image, "--image"))
    img = img.reshape(1, 1, *img.shape)

    for i in range(16):
        w = filters[i].reshape(1, *filters[i].shape).astype(np.float64)
        conv_layer = Convolution(w, np.zeros(1))  # b = 0, as the book
        out = conv_layer.forward(img)
        out = out.reshape(out.shape[2], out.shape[3])
        print(f"filter {i}: response {out.shape[0]}x{out.shape[1]}, "
              f"from {out.min():.4f} to {out.max():.4f}")

    fig = draw_filter_responses(filters, img[0, 0], 16, "lena_gray.png" if args.image is None
                                else args.image)
    companion.save(fig, "apply_filter.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
