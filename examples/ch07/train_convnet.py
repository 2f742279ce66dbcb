"""The book's ch07/train_convnet.py: SimpleConvNet (conv 30 5x5 - relu - pool - affine 100 -
relu - affine 10, weights of std 0.01) trained on MNIST by the Trainer for 20 epochs of 600
batches of 100 with Adam (lr 0.001), accuracy measured on 1,000 train and 1,000 test images
after each epoch. The book's run reaches about 0.989 test accuracy; this script's full run
printed ``test acc:0.9894`` in 11.5 minutes on this 2-core machine, busy with other work
(``nnxp train --model simple-conv`` ran the same training in 3.2 minutes on a quieter one:
benchmarks/results/ch7_simple_conv_cpu.json).

It prints the book's Trainer lines (``=== epoch:1, train acc:0.1, test acc:0.1 ===`` each
evaluation, then ``=============== Final Test Accuracy ===============`` and ``test acc:``
on all 10,000 test images), saves the trained parameters as an nnxp model file
``params.npz`` in --out (the book pickles ``params.pkl``; ``nnxp eval --weights params.npz``
scores it) and prints ``Saved Network Parameters!``, then draws ``train_convnet.png``.
Unlike the book: the loss of each of the 12,000 updates is not printed; each epoch visits
every training image once in a shuffled order (the book draws batches with replacement);
the net computes in float32 (the book in NumPy's float64). ``--quick``: 2 epochs on the
offline subset (4,000 train, 1,000 test images), as the book's own comment suggests when
training takes too long.
"""

from pathlib import Path

import numpy as np

from nnxp import Trainer, companion
from nnxp.io import check_writable
from nnxp.models import SimpleConvNet
from nnxp.train import Callback


class EpochLine(Callback):
    """The book's Trainer line after each evaluation."""

    def on_epoch_end(self, trainer, record):
        print(f"=== epoch:{record['epoch']}, train acc:{record['train_acc']}, "
              f"test acc:{record['test_acc']} ===", flush=True)


def main(args):
    params_file = check_writable(Path(args.out) / "params.npz")  # now, not after training
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, flatten=False)

    max_epochs = 2 if args.quick else 20

    network = SimpleConvNet(input_dim=(1, 28, 28),
                            conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                            hidden_size=100, output_size=10, weight_init_std=0.01, seed=0)

    trainer = Trainer(network, x_train, t_train, x_test, t_test,
                      epochs=max_epochs, mini_batch_size=100,
                      optimizer="Adam", optimizer_param={"lr": 0.001},
                      evaluate_sample_num_per_epoch=1000, verbose=False, seed=0,
                      eval_batch_size=1000, threads=1, callbacks=[EpochLine()])
    trainer.train()
    print("=============== Final Test Accuracy ===============")
    print("test acc:" + str(trainer.final["test_acc"]))

    # save the parameters
    network.save_params(params_file)
    print("Saved Network Parameters!")

    # draw the graph
    fig, (ax,) = companion.figure()
    x = np.arange(len(trainer.train_acc_list))
    ax.plot(x, trainer.train_acc_list, marker="o", label="train", markevery=2)
    ax.plot(x, trainer.test_acc_list, marker="s", label="test", markevery=2)
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.0)
    ax.legend(loc="lower right")
    companion.save(fig, "train_convnet.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
