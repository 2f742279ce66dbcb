"""The book's ch08/train_deepnet.py: DeepConvNet trained on MNIST by the Trainer for 20 epochs
of 600 batches of 100 with Adam (lr 0.001), accuracy measured on 1,000 train and 1,000 test
images after each epoch: the net of over 99% (the weights the book shipped in 2016 score
0.9935).

It prints the book's Trainer lines (``=== epoch:1, train acc:0.1, test acc:0.1 ===`` each
evaluation, then ``=============== Final Test Accuracy ===============`` and ``test acc:``
on all 10,000 test images), saves the trained parameters as an nnxp model file
``deep_convnet_params.npz`` in --out (the book pickles ``deep_convnet_params.pkl``;
half_float_network.py --weights and ``nnxp eval --weights`` read it) and prints ``Saved
Network Parameters!``. It is ``nnxp train --model deep-conv --optimizer adam --lr 0.001
--epochs 20 --eval-samples 1000 --seed 0 --threads 1``, which reached 0.9946 in 12 minutes on
this 2-core machine (benchmarks/results/ch8_deep_conv_cpu.json). Unlike the book: the loss of
each of the 12,000 updates is not printed; each epoch visits every training image once in a
shuffled order (the book draws batches with replacement); the net computes in float32 (the
book in NumPy's float64). ``--quick``: 1 epoch on the offline subset (4,000 train, 1,000
test images), measured on 200 images after it.
"""

from pathlib import Path

from nnxp import Trainer, companion
from nnxp.io import check_writable
from nnxp.models import DeepConvNet
from nnxp.train import Callback


class EpochLine(Callback):
    """The book's Trainer line after each evaluation."""

    def on_epoch_end(self, trainer, record):
        print(f"=== epoch:{record['epoch']}, train acc:{record['train_acc']}, "
              f"test acc:{record['test_acc']} ===", flush=True)


def main(args):
    params_file = check_writable(Path(args.out) / "deep_convnet_params.npz")  # now, not after training
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, flatten=False)

    network = DeepConvNet(seed=0)
    trainer = Trainer(network, x_train, t_train, x_test, t_test,
                      epochs=1 if args.quick else 20, mini_batch_size=100,
                      optimizer="Adam", optimizer_param={"lr": 0.001},
                      evaluate_sample_num_per_epoch=200 if args.quick else 1000,
                      verbose=False, seed=0,
                      eval_batch_size=1000, threads=1, callbacks=[EpochLine()])
    trainer.train()
    print("=============== Final Test Accuracy ===============")
    print("test acc:" + str(trainer.final["test_acc"]))

    # save the parameters
    network.save_params(params_file)
    print("Saved Network Parameters!")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
