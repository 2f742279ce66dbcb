"""The book's ch05/buy_apple_orange.py: backpropagation through the computational graph of
buying two apples (100 yen each) and three oranges (150 yen each) with 10 % tax (figure 5-17),
with three MulLayers and an AddLayer.

The forward pass gives the price; the backward pass, from d(price) = 1, gives the price's
derivative by every input. It prints, as the book's script does (dOrange is 1.1 * 3 in
floating point, which Python prints as 3.3000000000000003; the book's text rounds it)::

    price: 715
    dApple: 2.2
    dApple_num: 110
    dOrange: 3.3000000000000003
    dOrange_num: 165
    dTax: 650

The layers are nnxp.layers.MulLayer and AddLayer. ``--quick`` and ``--out`` change nothing.
"""

from nnxp import companion
from nnxp.layers import AddLayer, MulLayer


def main(args) -> int:
    apple, apple_num = 100, 2
    orange, orange_num = 150, 3
    tax = 1.1

    mul_apple_layer = MulLayer()
    mul_orange_layer = MulLayer()
    add_apple_orange_layer = AddLayer()
    mul_tax_layer = MulLayer()

    # forward: (1) apples, (2) oranges, (3) their sum, (4) the tax
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)

    # backward: (4), (3), (2), (1)
    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    print("price:", int(price))
    print("dApple:", dapple)
    print("dApple_num:", int(dapple_num))
    print("dOrange:", dorange)
    print("dOrange_num:", int(dorange_num))
    print("dTax:", dtax)
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
