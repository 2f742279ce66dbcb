"""The book's ch04/gradient_2d.py: the gradient of f(x0, x1) = x0² + x1² as a field of arrows
(figure 4-9). Each arrow is minus the gradient at a point of a grid: all point to the minimum
at the origin, longer the farther they start.

The gradients are nnxp.gradient.numerical_gradient's (the book's central difference, h =
1e-4), at every point of the book's grid (x0, x1 from -2 to 2.25 in steps of 0.25); the
arrows are drawn as the book's script draws them and saved as gradient_2d.png in --out (the
book's script opens a window). Before the figure's path it prints the gradients at the three
points of the book's section 4.4, (3, 4), (0, 2) and (3, 0): [6. 8.], [0. 4.], [6. 0.]
(the book's script prints nothing). ``nnxp plot gradient-field`` draws the same figure.
``--quick`` changes nothing (it takes a second already).
"""

import numpy as np

from nnxp import companion
from nnxp.gradient import numerical_gradient


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def main(args) -> int:
    for point in ([3.0, 4.0], [0.0, 2.0], [3.0, 0.0]):
        grad = numerical_gradient(function_2, np.array(point))
        print(f"numerical_gradient(function_2, {point}): {np.round(grad, 6)}")

    x0 = np.arange(-2, 2.5, 0.25)
    x1 = np.arange(-2, 2.5, 0.25)
    X, Y = np.meshgrid(x0, x1)
    X = X.flatten()
    Y = Y.flatten()
    points = np.array([X, Y]).T  # one row (x0, x1) a point
    grad = np.array([numerical_gradient(function_2, p) for p in points])

    fig, (ax,) = companion.figure()
    ax.quiver(X, Y, -grad[:, 0], -grad[:, 1], angles="xy", color="#666666")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.grid()
    companion.save(fig, "gradient_2d.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
