"""The book's ch02/xor_gate.py: XOR, which no single perceptron computes (its outputs are not
linearly separable), as two layers of them: y = AND(NAND(x1, x2), OR(x1, x2)).

It prints the truth table, one line per input pair, as the book's script does. The gate is
nnxp.perceptron.XOR, built that way from nnxp.perceptron's NAND, OR and AND; ``--quick``
and ``--out`` change nothing here (there is nothing to shorten and no figure).
"""

from nnxp import companion
from nnxp.perceptron import XOR


def main(args) -> int:
    for xs in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        y = XOR(xs[0], xs[1])
        print(str(xs) + " -> " + str(y))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
