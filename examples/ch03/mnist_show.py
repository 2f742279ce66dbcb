"""The book's ch03/mnist_show.py: the first MNIST training image and its label.

It loads MNIST as the book does (``flatten=True, normalize=False``: rows of 784 pixels from 0
to 255), prints the first training image's label (5), its shape (784,) and, reshaped to the
image it is, (28, 28), and saves that image as mnist_show.png in --out, titled by its label
(the book shows it in a window through PIL). ``nnxp plot mnist-samples`` draws the first 20
training images with their labels. ``--quick``: the offline subset, whose first training
image is a 4.
"""

from nnxp import companion


def main(args) -> int:
    (x_train, t_train), (x_test, t_test) = companion.load_mnist(args, flatten=True,
                                                                normalize=False)
    img = x_train[0]
    label = t_train[0]
    print(label)  # 5

    print(img.shape)  # (784,)
    img = img.reshape(28, 28)  # back to the image's own shape
    print(img.shape)  # (28, 28)

    fig, (ax,) = companion.figure(1, 4.0, 4.3)
    ax.imshow(img, cmap="gray")  # white on black, as PIL shows it
    ax.set_title(f"label {label}")
    ax.set_xticks([])
    ax.set_yticks([])
    companion.save(fig, "mnist_show.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
