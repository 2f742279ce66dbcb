"""The book's ch06/weight_init_compare.py: MultiLayerNet(784, [100]*4, 10) with ReLU, trained
from weights of std 0.01, Xavier and He on the same MNIST batches (SGD, lr 0.01, batch 128,
2000 iterations), and their smoothed loss curves (figure 6-15).

It prints the book's lines every 100 iterations (``===========iteration:0===========``, then
``std=0.01:2.30...`` per net: the batch's loss after the update) and draws
``weight_init_compare.png``. With std 0.01 the loss stays at 2.30 (the signal vanishes in the
deep layers); He falls fastest. ``--quick``: 150 iterations on the offline 4,000 images.
"""

from nnxp import companion
from nnxp.plot.weight_init import compare_weight_init, draw_weight_init


def main(args):
    path = companion.figure_path("weight_init_compare.png", args)
    (x_train, t_train), _ = companion.load_mnist(args, normalize=True)
    max_iterations = 150 if args.quick else 2000
    weight_init_types = {"std=0.01": 0.01, "Xavier": "sigmoid", "He": "relu"}

    train_loss = compare_weight_init(x_train, t_train, max_iterations, batch_size=128, lr=0.01,
                                     inits=weight_init_types, report=print)

    print(f"figure: {draw_weight_init(train_loss, path, ylim=2.5)}")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
