"""The book's ch06/batch_norm_test.py: MultiLayerNetExtend(784, [100]*5, 10) trained with and
without batch normalization on 1000 MNIST training images, for 16 initial weight scales from
1 down to 0.0001 (SGD, lr 0.01, batch 100, 20 epochs), and the training accuracy per epoch in
a 4x4 grid (figure 6-18).

It prints the book's lines (``============== 1/16 ==============`` per scale, then
``epoch:0 | 0.097 - 0.117`` per epoch: accuracy without - with batch norm) and draws
``batch_norm_test.png``. Both nets of a scale start from the same random draws and see the
same batches (the book draws them apart). ``--quick``: 4 scales, 500 images, 10 epochs.
"""

import numpy as np

from nnxp import companion
from nnxp.plot.batchnorm import compare_batchnorm, draw_batchnorm


def main(args):
    path = companion.figure_path("batch_norm_test.png", args)
    (x_train, t_train), _ = companion.load_mnist(args, normalize=True)
    train_size = 500 if args.quick else 1000  # the book keeps the first 1000
    x_train, t_train = x_train[:train_size], t_train[:train_size]
    weight_scale_list = np.logspace(0, -4, num=4 if args.quick else 16)
    max_epochs = 10 if args.quick else 20

    runs = compare_batchnorm(x_train, t_train, weight_scale_list, max_epochs, batch_size=100,
                             lr=0.01, report=print)

    print(f"figure: {draw_batchnorm(runs, path)}")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
