"""The book's ch06/optimizer_compare_naive.py: SGD (lr 0.95), Momentum (lr 0.1), AdaGrad
(lr 1.5) and Adam (lr 0.3) each take 30 steps towards the minimum of f(x, y) = x²/20 + y²
from (-7, 2), updating a dict of two Python floats, params = {"x": -7.0, "y": 2.0}, with
gradients of floats (x / 10, 2y), as the book does: nnxp's optimizers update numbers as
well as arrays.

It saves the book's figure 6-8, optimizer_compare_naive.png (four panels: each path over
the contours of f), drawn by nnxp.plot.paths (``nnxp plot optimizer-paths`` draws the
same), and prints where each optimizer stands after its 30 updates (the book's script
prints nothing): SGD zigzags across the valley, Momentum rolls past the minimum and back,
AdaGrad's steps shrink fastest and it ends closest (f = 0.0007), Adam curves in and is
still on its way (f = 0.10). ``--quick`` changes nothing (it takes a second).
"""

from pathlib import Path

from nnxp import companion
from nnxp.optim import get_optimizer
from nnxp.plot.paths import NAIVE_OPTIMIZERS, STEPS, df, f, plot_optimizer_paths


def main(args) -> int:
    for title, (name, param) in NAIVE_OPTIMIZERS.items():
        optimizer = get_optimizer(name, **param)
        params = {"x": -7.0, "y": 2.0}
        for _ in range(STEPS):
            grads = {}
            grads["x"], grads["y"] = df(params["x"], params["y"])
            optimizer.update(params, grads)
        print(f"{title} (lr {param['lr']}): x = {params['x']:.4f}, y = {params['y']:.4f}, "
              f"f = {f(params['x'], params['y']):.4f} after {STEPS} updates")
    path = plot_optimizer_paths(Path(args.out) / "optimizer_compare_naive.png")
    print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
