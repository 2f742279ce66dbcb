"""The numerical gradient of an Affine / activation / SoftmaxWithLoss chain, in Numba.

It is the book's central difference, one parameter at a time, with the same loss as
SoftmaxWithLoss (cross entropy of the softmax, from log-softmax: no 1e-7 guard; LOG_GUARD
only keeps a probability that underflows to 0 from giving 0 / 0), but each perturbation
recomputes only what it changes. A weight W[i, j] of layer k moves the pre-activation
column j by x[n, i] * h, so

- samples whose input x[n, i] is 0 do not change (most MNIST pixels) and are skipped;
- the other samples change in one unit of layer k; through the next weight matrix that is a
  rank-1 update of the following pre-activations (dz * W[j, :]); later layers, if any, are
  recomputed for that sample from the cached activations, as deltas;
- the loss of a sample changes through its logits by a small delta dl: the cached
  exponentials e = exp(logits - max) become e * (1 + expm1(dl)), and the difference of the
  two perturbed losses is one log of a ratio.

Matrix products (the forward pass that fills the caches) run in NumPy; the kernel takes the
cached arrays. The kernels work row by row of each weight matrix, serially by default, or
in parallel over rows (``prange``) on ``threads`` threads (the environment's
``NNXP_JIT_THREADS``; 0: all of Numba's). On the shared 2-core development machine two
threads ran from 1.4 times faster to 3.5 times slower than one as other jobs came and went
(benchmarks/numerical_gradient.py measures both), and Numba's OpenMP thread pool, once
started, slowed PyTorch's CPU kernels in the same process several times over
(``NUMBA_THREADING_LAYER=workqueue`` avoids that); where cores are free, more threads help.
Kernels use NumPy's error model (x / 0 gives inf or nan, as NumPy does, rather than
raising), which also lets their loops vectorise: twice as fast here.
"""


from __future__ import annotations

import os
from collections.abc import Sequence

import numba
import numpy as np

from nnxp.errors import NnxpError
from nnxp.functions import sigmoid
from nnxp.kernels.numba_netgrad_loops import (
    _SLOPE,
    _SMALL,
    ACTIVATION_CODES,
    RELU,
    SIGMOID,
    TANH,
    _general_parallel,
    _general_serial,
    _last_parallel,
    _last_serial,
    _rank1_parallel,
    _rank1_serial,
)
from nnxp.kernels.numba_scalar import DEFAULT_H


def _activate_array(code: int, a: np.ndarray) -> np.ndarray:
    if code == SIGMOID:
        return sigmoid(a)
    if code == RELU:
        return np.where(a <= 0, 0.0, a)
    if code == TANH:
        return np.tanh(a)
    return a


def _labels_csr(t: np.ndarray, n_samples: int, n_classes: int):
    """Labels as (row pointers, classes, weights): integer labels or rows of (one-hot) targets."""
    if t.ndim == 1:
        idx = t.astype(np.int64)
        if idx.min(initial=0) < 0 or idx.max(initial=0) >= n_classes:
            raise ValueError(f"labels must lie in [0, {n_classes}), got {idx.min()}..{idx.max()}")
        return np.arange(n_samples + 1, dtype=np.int64), idx, np.ones(n_samples)
    rows, cols = np.nonzero(t)
    ptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_samples), out=ptr[1:])
    return ptr, cols.astype(np.int64), t[rows, cols].astype(np.float64)


