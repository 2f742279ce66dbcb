"""The book's ch03/sig_step_compare.py: the sigmoid and the step function on one plot
(figure 3-8). Both go from 0 to 1, the step at once at x = 0, the sigmoid smoothly.

It draws nnxp.functions.sigmoid (solid) and step_function (dashed) over x = -5.0, -4.9, ...,
4.9 with y from -0.1 to 1.1, as the book's script does, and saves sig_step_compare.png in
--out (the book's script opens a window); it prints the figure's path.
``nnxp plot sigmoid-step`` draws the same. ``--quick`` changes nothing (it takes a second
already).
"""

import numpy as np

from nnxp import companion
from nnxp.functions import sigmoid, step_function


def main(args) -> int:
    x = np.arange(-5.0, 5.0, 0.1)
    y1 = sigmoid(x)
    y2 = step_function(x)

    fig, (ax,) = companion.figure()
    ax.plot(x, y1)
    ax.plot(x, y2, "k--")
    ax.set_ylim(-0.1, 1.1)  # the range of the y axis
    companion.save(fig, "sig_step_compare.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
