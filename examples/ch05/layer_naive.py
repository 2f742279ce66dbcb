"""The book's ch05/layer_naive.py, which defines the multiplication and addition layers of the
computational graph; nnxp has them as nnxp.layers.MulLayer and AddLayer, so this script
builds and exercises them instead.

A MulLayer's forward(x, y) returns x * y and keeps x and y; its backward(dout) returns
(dout * y, dout * x), the upstream gradient times the other input. An AddLayer's forward
returns x + y and its backward passes dout to both inputs unchanged. It prints each
layer's forward and backward on the apple numbers of buy_apple.py, then a MulLayer on NumPy
arrays (elementwise: the same layers serve any Array API library)::

    MulLayer.forward(100, 2): 200
    MulLayer.backward(1): (2, 100)
    AddLayer.forward(200, 450): 650
    AddLayer.backward(1): (1, 1)
    MulLayer.forward([100. 150.], [2. 3.]): [200. 450.]
    MulLayer.backward([1. 1.]): ([2. 3.], [100. 150.])

``--quick`` and ``--out`` change nothing here.
"""

import numpy as np

from nnxp import companion
from nnxp.layers import AddLayer, MulLayer


def main(args) -> int:
    mul = MulLayer()
    print("MulLayer.forward(100, 2):", mul.forward(100, 2))
    print("MulLayer.backward(1):", mul.backward(1))

    add = AddLayer()
    print("AddLayer.forward(200, 450):", add.forward(200, 450))
    print("AddLayer.backward(1):", add.backward(1))

    x, y, dout = np.array([100.0, 150.0]), np.array([2.0, 3.0]), np.ones(2)
    print(f"MulLayer.forward({x}, {y}): {mul.forward(x, y)}")
    dx, dy = mul.backward(dout)
    print(f"MulLayer.backward({dout}): ({dx}, {dy})")
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
