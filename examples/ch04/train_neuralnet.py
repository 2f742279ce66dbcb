"""The book's ch04/train_neuralnet.py: mini-batch gradient descent of chapter 4's two-layer
net (784-50-10, sigmoid, initial weights 0.01 * randn) on MNIST, as the book's loop: 10,000
iterations, each on 100 training images drawn with replacement, learning rate 0.1, the
gradient by backpropagation (``network.gradient``, as the book's script; the numerical
gradient of its listing is ``network.numerical_gradient``, fast in nnxp but still the slower).

Once an epoch (every 600 iterations from the first) it prints the book's line "train acc,
test acc | TRAIN, TEST" (all 60,000 training and 10,000 test images), about 0.95 for both
at the end, and saves train_neuralnet.png: accuracy per epoch (the book's figure 4-12)
beside the loss of every iteration (figure 4-11). nnxp computes in float32 (the book in
float64), draws weights and batches from seed 0 and multiplies on one BLAS thread
(nnxp.threads; two threads are many times slower for products this small on a busy
machine). ``--quick``: the offline subset (4,000 training, 1,000 test images), 400
iterations, an epoch being 40.
"""

import numpy as np

from nnxp import TwoLayerNet, companion
from nnxp.threads import limit_threads


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True,
                                                                one_hot_label=True)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, seed=0)

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
                print("train acc, test acc | " + str(train_acc) + ", " + str(test_acc))

    fig, (ax, loss_ax) = companion.figure(2, 12.8, 4.8)
    x = np.arange(len(train_acc_list))
    ax.plot(x, train_acc_list, label="train acc")
    ax.plot(x, test_acc_list, label="test acc", linestyle="--")
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.0)
    ax.legend(loc="lower right")
    loss_ax.plot(np.arange(iters_num), train_loss_list)
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("loss")
    companion.save(fig, "train_neuralnet.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
