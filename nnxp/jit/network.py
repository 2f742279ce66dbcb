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

import math
import os
from collections.abc import Sequence

import numba
import numpy as np
from numba import prange

from nnxp.errors import NnxpError
from nnxp.functions import sigmoid
from nnxp.gradient import H

LOG_GUARD = 1e-300
"""Added to probabilities inside logs: 0 for any that does not underflow."""

IDENTITY, SIGMOID, RELU = 0, 1, 2
ACTIVATION_CODES = {"identity": IDENTITY, "sigmoid": SIGMOID, "relu": RELU}

_SMALL = 2.0**-9
"""Below this |u|, expm1(u) is its Taylor polynomial of degree 6 (error < 1e-20 relative)."""

_SLOPE = {IDENTITY: 1.0, SIGMOID: 0.26, RELU: 1.0}
"""Bounds on |act(a + d) - act(a)| / |d| (sigmoid: 1/4, with room for rounding)."""


@numba.njit(cache=True, error_model="numpy")
def _activate(code: int, v: float) -> float:
    """The activation of one value, as the layers compute it (ReLU: 0 where v <= 0)."""
    if code == SIGMOID:
        e = math.exp(-abs(v))
        return 1.0 / (1.0 + e) if v >= 0.0 else e / (1.0 + e)
    if code == RELU:
        return 0.0 if v <= 0.0 else v
    return v


@numba.njit(cache=True, error_model="numpy")
def _expm1(u: float) -> float:
    """exp(u) - 1, by a polynomial for the tiny arguments a perturbation of h = 1e-4 gives."""
    if abs(u) < _SMALL:
        return u * (1.0 + u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u * (
            1.0 / 120.0 + u * (1.0 / 720.0))))))
    return math.expm1(u)


@numba.njit(cache=True, error_model="numpy")
def _loss_difference(E, S, n, dlp, dlm, t_ptr, t_idx, t_val):
    """loss_n(logits + dlp) - loss_n(logits + dlm) for sample n, from its cached exponentials."""
    sp = S[n]
    sm = S[n]
    for c in range(E.shape[1]):
        sp += E[n, c] * _expm1(dlp[c])
        sm += E[n, c] * _expm1(dlm[c])
    diff = 0.0
    for q in range(t_ptr[n], t_ptr[n + 1]):
        c = t_idx[q]
        pp = E[n, c] * (1.0 + _expm1(dlp[c])) / sp
        pm = E[n, c] * (1.0 + _expm1(dlm[c])) / sm
        diff += t_val[q] * math.log((pm + LOG_GUARD) / (pp + LOG_GUARD))
    return diff


@numba.njit(cache=True, error_model="numpy")
def _logit_delta(k, n, j, dz, dims, acts, W, w_off, X, x_off, A, a_off, buf, tmp):
    """The change of sample n's logits when unit j of layer k's output changes by dz.

    Returns buf or tmp, whichever holds the result (the two are swapped layer by layer).
    """
    L = dims.shape[0] - 1
    width = dims[k + 2]
    row = w_off[k + 1] + j * width
    for c in range(width):
        buf[c] = dz * W[row + c]
    for m in range(k + 2, L):
        d_in = dims[m]
        d_out = dims[m + 1]
        for c in range(d_out):
            tmp[c] = 0.0
        for r in range(d_in):
            a = A[a_off[m - 1] + n * d_in + r]
            dzr = _activate(acts[m - 1], a + buf[r]) - X[x_off[m] + n * d_in + r]
            if dzr != 0.0:
                base = w_off[m] + r * d_out
                for c in range(d_out):
                    tmp[c] += dzr * W[base + c]
        buf, tmp = tmp, buf
    return buf


