"""The book's ch05/two_layer_net.py, its chapter-5 TwoLayerNet class: nnxp.TwoLayerNet with
activation="relu" is that class (its layers in an OrderedDict, Affine1, Relu1, Affine2, then
lastLayer, a SoftmaxWithLoss; predict, loss, accuracy, numerical_gradient and gradient with
the book's bodies), so this script builds one and exercises it.

It prints the layers in order, each parameter's shape, the scores of three MNIST test images
(predict of a batch (3, 784): shape (3, 10)) and of the first alone (predict of one image
(784,): its 10 scores, as the book's chapter 3 predicts x[i]), the loss and accuracy of the
batch, and the gradients' shapes from one backward pass. Then a parameter file: the book's
save_params and load_params write and read an nnxp model file (an .npz with the net's
config, no pickle) in --out, here two_layer_net.npz, loaded into a second net whose
scores then equal the first's. Weights come from seed 0. ``--quick`` reads the offline
subset; nothing else changes.
"""

from pathlib import Path

import numpy as np

from nnxp import TwoLayerNet, companion


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, normalize=True)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, activation="relu",
                          seed=0)
    print("layers:", " -> ".join([*network.layers, type(network.lastLayer).__name__]))
    for key, value in network.params.items():
        print(f"{key}: {tuple(value.shape)}")

    x, t = x_test[:3], t_test[:3]
    scores = network.predict(x)
    one = network.predict(x[0])
    print("predict(x[:3]).shape:", scores.shape, "| predict(x[0]).shape:", one.shape,
          "| the same scores:", bool(np.allclose(one, scores[0])))
    print("loss:", float(network.loss(x, t)), "| accuracy:", network.accuracy(x, t))
    grads = network.gradient(x, t)
    print("gradient:", ", ".join(f"{key} {tuple(g.shape)}" for key, g in grads.items()))

    path = network.save_params(Path(args.out) / "two_layer_net.npz")
    print("saved:", path)
    other = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, activation="relu",
                        seed=1)
    other.load_params(path)
    print("loaded: the same scores:", bool(np.array_equal(other.predict(x), scores)))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
