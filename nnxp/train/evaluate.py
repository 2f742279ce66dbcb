"""Evaluation: chunked accuracy (each epoch of training), predicted labels in bounded memory
and the confusion matrix (``nnxp eval``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def accuracy(network: Any, x: Any, t: Any, n: int | None = None,
             batch_size: int = 10_000) -> float:
    """Accuracy on the first ``n`` samples (all by default), predicted ``batch_size`` at a
    time (labels already checked: the net's own chunked ``accuracy``)."""
    total = int(x.shape[0]) if n is None else min(int(n), int(x.shape[0]))
    return float(network.accuracy(x[:total, ...], t[:total], batch_size))


def predict_labels(
    network: Any, x: Any, batch_size: int = 10_000, max_bytes: int = 64 << 20,
    nonfinite: list[int] | None = None,
) -> np.ndarray:
    """The class each sample's highest score picks, as a host int64 array, predicted in chunks
    so the widest layer's activations for a chunk stay under ``max_bytes`` (a legitimately
    wide model evaluates in bounded memory); ``batch_size`` caps the chunk (conv nets, whose
    widest activations the parameters do not show, rely on it).

    ``nonfinite``, when given, receives for each chunk the number of samples with a score
    that is NaN or infinite (float16 overflows past 65504, where float32 would not)."""
    be = network.backend
    xp = be.xp
    x = be.adopt(x, network.dtype)
    widths = [int(n) for key in network.params for n in network.params[key].shape[-2:]
              if len(network.params[key].shape) == 2]
    per_sample = max([*widths, int(math.prod(x.shape[1:]))]) * np.dtype(network.dtype).itemsize
    chunk = max(1, min(batch_size, max_bytes // max(per_sample, 1)))
    out = []
    for start in range(0, int(x.shape[0]), chunk):
        stop = min(start + chunk, int(x.shape[0]))
        y = network.predict(x[start:stop, ...])
        out.append(be.to_numpy(xp.argmax(y, axis=1)))
        if nonfinite is not None:
            bad = xp.logical_not(xp.all(xp.isfinite(y), axis=1))
            nonfinite.append(int(xp.sum(xp.astype(bad, xp.int64))))
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def confusion_matrix(t: Any, y: Any, num_classes: int) -> np.ndarray:
    """counts[i, j]: samples of true class i predicted as class j (host arrays of labels)."""
    t = np.asarray(t, dtype=np.int64).reshape(-1)
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    return np.bincount(t * num_classes + y, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def hits(network: Any, x: Any, t: Any, batch_size: int = 10_000) -> int:
    """How many of the samples (labels already checked) the net classifies right, predicted
    ``batch_size`` at a time; 0 for no samples (a process's empty share of a small set)."""
    return network.hits(x, t, batch_size) if int(x.shape[0]) else 0