@numba.njit(cache=True, error_model="numpy")
def _general_row(i, out, k, h, dims, acts, W, w_off, B, b_off, X, x_off, A, a_off, E, S, t_ptr,
                 t_idx, t_val):
    """Central differences for row i of layer k's parameters into out[i, :]: the weights
    W[i, :], or the biases for i = d_in. Any layer of any chain; deltas propagate per sample
    through the layers after k (the general kernel)."""
    L = dims.shape[0] - 1
    N = E.shape[0]
    d_in = dims[k]
    d_out = dims[k + 1]
    width = 1
    for m in range(1, L + 1):
        width = max(width, dims[m])
    samples = np.empty(N, np.int64)
    inputs = np.empty(N)
    count = 0
    for n in range(N):
        v = X[x_off[k] + n * d_in + i] if i < d_in else 1.0
        if v != 0.0:
            samples[count] = n
            inputs[count] = v
            count += 1
    dlp = np.zeros(width)
    dlm = np.zeros(width)
    bufp = np.empty(width)
    bufm = np.empty(width)
    tmpp = np.empty(width)
    tmpm = np.empty(width)
    for j in range(d_out):
        w = W[w_off[k] + i * d_out + j] if i < d_in else B[b_off[k] + j]
        hp = (w + h) - w
        hm = w - (w - h)
        acc = 0.0
        for q in range(count):
            n = samples[q]
            dp = inputs[q] * hp
            dm = -inputs[q] * hm
            if k == L - 1:
                dlp[j] = dp
                dlm[j] = dm
                acc += _loss_difference(E, S, n, dlp, dlm, t_ptr, t_idx, t_val)
                dlp[j] = 0.0
                dlm[j] = 0.0
                continue
            a = A[a_off[k] + n * d_out + j]
            z = X[x_off[k + 1] + n * d_out + j]
            dzp = _activate(acts[k], a + dp) - z
            dzm = _activate(acts[k], a + dm) - z
            if dzp == 0.0 and dzm == 0.0:
                continue
            lp = _logit_delta(k, n, j, dzp, dims, acts, W, w_off, X, x_off, A, a_off,
                              bufp, tmpp)
            lm = _logit_delta(k, n, j, dzm, dims, acts, W, w_off, X, x_off, A, a_off,
                              bufm, tmpm)
            acc += _loss_difference(E, S, n, lp, lm, t_ptr, t_idx, t_val)
        out[i, j] = acc / N / (2 * h)


@numba.njit(cache=True, error_model="numpy")
def _expm1_small(u: float) -> float:
    """exp(u) - 1 for |u| < 2**-9: Taylor to degree 6 (error below 1e-20 relative), no branch."""
    return u * (1.0 + u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u * (
        1.0 / 120.0 + u * (1.0 / 720.0))))))


@numba.njit(cache=True, error_model="numpy")
def _log1p_from_z(z: float) -> float:
    """log(1 + r) given z = r / (2 + r), as 2 atanh(z) to degree 9: exact to 2**-60 for
    |r| < 2**-6 (so |z| < 2**-7), with no branch."""
    z2 = z * z
    return 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (1.0 / 5.0 + z2 * (1.0 / 7.0 + z2 / 9.0))))


@numba.njit(cache=True, error_model="numpy")
def _nonzero_inputs(X, i, samples, inputs):
    """Fill samples/inputs with the rows n where X[n, i] != 0 (all rows, input 1, for i = d)."""
    N, d = X.shape
    count = 0
    for n in range(N):
        v = X[n, i] if i < d else 1.0
        if v != 0.0:
            samples[count] = n
            inputs[count] = v
            count += 1
    return count


@numba.njit(cache=True, error_model="numpy")
def _steps(W, b, i, h, hp, hm):
    """The steps the generic loop really takes: (w + h) - w and w - (w - h), w = W[i, :] or b."""
    for j in range(W.shape[1]):
        w = W[i, j] if i < W.shape[0] else b[j]
        hp[j] = (w + h) - w
        hm[j] = w - (w - h)


@numba.njit(cache=True, error_model="numpy")
def _last_row(i, out, h, X, W, b, E, S, t_ptr, t_idx, t_val):
    """Central differences for row i of the output Affine (logits = X W + b) into out[i, :]:
    W[i, :], or b for i = d_in.

    A weight W[i, j] moves logit j of sample n by X[n, i] * h, which changes its exponential
    by a factor exp(d): one expm1 and one log1p per sample, on tiny arguments.
    """
    N, d_in = X.shape
    C = W.shape[1]
    samples = np.empty(N, np.int64)
    inputs = np.empty(N)
    count = _nonzero_inputs(X, i, samples, inputs)
    hp = np.empty(C)
    hm = np.empty(C)
    _steps(W, b, i, h, hp, hm)
    acc = np.zeros(C)
    for q in range(count):
        n = samples[q]
        x = inputs[q]
        for r in range(t_ptr[n], t_ptr[n + 1]):
            label = t_idx[r]
            tv = t_val[r]
            for j in range(C):
                emp = _expm1_small(x * hp[j])
                emm = _expm1_small(-x * hm[j])
                pp = E[n, label] / (S[n] + E[n, j] * emp)
                pm = E[n, label] / (S[n] + E[n, j] * emm)
                if j == label:
                    pp *= 1.0 + emp
                    pm *= 1.0 + emm
                rel = (pm - pp) / (pp + LOG_GUARD)
                acc[j] += tv * _log1p_from_z(rel / (2.0 + rel))
    for j in range(C):
        out[i, j] = acc[j] / N / (2 * h)


