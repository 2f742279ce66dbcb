"""The book's ch03/sigmoid.py: the sigmoid function, h(x) = 1 / (1 + exp(-x)) (figure 3-7).

It draws nnxp.functions.sigmoid over x = -5.0, -4.9, ..., 4.9 with y from -0.1 to 1.1, as
the book's script does, and saves sigmoid.png in --out (the book's script opens a window
instead); it prints the figure's path. ``--quick`` changes nothing (it takes a second
already).
"""

import numpy as np

from nnxp import companion
from nnxp.functions import sigmoid


def main(args) -> int:
    x = np.arange(-5.0, 5.0, 0.1)
    y = sigmoid(x)
    fig, (ax,) = companion.figure()
    ax.plot(x, y)
    ax.set_ylim(-0.1, 1.1)
    companion.save(fig, "sigmoid.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