def affine_chain_gradient(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activations: Sequence[str],
    x: np.ndarray,
    t: np.ndarray,
    h: float = DEFAULT_H,
    *,
    fast: bool = True,
    threads: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(dW, db) of every Affine layer of softmax-cross-entropy(chain(x)) against t, numerically.

    The chain is x -> Affine(W1, b1) -> activations[0] -> ... -> Affine(WL, bL); x is a
    batch (N, ...), flattened to (N, d); t integer labels (N,) or target rows (N, C). Arrays
    are used as float64. The last two layers use kernels whose small-argument polynomials
    are exact to rounding when the perturbations are small enough (checked here; always so
    for inputs and weights below about 20); other layers, or ``fast=False``, use the
    general kernel. ``threads``: see :func:`thread_count`; one thread runs serial drivers
    and starts no Numba thread pool.
    """
    n = thread_count(threads)
    if n == 1:
        return _chain_gradient(weights, biases, activations, x, t, h, fast, parallel=False)
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        return _chain_gradient(weights, biases, activations, x, t, h, fast, parallel=True)
    finally:
        numba.set_num_threads(previous)


def thread_count(threads: int | None = None) -> int:
    """The threads the kernels run on: ``threads``, else ``NNXP_JIT_THREADS``, else 1; 0 means
    all of Numba's (``NUMBA_NUM_THREADS``); never more than those."""
    if threads is None:
        value = os.environ.get("NNXP_JIT_THREADS", "1")
        try:
            threads = int(value)
        except ValueError:
            raise NnxpError(f"NNXP_JIT_THREADS must be an integer (0: all cores), got {value!r}; "
                            "fix or unset it") from None
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0: all of Numba's), got {threads}")
    available = numba.config.NUMBA_NUM_THREADS
    return available if threads == 0 else min(threads, available)


def _chain_gradient(weights, biases, activations, x, t, h, fast, parallel):
    Ws = [np.ascontiguousarray(W, dtype=np.float64) for W in weights]
    bs = [np.ascontiguousarray(b, dtype=np.float64) for b in biases]
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(x.shape[0], -1)
    codes = np.array([ACTIVATION_CODES[a] for a in activations], dtype=np.int64)
    if len(codes) != len(Ws) - 1:
        raise ValueError(f"{len(Ws)} affine layers need {len(Ws) - 1} activations, "
                         f"got {len(codes)}")
    L = len(Ws)
    dims = np.array([x.shape[1], *(W.shape[1] for W in Ws)], dtype=np.int64)
    Xs, As = [x], []
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        As.append(Xs[-1] @ W + b)
        if k < L - 1:
            Xs.append(_activate_array(int(codes[k]), As[-1]))
    logits = As[-1]
    E = np.exp(logits - logits.max(axis=1, keepdims=True))
    S = E.sum(axis=1)
    labels = _labels_csr(np.asarray(t), x.shape[0], logits.shape[1])

    def flat(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        offsets = np.cumsum([0] + [a.size for a in arrays[:-1]]).astype(np.int64)
        return np.concatenate([a.ravel() for a in arrays]), offsets

    general = None
    last, rank1, any_layer = ((_last_parallel, _rank1_parallel, _general_parallel) if parallel
                              else (_last_serial, _rank1_serial, _general_serial))
    grads = []
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        out = np.zeros((W.shape[0] + 1, W.shape[1]))
        step = 1.01 * abs(h) * max(1.0, float(np.abs(Xs[k]).max(initial=0.0)))
        if fast and k == L - 1 and step < _SMALL:
            last(out, float(h), Xs[k], W, b, E, S, *labels)
        elif fast and k == L - 2 and step < _SMALL and step * _SLOPE[int(codes[k])] * float(
                np.abs(Ws[k + 1]).max(initial=0.0)) < _SMALL:
            Zc = _activate_array(SIGMOID, -As[k]) if codes[k] == SIGMOID else Xs[k + 1]
            rank1(out, float(h), int(codes[k]), Xs[k], As[k], Xs[k + 1], Zc, W, b,
                  np.ascontiguousarray(Ws[k + 1].T), E, S, *labels)
        else:
            if general is None:
                general = (dims, codes, *flat(Ws), *flat(bs), *flat(Xs), *flat(As), E, S, *labels)
            any_layer(out, k, float(h), *general)
        grads.append((out[:-1].copy(), out[-1].copy()))
    return grads
