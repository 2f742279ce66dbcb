"""The book's ch06/hyperparameter_optimization.py: a random search of the learning rate and
the weight decay, scored on a validation split (figure 6-24).

The first 500 MNIST training images are shuffled and split: 20 % (100) for validation, 400
to train on. Each of 100 trials draws weight decay = 10 ** uniform(-8, -4) and lr = 10 **
uniform(-6, -2), trains MultiLayerNet(784, [100]*6, 10) by SGD (batch 100, 50 epochs) and is
scored on the validation images before training and after each epoch
(``nnxp.search.random_search``). It prints the book's line per trial (``val acc:0.78 |
lr:0.0067..., weight decay:4.3...e-07``), then the best 20 (``Best-1(val acc:0.83) | lr:...,
weight decay:...``), and draws their validation (solid) and training (dashed) accuracy per
epoch in a 5x4 grid to ``hyperparameter_optimization.png``. One seed (0) gives the same split
and trials. ``--quick``: 5 trials of 10 epochs on the offline mnist-5k subset.
"""

from nnxp import companion
from nnxp.datasets import shuffle_dataset
from nnxp.plot.search import search_figure
from nnxp.search import best, random_search


def main(args):
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True)

    # fewer training images, for speed
    x_train = x_train[:500]
    t_train = t_train[:500]

    # hold out a validation split
    validation_rate = 0.20
    validation_num = int(x_train.shape[0] * validation_rate)
    x_train, t_train = shuffle_dataset(x_train, t_train, seed=0)
    x_val = x_train[:validation_num]
    t_val = t_train[:validation_num]
    x_train = x_train[validation_num:]
    t_train = t_train[validation_num:]

    # random search of the hyperparameters ===============================
    def report(trial):
        print(f"val acc:{trial.val_acc} | lr:{trial.lr}, weight decay:{trial.weight_decay}")

    trials = random_search(x_train, t_train, x_val, t_val,
                           trials=5 if args.quick else 100, epochs=10 if args.quick else 50,
                           lr_range=(-6, -2), weight_decay_range=(-8, -4),
                           hidden_size_list=[100, 100, 100, 100, 100, 100], batch_size=100,
                           seed=0, report=report)

    # the results =========================================================
    print("=========== Hyper-Parameter Optimization Result ===========")
    graph_draw_num = 20
    for i, trial in enumerate(best(trials, graph_draw_num)):
        print(f"Best-{i + 1}(val acc:{trial.val_acc}) | {trial.key}")

    companion.save(search_figure(trials, graph_draw_num, 5), "hyperparameter_optimization.png",
                   args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
