"""The book's ch03/relu.py: the ReLU function, h(x) = x for x > 0 and 0 otherwise (figure 3-9).

It draws nnxp.functions.relu over x = -5.0, -4.9, ..., 4.9 with y from -1.0 to 5.5, as the
book's script does, and saves relu.png in --out (the book's script opens a window instead);
it prints the figure's path. ``--quick`` changes nothing (it takes a second already).
"""

import numpy as np

from nnxp import companion
from nnxp.functions import relu


def main(args) -> int:
    x = np.arange(-5.0, 5.0, 0.1)
    y = relu(x)
    fig, (ax,) = companion.figure()
    ax.plot(x, y)
    ax.set_ylim(-1.0, 5.5)
    companion.save(fig, "relu.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
