"""MNIST for the book's networks, parsed without trusting headers, never with pickle.

- :func:`read_idx` / :func:`parse_idx`: the IDX parser.
"""

from nnxp.datasets.idx import parse_idx, read_idx

__all__ = ["parse_idx", "read_idx"]
