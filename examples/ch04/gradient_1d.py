"""The book's ch04/gradient_1d.py: f(x) = 0.01x² + 0.1x and its tangent lines, whose slopes
are the numerical derivative (figure 4-7).

It prints numerical_diff(function_1, x) at x = 5 and x = 10, the book's central difference
with h = 1e-4: 0.1999999999990898 and 0.2999999999986347, where the true derivatives are 0.2
and 0.3 (the book's script prints the first, its text both), then draws f on [0, 20) with the
tangent at each point and saves gradient_1d.png in --out (the book's script opens a window
with the tangent at 5). ``nnxp plot tangent`` draws the same. ``--quick`` changes nothing (it
takes a second already).
"""

import numpy as np

from nnxp import companion
from nnxp.gradient import numerical_diff
from nnxp.plot.functions import tangent_line


def function_1(x):
    return 0.01 * x**2 + 0.1 * x


def main(args) -> int:
    x = np.arange(0.0, 20.0, 0.1)
    y = function_1(x)

    fig, (ax,) = companion.figure()
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.plot(x, y)
    for x0 in (5, 10):
        print(numerical_diff(function_1, x0))
        tf = tangent_line(function_1, x0)
        ax.plot(x, tf(x), "--", label=f"tangent at x = {x0}")
    ax.legend()
    companion.save(fig, "gradient_1d.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
