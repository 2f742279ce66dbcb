"""The book's chapter-6 figures on initial weights: what each weight scale does to the
activations of a deep net (figures 6-10 to 6-14) and to its training (figure 6-15).

- :func:`layer_activations` pushes 1000 random inputs through 5 layers of 100 nodes, once per
  weight scale (std 1, std 0.01, Xavier, He), as the book's ``weight_init_activation_
  histogram.py`` does; :func:`activation_histograms` counts them in the book's 30 bins and
  :func:`draw_activation_histograms` draws a row per scale, a column per layer;
  ``nnxp plot activation-histograms`` (:func:`plot_activation_histograms`) does all three.
- :func:`compare_weight_init` trains MultiLayerNet(784, [100]*4, 10) from std 0.01, Xavier
  and He weights on the same batches with SGD, as the book's ``weight_init_compare.py``;
  :func:`draw_weight_init` draws the smoothed losses; ``nnxp plot weight-init``
  (:func:`plot_weight_init`) does both.

The numbers are computed without matplotlib; the drawing imports it when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp import functions
from nnxp.backends import Backend, get_backend
from nnxp.errors import NnxpError
from nnxp.limits import check_memory
from nnxp.models.checks import (
    check_activation,
    check_init_std,
    init_std,
    non_negative_int,
    positive_int,
    positive_ints,
)

Report = Callable[[str], None]

WEIGHT_SCALES: dict[str, float | str] = {"std=1": 1.0, "std=0.01": 0.01, "Xavier": "xavier",
                                         "He": "he"}
"""The scales of the histogram figure's rows: the book's four (a number is the standard
deviation; Xavier is sqrt(1/n) and He sqrt(2/n) for n nodes in the layer before)."""

HISTOGRAM_ACTIVATIONS: dict[str, tuple[Callable[[Any], Any], tuple[float, float]]] = {
    "sigmoid": (functions.sigmoid, (0.0, 1.0)),
    "tanh": (functions.tanh, (-1.0, 1.0)),
    "relu": (functions.relu, (0.0, 1.0)),
}
"""Activation name -> (its function in nnxp.functions, the histograms' range): the book's
range (0, 1) for sigmoid and ReLU, (-1, 1) for tanh (whose values are there)."""

INIT_TYPES: dict[str, float | str] = {"std=0.01": 0.01, "Xavier": "sigmoid", "He": "relu"}
"""The book's weight_init_types of figure 6-15: label -> MultiLayerNet's weight_init_std."""

MARKERS = {"std=0.01": "o", "Xavier": "s", "He": "D"}

MAX_SCALES = 64
"""The most weight scales one figure compares."""


def layer_activations(
    activation: str = "sigmoid",
    scales: Mapping[str, float | str] = WEIGHT_SCALES,
    *,
    samples: int = 1000,
    node_num: int = 100,
    hidden_layer_size: int = 5,
    seed: int = 0,
) -> dict[str, list[np.ndarray]]:
    """Each scale's activations, layer by layer: ``{label: [z1, ..., z5]}``, float64 NumPy
    arrays of shape (samples, node_num).

    The input is ``samples`` standard-normal rows; layer i computes ``activation(z @ W_i)``
    (no bias, as the book). Every scale gets the same input and the same standard-normal
    draws for its weights, multiplied by its own standard deviation, so the rows differ by
    the scale alone.
    """
    function = _activation(activation)
    samples = positive_int("samples", samples)
    node_num = positive_int("node_num", node_num)
    hidden_layer_size = positive_int("hidden_layer_size", hidden_layer_size)
    stds = {label: init_std(check_init_std(scale), node_num) for label, scale in scales.items()}
    check_memory(8 * (samples * node_num * hidden_layer_size * max(len(stds), 1)
                      + node_num * node_num * (hidden_layer_size + 1)),
                 "the layers' activations", "use fewer samples, nodes or layers")
    rng = np.random.default_rng(non_negative_int("seed", seed))
    x = rng.standard_normal((samples, node_num))
    weights = [rng.standard_normal((node_num, node_num)) for _ in range(hidden_layer_size)]
    out: dict[str, list[np.ndarray]] = {}
    for label, std in stds.items():
        z, layers = x, []
        for w in weights:
            z = function(z @ (w * std))
            layers.append(z)
        out[label] = layers
    return out


def activation_histograms(
    activations: Mapping[str, Sequence[np.ndarray]], activation: str = "sigmoid", bins: int = 30
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The book's histograms: ``({label: counts of shape (layers, bins)}, bin edges)``, each
    layer's values counted in ``bins`` equal bins over the activation's range (values
    outside it are not counted, as ``plt.hist(a, 30, range=(0, 1))``)."""
    _activation(activation)
    bins = positive_int("bins", bins)
    low, high = HISTOGRAM_ACTIVATIONS[activation][1]
    edges = np.linspace(low, high, bins + 1)
    counts = {label: np.stack([np.histogram(np.ravel(z), edges)[0] for z in layers])
              for label, layers in activations.items()}
    return counts, edges


def draw_activation_histograms(
    counts: Mapping[str, np.ndarray], edges: np.ndarray, path: str | os.PathLike[str],
    activation: str = "sigmoid", notes: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """A row per weight scale, a column per layer (the book's figures 6-10, 6-11, 6-13 and
    6-14 stacked), one y scale per row; ``notes`` (label -> a line per layer) is written
    under each panel. For ReLU the first bin (the zeros, half of all values) is cut at the top of
    the other bins, as the book's figure 6-14 cuts it. Returns the PNG's path."""
    from nnxp.plot.canvas import new_figure, save_figure

    rows = list(counts)
    layers = max((len(c) for c in counts.values()), default=0)
    if not rows or not layers:
        raise NnxpError("no activations to draw")
    skip = 1 if activation == "relu" else 0
    width, height = 2.4 * layers, 2.0 * len(rows) + 0.6
    fig, axes = new_figure(layers, width, height, len(rows))
    fig.set_layout_engine(None)  # the constrained layout of 20 panels takes a second more
    fig.subplots_adjust(left=0.8 / width, right=1 - 0.15 / width, bottom=0.55 / height,
                        top=1 - 0.6 / height, wspace=0.2, hspace=0.45)
    for r, label in enumerate(rows):
        top = max(float(np.max(counts[label][:, skip:])), 1.0) * 1.05
        for i in range(layers):
            ax = axes[r * layers + i]
            ax.stairs(counts[label][i], edges, fill=True)
            ax.set_ylim(0, top)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_xticks([edges[0], (edges[0] + edges[-1]) / 2, edges[-1]])
            if r == 0:
                ax.set_title(f"{i + 1}-layer")
            if i == 0:
                ax.set_ylabel(label)
            else:
                ax.set_yticks([])
            if notes is not None:  # under the axis, where no bar can hide it
                ax.set_xlabel(notes[label][i], fontsize=8, labelpad=1)
    fig.suptitle(f"activations of {layers} layers ({activation}), one row per weight scale")
    return save_figure(fig, path)


def scale_label(weight_init_std: float | str) -> str:
    """How a figure names an initial weight scale: std=0.01, Xavier, He."""
    std = check_init_std(weight_init_std)
    if isinstance(std, str):
        return "He" if std.lower() in ("he", "relu") else "Xavier"
    return f"std={std:g}"


def scale_labels(weight_scales: Sequence[float | str] | None,
                 default: Mapping[str, float | str]) -> dict[str, float | str]:
    """{label: scale} for a list of scales (numbers, 'he', 'xavier'), or ``default``."""
    if weight_scales is None:
        return dict(default)
    if isinstance(weight_scales, str) or not isinstance(weight_scales, Sequence | np.ndarray):
        raise NnxpError(f"weight_scales must be a list of numbers, 'he' or 'xavier', got "
                        f"{weight_scales!r:.40}")
    if not 1 <= len(weight_scales) <= MAX_SCALES:
        raise NnxpError(f"weight_scales must hold 1 to {MAX_SCALES} scales, got "
                        f"{len(weight_scales)}")
    scales: dict[str, float | str] = {}
    for w in weight_scales:
        label = scale_label(w)
        if label in scales:
            raise NnxpError(f"weight scale {label} is given twice; give each once")
        scales[label] = w
    return scales


def plot_activation_histograms(
    path: str | os.PathLike[str], *, activation: str = "sigmoid",
    weight_scales: Sequence[float | str] | None = None, seed: int = 0,
    report: Report | None = None,
) -> Path:
    """``nnxp plot activation-histograms``: the histograms of each layer's activations, a
    row per weight scale (default: std 1, std 0.01, Xavier and He), to a PNG; ``report``
    gets one line per scale with each layer's standard deviation."""
    from nnxp.plot.canvas import require_matplotlib
    from nnxp.plot.data import check_output

    _activation(activation)
    scales = scale_labels(weight_scales, WEIGHT_SCALES)
    check_output(path)
    require_matplotlib()
    activations = layer_activations(activation, scales, seed=seed)
    notes: dict[str, list[str]] = {}
    for label, layers in activations.items():
        stds = [float(np.std(z)) for z in layers]
        notes[label] = [f"std {s:.2g}" for s in stds]
        if activation == "relu":
            zeros = [float(np.mean(z == 0.0)) for z in layers]
            notes[label] = [f"{n}, zeros {100 * f:.0f}%" for n, f in zip(notes[label], zeros,
                                                                           strict=True)]
        if report is not None:
            report(f"{label}: std of the activations by layer "
                   + " ".join(f"{s:.3g}" for s in stds))
    counts, edges = activation_histograms(activations, activation)
    return draw_activation_histograms(counts, edges, path, activation, notes)


def compare_weight_init(
    x_train: Any,
    t_train: Any,
    iterations: int = 2000,
    batch_size: int = 128,
    lr: float = 0.01,
    inits: Mapping[str, float | str] = INIT_TYPES,
    hidden_size_list: Sequence[int] = (100, 100, 100, 100),
    *,
    activation: str = "relu",
    backend: str | Backend = "numpy",
    dtype: str = "float32",
    seed: int = 0,
    threads: int = 1,
    report: Report | None = None,
) -> dict[str, list[float]]:
    """The loss after each SGD update, per initial weight scale (the book's figure 6-15):
    MultiLayerNet(784, hidden_size_list, 10) with ReLU (``activation``), one net per entry of
    ``inits`` (label -> weight_init_std), all from the same standard-normal draws (``seed``)
    and on the same batches, drawn with replacement as the book's ``np.random.choice``.

    Every 100 iterations ``report`` gets the book's lines, ``===========iteration:0===========``
    then ``std=0.01:2.302...`` per net (the loss of that iteration's batch after its update).
    The CPU's thread pools are limited to ``threads`` meanwhile (0: left alone); one is the
    fastest for these small products, many times faster than two on a busy machine.
    """
    from nnxp.models.multi_layer import MultiLayerNet
    from nnxp.optim import SGD

    iterations = positive_int("iterations", iterations)
    seed, threads = non_negative_int("seed", seed), check_threads(threads)
    be = get_backend(backend, dtype=dtype)
    x, t = flat_images(be, x_train, t_train, dtype)
    batch_size = batch_within(batch_size, int(x.shape[0]))
    hidden = positive_ints("hidden_size_list", hidden_size_list)
    nets = {label: MultiLayerNet(int(x.shape[1]), hidden, 10, activation=activation,
                                 weight_init_std=check_init_std(std), backend=be, dtype=dtype,
                                 seed=seed)
            for label, std in inits.items()}
    optimizer = SGD(lr=lr)
    losses: dict[str, list[float]] = {label: [] for label in nets}
    rng = be.rng(seed + 1)
    with thread_limit(threads):
        for i in range(iterations):
            index = be.asarray(rng.integers(0, x.shape[0], batch_size))
            x_batch, t_batch = be.xp.take(x, index, axis=0), be.xp.take(t, index, axis=0)
            for label, net in nets.items():
                optimizer.update(net.params, net.gradient(x_batch, t_batch))
                losses[label].append(float(net.loss(x_batch, t_batch)))
            if report is not None and i % 100 == 0:
                report(f"===========iteration:{i}===========")
                for label in nets:
                    report(f"{label}:{losses[label][-1]}")
    return losses


def draw_weight_init(losses: Mapping[str, Sequence[float]], path: str | os.PathLike[str],
                     ylim: float = 2.5) -> Path:
    """The smoothed loss curves of :func:`compare_weight_init` (figure 6-15) to a PNG."""
    from nnxp.plot.canvas import new_figure, save_figure
    from nnxp.plot.optimizers import smooth_curve

    fig, (ax,) = new_figure()
    for label, curve in losses.items():
        y = smooth_curve(curve)
        ax.plot(np.arange(len(y)), y, marker=MARKERS.get(label, "."),
                markevery=max(1, len(y) // 20), label=label)
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss")
    ax.set_ylim(0, ylim)
    ax.legend()
    return save_figure(fig, path)


def plot_weight_init(
    path: str | os.PathLike[str], *, weight_scales: Sequence[float | str] | None = None,
    activation: str = "relu", iters: int = 500, batch_size: int = 128, lr: float = 0.01,
    dataset: str = "auto", data_dir: str | os.PathLike[str] | None = None,
    backend: str = "numpy", device: str | None = None, seed: int = 0,
    report: Report | None = None,
) -> Path:
    """``nnxp plot weight-init``: :func:`compare_weight_init` on MNIST (float32; the book's
    std 0.01, Xavier and He with ReLU, batch 128; ``iters`` updates, the book runs 2000), its
    smoothed losses to a PNG; ``report`` gets the book's lines and a summary. The caller
    limits the CPU's threads (``nnxp plot --threads``)."""
    from nnxp.optim import SGD
    from nnxp.plot.canvas import require_matplotlib
    from nnxp.plot.data import check_output, load_splits
    from nnxp.plot.optimizers import smooth_curve

    inits = scale_labels(weight_scales, INIT_TYPES)
    check_activation(activation)
    iters, batch_size = positive_int("iters", iters), positive_int("batch_size", batch_size)
    seed, lr = non_negative_int("seed", seed), SGD(lr).lr
    check_output(path)
    require_matplotlib()
    be = get_backend(backend, device, "float32")
    ((x_train, t_train), _), name = load_splits(path, dataset, data_dir, report=report)
    say = report or (lambda line: None)
    say(f"weight-init: MultiLayerNet {x_train.shape[1]}-100-100-100-100-10 ({activation}) on "
        f"{name} ({x_train.shape[0]} train), SGD lr {lr}, {iters} iterations of batch "
        f"{batch_size}, {be.name} {be.device_name} float32, seed {seed}")
    losses = compare_weight_init(x_train, t_train, iters, batch_size, lr, inits,
                                 activation=activation, backend=be, seed=seed, threads=0,
                                 report=report)
    say("final loss (smoothed): "
        + ", ".join(f"{label} {smooth_curve(c)[-1]:.4f}" for label, c in losses.items()))
    return draw_weight_init(losses, path)


def flat_images(be: Backend, x_train: Any, t_train: Any, dtype: str) -> tuple[Any, Any]:
    """Images as (N, features) floats and labels as class indices on ``be``."""
    xp = be.xp
    x = be.adopt(x_train, dtype)
    if not xp.isdtype(x.dtype, "real floating"):
        raise NnxpError(f"images must be floating point, not {x.dtype}: load them with "
                        "normalize=True")
    if x.ndim != 2:
        x = xp.reshape(x, (x.shape[0], -1))
    t = be.adopt(t_train)
    if t.ndim != 1:
        t = xp.argmax(t, axis=1)
    if x.shape[0] != t.shape[0] or x.shape[0] == 0:
        raise NnxpError(f"{x.shape[0]} images and {t.shape[0]} labels: give as many of each "
                        "(at least one)")
    return x, t


def batch_within(batch_size: Any, train_size: int) -> int:
    """batch_size as an int if it is a positive integer at most train_size."""
    batch_size = positive_int("batch_size", batch_size)
    if batch_size > train_size:
        raise NnxpError(f"batch size {batch_size} is larger than the {train_size} training "
                        "images")
    return batch_size


def check_threads(threads: Any) -> int:
    """threads as an int if it is an integer >= 0, else a one-line NnxpError."""
    return non_negative_int("threads", threads)


def thread_limit(threads: int) -> Any:
    """A context in which the CPU's thread pools are limited to ``threads`` (0: the
    libraries' own choice)."""
    from nnxp.cli.common import limit_threads

    return limit_threads(check_threads(threads))


def _activation(name: Any) -> Callable[[Any], Any]:
    """The activation function called ``name``, or a one-line NnxpError."""
    if not isinstance(name, str) or name not in HISTOGRAM_ACTIVATIONS:
        raise NnxpError(f"unknown activation {name!r:.40}: use one of "
                        f"{', '.join(HISTOGRAM_ACTIVATIONS)}")
    return HISTOGRAM_ACTIVATIONS[name][0]


__all__ = [
    "HISTOGRAM_ACTIVATIONS",
    "INIT_TYPES",
    "WEIGHT_SCALES",
    "activation_histograms",
    "compare_weight_init",
    "draw_activation_histograms",
    "draw_weight_init",
    "layer_activations",
    "plot_activation_histograms",
    "plot_weight_init",
]
