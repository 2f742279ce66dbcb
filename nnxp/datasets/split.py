"""Smaller sets and validation splits, as the book's chapter-6 scripts make them.

- :func:`take`: the first ``n`` samples (the book's ``x_train[:300]``, to make a net
  overfit, and ``x_train[:500]`` to make a hyperparameter search fast);
- :func:`shuffle_dataset`: the book's ``common/util.py`` function, with a seed;
- :func:`split_validation`: shuffle, then the first ``int(n * fraction)`` samples are the
  validation set and the rest the training set (the book's ``hyperparameter_optimization.py``);
- :func:`select_splits`: all three at once, as ``nnxp train`` and ``nnxp search`` use them.

They take and return host NumPy arrays (what :func:`~nnxp.datasets.load_mnist` gives) and
never modify their inputs; shuffles draw from ``numpy.random.default_rng(seed)``, so one
seed gives the same split on every machine. Arguments are checked before any array is copied:
a bad size or fraction is one :class:`~nnxp.errors.NnxpError` line.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from nnxp.errors import NnxpError

Pair = tuple[np.ndarray, np.ndarray]


def _arrays(x: Any, t: Any) -> Pair:
    """``x`` and ``t`` as host NumPy arrays of one sample per row, as many samples each."""
    try:
        x, t = np.asarray(x), np.asarray(t)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise NnxpError(f"the data must be host arrays (NumPy, as load_mnist returns them): "
                        f"{' '.join(str(exc).split())}") from None
    if x.ndim < 1 or t.ndim < 1:
        raise NnxpError(f"the data must have one sample per row, got inputs of shape {x.shape} "
                        f"and labels of shape {t.shape}")
    if x.shape[0] != t.shape[0]:
        raise NnxpError(f"{x.shape[0]} inputs but {t.shape[0]} labels; pass one label per input")
    return x, t


def check_seed(seed: Any) -> int | None:
    """None or an integer >= 0."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise NnxpError(f"seed must be an integer >= 0 or None, got {seed!r}")
    return int(seed)


def check_size(n: Any, available: int | None = None, what: str = "size",
               of: str = "the set") -> int:
    """``n`` as an int in [1, available]: a count of samples."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise NnxpError(f"{what} must be a positive integer, got {n!r}")
    if available is not None and n > available:
        raise NnxpError(f"{what} {n} is larger than {of} ({available} samples); use at most "
                        f"{available}")
    return int(n)


def check_fraction(fraction: Any, what: str = "validation fraction") -> float:
    """A real number strictly between 0 and 1."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise NnxpError(f"{what} must be a number between 0 and 1, got {fraction!r}")
    value = float(fraction)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise NnxpError(f"{what} must be between 0 and 1 (exclusive), got {fraction!r}; "
                        "e.g. 0.2 keeps a fifth of the samples for validation")
    return value


def validation_count(n: int, fraction: float, what: str = "validation fraction") -> int:
    """How many of ``n`` samples a validation split of ``fraction`` takes (the book's
    ``int(n * fraction)``, always less than ``n``); NnxpError when that is none."""
    fraction = check_fraction(fraction, what)
    count = int(n * fraction)
    if count < 1:
        raise NnxpError(f"{what} {fraction:g} of {n} samples holds out no sample (int({n} x "
                        f"{fraction:g}) = 0); use a larger fraction or more samples")
    return count


def take(x: Any, t: Any, n: int) -> Pair:
    """The first ``n`` samples and their labels (copies), as the book's ``x_train[:300]``."""
    x, t = _arrays(x, t)
    n = check_size(n, int(x.shape[0]), "the number of samples to take")
    return x[:n, ...].copy(), t[:n, ...].copy()


def shuffle_dataset(x: Any, t: Any, seed: int | None = None) -> Pair:
    """``x`` and ``t`` in one random order (new arrays), the book's ``shuffle_dataset``;
    ``seed`` (an integer >= 0) fixes the order, None draws a fresh one."""
    x, t = _arrays(x, t)
    order = np.random.default_rng(check_seed(seed)).permutation(int(x.shape[0]))
    return x[order, ...], t[order, ...]


