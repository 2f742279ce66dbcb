"""The book's ch02/nand_gate.py: the NAND gate as one perceptron, y = 1 when
(-0.5)*x1 + (-0.5)*x2 + 0.7 > 0 and 0 otherwise, which holds for every input but (1, 1).

It prints the gate's truth table, one line per input pair, as the book's script does
(``(0, 0) -> ...``). The gate is nnxp.perceptron.NAND; ``--quick`` and ``--out`` change
nothing here (there is nothing to shorten and no figure).
"""

from nnxp import companion
from nnxp.perceptron import NAND


def main(args) -> int:
    for xs in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        y = NAND(xs[0], xs[1])
        print(str(xs) + " -> " + str(y))
    return 0


if __name__ == "__main__":
    companion.run(main, __doc__)
