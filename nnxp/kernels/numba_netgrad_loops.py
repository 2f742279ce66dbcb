"""The compiled row kernels of :mod:`nnxp.kernels.numba_netgrad` (see its docstring).

Each ``_*_row`` fills one row of a weight matrix's numerical gradient (the last row holds
the bias); the ``_serial`` and ``_parallel`` drivers loop over rows, the latter in ``prange``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

LOG_GUARD = 1e-300
"""Added to probabilities inside logs: 0 for any that does not underflow."""

IDENTITY, SIGMOID, RELU, TANH = 0, 1, 2, 3
ACTIVATION_CODES = {"identity": IDENTITY, "sigmoid": SIGMOID, "relu": RELU, "tanh": TANH}

_SMALL = 2.0**-9
"""Below this |u|, expm1(u) is its Taylor polynomial of degree 6 (error < 1e-20 relative)."""

_SLOPE = {IDENTITY: 1.0, SIGMOID: 0.26, RELU: 1.0, TANH: 1.01}
"""Bounds on |act(a + d) - act(a)| / |d| (sigmoid: 1/4, tanh: 1, with room for rounding)."""


@numba.njit(cache=True, error_model="numpy")
def _activate(code: int, v: float) -> float:
    """The activation of one value, as the layers compute it (ReLU: 0 where v <= 0)."""
    if code == SIGMOID:
        e = math.exp(-abs(v))
        return 1.0 / (1.0 + e) if v >= 0.0 else e / (1.0 + e)
    if code == RELU:
        return 0.0 if v <= 0.0 else v
    if code == TANH:
        return math.tanh(v)
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
    logits. dz comes from the cached activation (sigmoid: from s = Z and 1 - s = Zc; tanh:
    a difference of tangents written as one quotient, without cancellation), the
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
        elif code == TANH:
            for j in range(H):  # tanh(a + d) - tanh(a) = sinh(d) / (cosh(a + d) cosh(a))
                a = A[n, j]
                up = x * hp[j]
                down = -x * hm[j]
                ca = math.cosh(a)
                dzp[j] = math.sinh(up) / (math.cosh(a + up) * ca)
                dzm[j] = math.sinh(down) / (math.cosh(a + down) * ca)
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
