"""The book's ch06/overfit_dropout.py: dropout against overfitting (figure 6-23).

MultiLayerNetExtend(784, [100]*6, 10) with dropout of ratio 0.2 after each hidden layer learns
only the first 300 MNIST training images with the Trainer (SGD, lr 0.01, batches of 100 drawn
with replacement, as the book's Trainer draws them), scored before training and after each of
300 epochs of 3 updates: the book's 301 evaluations (its Trainer scores at its first update
and numbers them 1 to 301; nnxp's scores the untrained net as epoch 0, then after each
epoch's last update). It prints the book's Trainer lines (``=== epoch:0, train acc:0.07,
test acc:0.08 ===``, then the final test accuracy) and draws train and test accuracy per epoch
to ``overfit_dropout.png``. The book's Trainer also prints every update's loss (903 lines):
left out here. ``--dropout 0`` is the run without dropout (figure 6-23, left). ``--quick``:
20 epochs on the offline mnist-5k subset.
"""

from nnxp import Trainer, companion
from nnxp.models import MultiLayerNetExtend
from nnxp.plot.overfit import overfit_figure
from nnxp.train import Callback


def setup(parser):
    parser.add_argument("--dropout", type=float, default=0.2, metavar="RATIO",
                        help="dropout ratio (default: 0.2, the book's; 0: no dropout)")


class EpochLine(Callback):
    """The book's Trainer line after each epoch's evaluation."""

    def on_epoch_end(self, trainer, record):
        print(f"=== epoch:{record['epoch']}, train acc:{record['train_acc']}, "
              f"test acc:{record['test_acc']} ===")


def main(args):
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True)

    # fewer training images, to make the net overfit
    x_train = x_train[:300]
    t_train = t_train[:300]

    use_dropout = args.dropout > 0  # False: the run without dropout
    dropout_ratio = args.dropout

    network = MultiLayerNetExtend(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100],
                                  output_size=10, use_dropout=use_dropout,
                                  dropout_ratio=dropout_ratio, seed=0)
    trainer = Trainer(network, x_train, t_train, x_test, t_test,
                      epochs=20 if args.quick else 300, mini_batch_size=100,
                      optimizer="sgd", optimizer_param={"lr": 0.01}, verbose=False,
                      sampling="replace", seed=0, callbacks=[EpochLine()])
    trainer.train()
    print("=============== Final Test Accuracy ===============")
    print(f"test acc:{trainer.final['test_acc']}")

    train_acc_list, test_acc_list = trainer.train_acc_list, trainer.test_acc_list
    title = f"300 training images, dropout {dropout_ratio:g}" if use_dropout else \
        "300 training images, no dropout"
    companion.save(overfit_figure(train_acc_list, test_acc_list, title), "overfit_dropout.png",
                   args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__, setup)
