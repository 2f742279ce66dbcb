"""The book's ch06/overfit_weight_decay.py: weight decay against overfitting (figure 6-21).

A deep net, MultiLayerNet(784, [100]*6, 10), learns only the first 300 MNIST training
images, by SGD (lr 0.01, batches of 100 drawn with replacement), with weight decay lambda 0.1.
As in the book, train and test accuracy are measured after the first update and then every
epoch (3 updates), 201 times in all. It prints the book's line for each (``epoch:0, train
acc:0.11, test acc:0.1003``) and draws the two curves to ``overfit_weight_decay.png``.
``--weight-decay 0`` is the book's run without it (figure 6-20: train accuracy reaches 1.0,
test accuracy stays near 0.75). ``--quick``: 21 epochs on the offline mnist-5k subset.
"""

import numpy as np

from nnxp import MultiLayerNet, companion
from nnxp.optim import SGD
from nnxp.plot.overfit import overfit_figure


def setup(parser):
    parser.add_argument("--weight-decay", type=float, default=0.1, metavar="LAMBDA",
                        help="weight decay lambda (default: 0.1, the book's; 0: none)")


def main(args):
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True)

    # fewer training images, to make the net overfit
    x_train = x_train[:300]
    t_train = t_train[:300]

    weight_decay_lambda = args.weight_decay
    network = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100],
                            output_size=10, weight_decay_lambda=weight_decay_lambda, seed=0)
    optimizer = SGD(lr=0.01)

    max_epochs = 21 if args.quick else 201
    train_size = x_train.shape[0]
    batch_size = 100

    train_acc_list = []
    test_acc_list = []

    iter_per_epoch = max(train_size / batch_size, 1)
    epoch_cnt = 0
    rng = np.random.default_rng(0)

    with companion.cpu_threads(1):
        for i in range(1000000000):
            batch_mask = rng.choice(train_size, batch_size)
            x_batch = x_train[batch_mask]
            t_batch = t_train[batch_mask]

            grads = network.gradient(x_batch, t_batch)
            optimizer.update(network.params, grads)

            if i % iter_per_epoch == 0:
                train_acc = network.accuracy(x_train, t_train)
                test_acc = network.accuracy(x_test, t_test)
                train_acc_list.append(train_acc)
                test_acc_list.append(test_acc)

                print(f"epoch:{epoch_cnt}, train acc:{train_acc}, test acc:{test_acc}")

                epoch_cnt += 1
                if epoch_cnt >= max_epochs:
                    break

    title = f"300 training images, weight decay {weight_decay_lambda:g}"
    companion.save(overfit_figure(train_acc_list, test_acc_list, title),
                   "overfit_weight_decay.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
