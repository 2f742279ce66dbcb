"""The book's ch05/buy_apple.py: backpropagation through the computational graph of buying two
apples at 100 yen each with 10 % consumption tax (figure 5-16), with two MulLayers.

The forward pass gives the price; the backward pass, from d(price) = 1, gives how much the
price moves with the apple's price, the number of apples and the tax. It prints, as the
book's script does::

    price: 220
    dApple: 2.2
    dApple_num: 110
    dTax: 200

The layers are nnxp.layers.MulLayer. ``--quick`` and ``--out`` change nothing here.
"""

from nnxp import companion
from nnxp.layers import MulLayer


def main(args) -> int:
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple_layer = MulLayer()
    mul_tax_layer = MulLayer()

    apple_price = mul_apple_layer.forward(apple, apple_num)  # forward
    price = mul_tax_layer.forward(apple_price, tax)

    dprice = 1  # backward, in the reverse order
    dapple_price, dtax = mul_tax_layer.backward(dprice)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    print("price:", int(price))
    print("dApple:", dapple)
    print("dApple_num:", int(dapple_num))
    print("dTax:", dtax)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
