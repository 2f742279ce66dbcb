"""Files the figure tests read: book-shaped pickles of random weights, nnxp model files and
PNG images, written into a test's folder (no book data needed)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from nnxp.backends import to_numpy


def book_pickle(path: Path, arch: str, seed: int = 0) -> Path:
    """A pickle shaped as the book's ``arch`` file (ch03, ch07, ch08): a dict of float64
    NumPy arrays, as the book's ``save_params`` writes it."""
    from nnxp.book_weights import book_network

    net = book_network(arch, dtype="float64")
    rng = np.random.default_rng(seed)
    arrays = {key: 0.1 * rng.standard_normal(tuple(net.params[key].shape)) for key in net.params}
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    return path


def model_file(path: Path, model: str = "simple-conv", seed: int = 0, **config) -> Path:
    """An nnxp model file of ``model`` (default: SimpleConvNet on 1x8x8 images, as the suite's
    tiny_data gives them) with weights drawn from ``seed``."""
    from nnxp.io import save_model
    from nnxp.models.registry import build

    defaults = {"simple-conv": {"input_dim": [1, 8, 8], "hidden_size": 20},
                "two-layer": {"input_size": 64, "hidden_size": 10, "output_size": 10}}
    net = build({"model": model, **defaults.get(model, {}), **config}, seed=seed)
    save_model(path, net)
    return path


def png(path: Path, pixels: np.ndarray) -> Path:
    """``pixels`` (2-D gray or H x W x 3 RGB, floats in [0, 1]) written as a PNG file."""
    from matplotlib import image

    image.imsave(path, pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1,
                 format="png")
    return path


def first_filters(path: Path) -> np.ndarray:
    """W1 of the net in a model file (host NumPy)."""
    from nnxp.io import load_model

    return to_numpy(load_model(path)[0].params["W1"])
