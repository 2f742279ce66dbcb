"""Small synthetic classification data (Gaussian blobs) for training tests: host NumPy."""

from __future__ import annotations

import numpy as np


def blobs(
    n_train: int = 400, n_test: int = 100, features: int = 20, classes: int = 3, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, t_train), (x_test, t_test)): float32 inputs in [0, 1], uint8 labels.

    The classes are well separated, so a small net learns them in a few epochs.
    """
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0.0, 1.0, size=(classes, features))
    t = rng.integers(0, classes, size=n_train + n_test).astype(np.uint8)
    x = centers[t] + 0.1 * rng.standard_normal((n_train + n_test, features))
    x = np.clip(x, 0.0, 1.0).astype(np.float32)
    return (x[:n_train], t[:n_train]), (x[n_train:], t[n_train:])
