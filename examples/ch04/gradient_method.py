"""The book's ch04/gradient_method.py: gradient descent on f(x0, x1) = x0² + x1² from
(-3, 4) with learning rate 0.1, 20 steps, each step x -= lr * (numerical gradient of f at x),
drawn as the book's figure 4-10 (the points approach the minimum at the origin).

The gradient is nnxp.gradient.numerical_gradient (the book's central difference, h = 1e-4).
The book's script only draws; this one also prints the last point, then the three results of
the book's section 4.4.1, nnxp.gradient.gradient_descent for 100 steps from (-3, 4) with a
good, a too large and a too small learning rate ("lr=0.1: [-6.11110793e-10
8.14814391e-10]", "lr=10.0: [...]" diverging, "lr=1e-10: [-2.99999994  3.99999992]"), and
saves gradient_method.png in --out. ``--quick`` changes nothing (it takes a second).
"""

import numpy as np

from nnxp import companion
from nnxp.gradient import gradient_descent, numerical_gradient


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def descent(f, init_x, lr=0.01, step_num=100):
    """gradient descent that also returns every point it stood on, as the book's script."""
    x = init_x.copy()
    x_history = []
    for _ in range(step_num):
        x_history.append(x.copy())
        x -= lr * numerical_gradient(f, x)
    return x, np.array(x_history)


def main(args) -> int:
    init_x = np.array([-3.0, 4.0])
    lr = 0.1
    step_num = 20
    x, x_history = descent(function_2, init_x, lr=lr, step_num=step_num)
    print(f"x after {step_num} steps of lr {lr}: {x}")
    for rate in (0.1, 10.0, 1e-10):
        print(f"lr={rate}: {gradient_descent(function_2, init_x, lr=rate, step_num=100)}")

    fig, (ax,) = companion.figure()
    ax.plot([-5, 5], [0, 0], "--b")
    ax.plot([0, 0], [-5, 5], "--b")
    ax.plot(x_history[:, 0], x_history[:, 1], "o")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-4.5, 4.5)
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    companion.save(fig, "gradient_method.png", args)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
