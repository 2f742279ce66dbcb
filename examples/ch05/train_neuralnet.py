"""The book's ch05/train_neuralnet.py: chapter 4's training loop with chapter 5's two-layer
net (784-50-10, ReLU, initial weights 0.01 * randn), gradients by backpropagation: 10,000
iterations on mini-batches of 100 training images drawn with replacement, learning rate 0.1.

Once an epoch (every 600 iterations from the first) it prints the training and test
accuracy as the book's ``print(train_acc, test_acc)`` does, on all 60,000 training and
10,000 test images: from about 0.16 up to about 0.977 and 0.969 here. nnxp
computes in float32 (the book in float64), draws weights and batches from seed 0 and
multiplies on one BLAS thread (nnxp.threads). The book's script draws no figure; nor does
this one (ch04/train_neuralnet.py draws the curves). ``--quick``: the offline subset (4,000
training, 1,000 test images), 400 iterations, an epoch being 40.
"""

import numpy as np

from nnxp import TwoLayerNet, companion
from nnxp.threads import limit_threads


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True,
                                                                one_hot_label=True)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, activation="relu",
                          seed=0)

    iters_num = 400 if args.quick else 10000
    train_size = x_train.shape[0]
    batch_size = 100
    learning_rate = 0.1
    rng = np.random.default_rng(0)

    train_loss_list = []
    train_acc_list = []
    test_acc_list = []

    iter_per_epoch = max(train_size / batch_size, 1)

    with limit_threads(1):
        for i in range(iters_num):
            batch_mask = rng.choice(train_size, batch_size)
            x_batch = x_train[batch_mask]
            t_batch = t_train[batch_mask]

            grad = network.gradient(x_batch, t_batch)

            for key in ("W1", "b1", "W2", "b2"):
                network.params[key] -= learning_rate * grad[key]

            loss = network.loss(x_batch, t_batch)
            train_loss_list.append(float(loss))

            if i % iter_per_epoch == 0:
                train_acc = network.accuracy(x_train, t_train)
                test_acc = network.accuracy(x_test, t_test)
                train_acc_list.append(train_acc)
                test_acc_list.append(test_acc)
                print(train_acc, test_acc)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
