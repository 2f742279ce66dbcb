"""The book's ch03/step_function.py: the step function, h(x) = 1 for x > 0 and 0 otherwise,
the perceptron's activation (figure 3-6).

It draws nnxp.functions.step_function over x = -5.0, -4.9, ..., 4.9 with y from -0.1 to
1.1, as the book's script does, and saves step_function.png in --out (the book's script
opens a window instead); it prints the figure's path. nnxp's step function returns x's
dtype (the book's returns int): the curve is the same. ``--quick`` changes nothing.
"""

import numpy as np

from nnxp import companion
from nnxp.functions import step_function


def main(args) -> int:
    x = np.arange(-5.0, 5.0, 0.1)
    y = step_function(x)
    fig, (ax,) = companion.figure()
    ax.plot(x, y)
    ax.set_ylim(-0.1, 1.1)
    companion.save(fig, "step_function.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
