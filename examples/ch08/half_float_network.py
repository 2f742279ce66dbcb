"""The book's ch08/half_float_network.py: DeepConvNet with the book's trained weights,
deep_convnet_params.pkl, scored on MNIST's 10,000 test images in float64 and again in
float16 (half the memory per number; GPUs compute in it faster), to show that inference loses
nothing at half precision. It prints the book's lines, ``caluculate accuracy (float64) ... ``
and the accuracy, then the same for float16: 0.9935 both for the book's 2016 weights (the
book's figures), 0.9797 both for the weights retrained in 2022 that the book's repository
ships now.

The weights are ``--weights PATH`` or $NNXP_BOOK_DIR/ch08/deep_convnet_params.pkl, read by
nnxp's restricted unpickler. Where the book rounds its float64 arrays to float16 values in
place and still computes in float64, nnxp builds the net in float16 (``DeepConvNet(dtype=
"float16")``: load_params and predict cast the weights and the images) and computes in it;
NumPy's float16 products sum in float32, as GPUs' do. ``nnxp eval --dtype float16`` does
the same for any model file. ``--quick``: the 1,000 test images of the offline subset.
"""

from nnxp import companion
from nnxp.models import DeepConvNet
from nnxp.threads import limit_threads


def setup(parser):
    parser.add_argument("--weights", metavar="PATH",
                        help="the book's deep_convnet_params.pkl (default: "
                        "$NNXP_BOOK_DIR/ch08/deep_convnet_params.pkl)")


def main(args):
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, flatten=False)
    weights = companion.book_file("ch08/deep_convnet_params.pkl", args.weights)

    network = DeepConvNet(dtype="float64")
    network.load_params(weights)

    sampled = 10000  # to make it faster
    x_test = x_test[:sampled]
    t_test = t_test[:sampled]

    print("caluculate accuracy (float64) ... ")
    with limit_threads(1):  # one BLAS thread is the fastest for these small products
        print(network.accuracy(x_test, t_test))

    # the same net in float16: its weights and the images cast to float16
    network = DeepConvNet(dtype="float16")
    network.load_params(weights)

    print("caluculate accuracy (float16) ... ")
    with limit_threads(1):
        print(network.accuracy(x_test, t_test))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
