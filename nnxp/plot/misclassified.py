"""Chapter 8's misclassified digits (the book's ``misclassified_mnist.py``): a trained net
classifies the MNIST test set in batches of 100, prints its accuracy, and the first 20 test
digits it gets wrong are drawn, each titled "label:inference" (the pairs the book prints)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.errors import NnxpError

BOOK_NET = "ch08/deep_convnet_params.pkl"
"""The trained DeepConvNet the book's script loads."""
BOOK_ARCHS = ("ch08", "ch07", "ch03")
"""The book's pickles of MNIST classifiers (any of them can be examined)."""


def predict_labels(net: Any, x: Any, batch_size: int = 100) -> np.ndarray:
    """The class each sample of ``x`` gets from ``net`` in inference mode, in batches (host
    NumPy integers)."""
    from nnxp.backends import to_numpy

    xp = net.backend.xp
    out = [to_numpy(xp.argmax(net.predict(x[i : i + batch_size], train_flg=False), axis=1))
           for i in range(0, x.shape[0], batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def first_misclassified(predicted: Any, labels: Any, count: int = 20) -> np.ndarray:
    """The indices of the first ``count`` samples whose prediction is not their label."""
    wrong = np.flatnonzero(np.asarray(predicted) != np.asarray(labels))
    return wrong[:count]


def draw_misclassified(images: Any, labels: Any, predicted: Any, ncols: int = 5) -> Any:
    """The digits ``images`` (rows of 784 or (N, 1, 28, 28)) in a grid of ``ncols``, each
    titled "label:inference", dark on light as the book draws them; returns the figure."""
    import math

    from nnxp.plot.grid import blank_figure, image_grid
    from nnxp.plot.mnist import as_images

    digits = as_images(images) if len(images) else np.zeros((0, 28, 28))
    titles = [f"{int(t)}:{int(y)}" for t, y in zip(labels, predicted, strict=True)]
    nrows = max(1, math.ceil(len(digits) / ncols))
    fig = blank_figure(1.5 * ncols, 1.5 * nrows + 0.4)
    image_grid(fig, list(digits), titles, ncols, "gray_r",
               "label:inference" if len(digits) else "no misclassified digits")
    return fig


def _check_net(net: Any, words: str, features: int) -> None:
    inputs, outputs = net.input_features, net.config.get("output_size")
    if inputs != features or outputs != 10:
        raise NnxpError(f"--weights: {words} takes {inputs} inputs and scores {outputs} "
                        f"classes; MNIST needs {features} inputs and 10 classes")


def plot_misclassified(
    path: str | os.PathLike[str],
    weights: str | os.PathLike[str] | None = None,
    count: int = 20,
    test_size: int | None = None,
    dataset: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    backend: str = "numpy",
    device: str | None = None,
    report: Callable[[str], None] | None = None,
) -> Path:
    """``nnxp plot misclassified``: the net of ``weights`` (a model file of any MNIST net, or
    one of the book's pickles; default: the book's ch08/deep_convnet_params.pkl under
    $NNXP_BOOK_DIR) classifies the first ``test_size`` test images (default: all); the first
    ``count`` it gets wrong go to a PNG at ``path``. ``report`` gets the accuracy and the
    (label, inference) pairs as the book prints them."""
    from nnxp.backends import get_backend
    from nnxp.plot.canvas import require_matplotlib, save_figure
    from nnxp.plot.data import check_output, load_splits
    from nnxp.plot.mnist import digit_count
    from nnxp.plot.weights import load_trained_net, weights_path

    say = report or (lambda line: None)
    count = digit_count(count)
    if test_size is not None and (isinstance(test_size, bool) or not isinstance(test_size, int)
                                  or test_size < 1):
        raise NnxpError(f"--test-size must be a positive whole number, not {test_size!r:.40}")
    source = weights_path(weights, BOOK_NET)
    check_output(path, {"--weights": source})
    require_matplotlib()
    be = get_backend(backend, device, "float32")
    net, words = load_trained_net(source, BOOK_ARCHS, backend=be)
    (_, (x_test, t_test)), name = load_splits(path, dataset, data_dir, inputs={"--weights": source},
                                              report=report)
    if test_size is not None:
        if test_size > x_test.shape[0]:
            raise NnxpError(f"--test-size {test_size} is more than {name}'s {x_test.shape[0]} "
                            "test images")
        x_test, t_test = x_test[:test_size], t_test[:test_size]
    _check_net(net, words, x_test.shape[1])
    say(f"misclassified: {words} on {x_test.shape[0]} test images of {name}, "
        f"{be.name} {be.device_name} float32")
    predicted = predict_labels(net, x_test)
    wrong = first_misclassified(predicted, t_test, x_test.shape[0])
    say(f"test accuracy: {1 - len(wrong) / x_test.shape[0]:.4f} ({len(wrong)} of "
        f"{x_test.shape[0]} misclassified)")
    shown = wrong[:count]
    pairs = {i: (int(t_test[k]), int(predicted[k])) for i, k in enumerate(shown, 1)}
    say(f"the first {len(shown)} misclassified {{view index: (label, inference)}}: {pairs}")
    fig = draw_misclassified(x_test[shown], t_test[shown], predicted[shown])
    return save_figure(fig, path)
