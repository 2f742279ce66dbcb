"""MNIST for the book's networks: local files, a checked download, a processed cache, and
an offline 5,000-image subset; parsed without trusting headers, never with pickle.

- :func:`load_mnist`: the book's function, NumPy arrays (see its docstring for dtypes).
- :func:`load_dataset` and :data:`DATASETS`: data by name for the training command,
  ``"auto"`` falling back to ``"mnist-5k"`` with a warning when full MNIST cannot be had.
- :func:`read_idx` / :func:`parse_idx`: the IDX parser.
- :func:`take`, :func:`shuffle_dataset`, :func:`split_validation`, :func:`select_splits`:
  smaller training sets and validation splits, as the book's chapter 6 makes them.

Environment: ``NNXP_DATA_DIR`` (a folder holding the four MNIST files), ``NNXP_CACHE_DIR``
(instead of the platform's cache folder), ``NNXP_MNIST_MIRRORS`` (comma-separated base URLs).
"""

from nnxp.datasets.choose import DATASETS, load_dataset
from nnxp.datasets.idx import parse_idx, read_idx
from nnxp.datasets.mnist import load_mnist
from nnxp.datasets.split import select_splits, shuffle_dataset, split_validation, take
from nnxp.datasets.subset import load_mnist_5k

__all__ = ["DATASETS", "load_dataset", "load_mnist", "load_mnist_5k", "parse_idx", "read_idx",
           "select_splits", "shuffle_dataset", "split_validation", "take"]