def split_validation(x: Any, t: Any, fraction: float, seed: int | None = None
                     ) -> tuple[Pair, Pair]:
    """``((x_train, t_train), (x_val, t_val))``: the samples shuffled with ``seed``, then
    the first ``int(len(x) * fraction)`` held out for validation, the book's split in
    ``hyperparameter_optimization.py`` (0.2 there). Neither part may be empty."""
    x, t = _arrays(x, t)
    count = validation_count(int(x.shape[0]), fraction)
    seed = check_seed(seed)
    x, t = shuffle_dataset(x, t, seed)
    return (x[count:, ...], t[count:, ...]), (x[:count, ...], t[:count, ...])


MAX_SAMPLES = 64_000_000 // (28 * 28)
"""The most images an MNIST file may hold (the parser's cap on an images file): sizes above
it are refused before any data is loaded."""


def check_selection(train_size: int | None = None, test_size: int | None = None,
                    validation: float | None = None, batch_size: int | None = None,
                    available: tuple[int, int] | None = None, dataset: str | None = None
                    ) -> None:
    """Check what :func:`select_splits` will be asked, before the data is loaded (then
    ``available`` is None and sizes are held to :data:`MAX_SAMPLES`) or after (``available``:
    the sizes of ``dataset``'s training and test sets): sizes >= 1 and within the sets, a
    fraction in (0, 1) leaving both parts non-empty, and at least ``batch_size`` samples to
    train on."""
    if available is None:
        n_train = n_test = MAX_SAMPLES
        of = of_test = "any MNIST file can hold"
    else:
        n_train, n_test = available
        of, of_test = f"{dataset}'s training set", f"{dataset}'s test set"
    if train_size is not None:
        check_size(train_size, n_train, "--train-size", of)
    if test_size is not None:
        if validation is not None:
            raise NnxpError("--test-size has no effect with --validation: training is then "
                            "evaluated on the validation split, never on the test set; drop one")
        check_size(test_size, n_test, "--test-size", of_test)
    if validation is not None:
        check_fraction(validation, "--validation")
    if train_size is not None:
        n_train = train_size
    elif available is None:
        return  # the training set's size is not known yet
    left = n_train - (validation_count(n_train, validation, "--validation")
                      if validation is not None else 0)
    if batch_size is not None and batch_size > left:
        held = f" after --validation {validation:g} holds {n_train - left} out" \
            if validation is not None else ""
        samples = "sample" if left == 1 else "samples"
        raise NnxpError(f"--batch-size {batch_size} is larger than the training set ({left} "
                        f"{samples}{held}); use a batch size of at most {left}, or more samples")


def select_splits(splits: Any, *, train_size: int | None = None, test_size: int | None = None,
                  validation: float | None = None, seed: int | None = 0,
                  batch_size: int | None = None, dataset: str = "the dataset"
                  ) -> tuple[Pair, Pair]:
    """``((x_train, t_train), (x_eval, t_eval))`` from ``load_mnist``'s
    ``((x_train, t_train), (x_test, t_test))``: the first ``train_size`` training samples,
    then, with ``validation``, a shuffled split (``seed``) of them whose held-out part is the
    evaluation set; without it the first ``test_size`` test samples are. Arguments are
    checked first (see :func:`check_selection`)."""
    (x_train, t_train), (x_test, t_test) = splits
    x_train, t_train = _arrays(x_train, t_train)
    x_test, t_test = _arrays(x_test, t_test)
    check_selection(train_size, test_size, validation, batch_size,
                    (int(x_train.shape[0]), int(x_test.shape[0])), dataset)
    if train_size is not None:
        x_train, t_train = x_train[:train_size, ...], t_train[:train_size, ...]
    if validation is not None:
        return split_validation(x_train, t_train, validation, seed)
    if test_size is not None:
        x_test, t_test = x_test[:test_size, ...], t_test[:test_size, ...]
    return (x_train, t_train), (x_test, t_test)
