"""The book's logic gates: truth tables of AND, NAND, OR and the two-layer XOR."""

import pytest

from nnxp.perceptron import AND, NAND, OR, XOR

pytestmark = pytest.mark.host

INPUTS = [(0, 0), (1, 0), (0, 1), (1, 1)]


@pytest.mark.parametrize(
    ("gate", "table"),
    [(AND, [0, 0, 0, 1]), (NAND, [1, 1, 1, 0]), (OR, [0, 1, 1, 1]), (XOR, [0, 1, 1, 0])],
    ids=["AND", "NAND", "OR", "XOR"],
)
def test_truth_table(gate, table):
    assert [gate(x1, x2) for x1, x2 in INPUTS] == table
