"""The book's ch06/weight_init_activation_histogram.py: 1000 random inputs through 5 layers of
100 nodes, and a histogram of each layer's activations (figures 6-10, 6-11, 6-13 and 6-14).

The book edits its script to try one weight scale at a time; this one draws all four as rows
of one figure, std 1, std 0.01, Xavier (sqrt(1/n)) and He (sqrt(2/n)), a column per layer,
with the same input and the same random draws in every row. It prints the standard deviation
of each layer's activations per scale and draws ``activation_histograms_ACTIVATION.png``.
``--activation`` picks sigmoid (the book's default), tanh or relu, the book's three; the run
takes a second, so ``--quick`` changes nothing.
"""

import numpy as np

from nnxp import companion
from nnxp.plot.weight_init import (
    HISTOGRAM_ACTIVATIONS,
    activation_histograms,
    draw_activation_histograms,
    layer_activations,
)


def setup(parser):
    parser.add_argument("--activation", choices=list(HISTOGRAM_ACTIVATIONS), default="sigmoid",
                        help="the hidden layers' activation (default: sigmoid)")


def main(args):
    path = companion.figure_path(f"activation_histograms_{args.activation}.png", args)
    activations = layer_activations(args.activation, samples=1000, node_num=100,
                                    hidden_layer_size=5)
    notes = {}
    for scale, layers in activations.items():
        stds = [np.std(z) for z in layers]
        print(f"{scale}: std of each layer's activations", " ".join(f"{s:.3g}" for s in stds))
        notes[scale] = [f"std {s:.2g}" for s in stds]

    counts, edges = activation_histograms(activations, args.activation, bins=30)
    print(f"figure: {draw_activation_histograms(counts, edges, path, args.activation, notes)}")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
