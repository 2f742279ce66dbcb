"""The book's ch06/optimizer_compare_mnist.py: MultiLayerNet(784, [100]*4, 10) trained with
SGD, Momentum, AdaGrad and Adam (the book's default hyperparameters) on the same MNIST
batches from the same initial weights (batch 128, 2000 iterations), and their smoothed loss
curves (figure 6-9).

It prints the book's lines every 100 iterations (``===========iteration:0===========``, then
``SGD:2.30...`` per optimizer: the batch's loss after the update) and draws
``optimizer_compare_mnist.png``. ``--quick``: 150 iterations on the offline 4,000 images.
"""

from nnxp import companion
from nnxp.plot.optimizers import compare_optimizers, plot_optimizer_comparison
from nnxp.threads import limit_threads


def main(args):
    path = companion.figure_path("optimizer_compare_mnist.png", args)
    (x_train, t_train), _ = companion.load_mnist(args, normalize=True)
    max_iterations = 150 if args.quick else 2000

    with limit_threads(1):  # one BLAS thread is the fastest for these small products
        train_loss = compare_optimizers(x_train, t_train, ["sgd", "momentum", "adagrad", "adam"],
                                        max_iterations, batch_size=128, report=print)

    print(f"figure: {plot_optimizer_comparison(train_loss, path, ylim=1.0)}")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