@numba.njit(cache=True, error_model="numpy")
def _rank1_row(i, out, h, code, X, A, Z, Zc, W, b, WnT, E, S, t_ptr, t_idx, t_val):
    """Central differences for row i of the Affine before the output one (X W + b -> act ->
    Wn) into out[i, :]: W[i, :], or b for i = d_in.

    A weight W[i, j] moves unit j of sample n by dz, a rank-1 change dz * Wn[j, :] of its
    logits. dz comes from the cached activation (sigmoid: from s = Z and 1 - s = Zc), the
    new sum of exponentials S + D from the cached ones, and the loss difference
    log(p- / p+) from one ratio num / den written without cancellation.
    Every inner loop runs over the units j with two divisions, so it vectorises.
    """
    N, d_in = X.shape
    H = W.shape[1]
    C = WnT.shape[0]
    samples = np.empty(N, np.int64)
    inputs = np.empty(N)
    count = _nonzero_inputs(X, i, samples, inputs)
    hp = np.empty(H)
    hm = np.empty(H)
    _steps(W, b, i, h, hp, hm)
    acc = np.zeros(H)
    dzp = np.empty(H)
    dzm = np.empty(H)
    Dp = np.empty(H)
    Dm = np.empty(H)
    for q in range(count):
        n = samples[q]
        x = inputs[q]
        if code == SIGMOID:
            for j in range(H):
                sc = Zc[n, j]
                ep = sc * _expm1_small(-x * hp[j])
                em = sc * _expm1_small(x * hm[j])
                ratio = -Z[n, j] / ((1.0 + ep) * (1.0 + em))
                dzp[j] = ratio * ep * (1.0 + em)
                dzm[j] = ratio * em * (1.0 + ep)
        elif code == RELU:
            for j in range(H):
                a = A[n, j]
                ap = a + x * hp[j]
                am = a - x * hm[j]
                dzp[j] = (0.0 if ap <= 0.0 else ap) - Z[n, j]
                dzm[j] = (0.0 if am <= 0.0 else am) - Z[n, j]
        else:
            for j in range(H):
                dzp[j] = x * hp[j]
                dzm[j] = -x * hm[j]
        for j in range(H):
            Dp[j] = 0.0
            Dm[j] = 0.0
        for c in range(C):
            e = E[n, c]
            for j in range(H):
                Dp[j] += e * _expm1_small(dzp[j] * WnT[c, j])
                Dm[j] += e * _expm1_small(dzm[j] * WnT[c, j])
        s_n = S[n]
        for r in range(t_ptr[n], t_ptr[n + 1]):
            label = t_idx[r]
            e = E[n, label]
            tv = t_val[r]
            for j in range(H):
                fp = _expm1_small(dzp[j] * WnT[label, j])
                fm = _expm1_small(dzm[j] * WnT[label, j])
                sp = s_n + Dp[j]
                sm = s_n + Dm[j]
                num = e * ((Dp[j] - Dm[j]) + fm * sp - fp * sm)
                den = sm * (e * (1.0 + fp) + LOG_GUARD * sp)
                acc[j] += tv * _log1p_from_z(num / (2.0 * den + num))
    for j in range(H):
        out[i, j] = acc[j] / N / (2 * h)


# Each kernel fills one row of out per call; a serial and a parallel (prange) driver run it
# over all rows. One thread uses the serial driver, which starts no Numba thread pool.

@numba.njit(cache=True, error_model="numpy")
def _general_serial(out, *args):
    for i in range(out.shape[0]):
        _general_row(i, out, *args)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _general_parallel(out, *args):
    for i in prange(out.shape[0]):
        _general_row(i, out, *args)


@numba.njit(cache=True, error_model="numpy")
def _last_serial(out, *args):
    for i in range(out.shape[0]):
        _last_row(i, out, *args)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _last_parallel(out, *args):
    for i in prange(out.shape[0]):
        _last_row(i, out, *args)


@numba.njit(cache=True, error_model="numpy")
def _rank1_serial(out, *args):
    for i in range(out.shape[0]):
        _rank1_row(i, out, *args)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _rank1_parallel(out, *args):
    for i in prange(out.shape[0]):
        _rank1_row(i, out, *args)


def _activate_array(code: int, a: np.ndarray) -> np.ndarray:
    if code == SIGMOID:
        return sigmoid(a)
    if code == RELU:
        return np.where(a <= 0, 0.0, a)
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
    h: float = H,
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
