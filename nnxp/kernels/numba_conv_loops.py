"""The compiled loops of :mod:`nnxp.kernels.numba_conv`, imported when a conv kernel first runs.

Images here are channels-last, (N, H, W, C): a filter row of fw pixels is then fw * C
contiguous numbers, copied in one run. Indices are unsigned where they cannot be negative,
so that the copies compile to vector loads and stores (a signed index costs a wraparound
check per element). No fastmath: NaN must reach the loss.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)


@jit
def im2col_rows(padded, r0, r1, fh, fw, stride, oh, ow, col):  # pragma: no cover - compiled
    """Rows r0..r1 of the im2col matrix of ``padded`` (N, Hp, Wp, C), C-contiguous and
    already padded, into the first fh * fw * C columns of col (r1 - r0, width), C-contiguous,
    columns in (fy, fx, c) order (the ones after them are left as they are)."""
    _, hp, wp, c = padded.shape
    src = padded.reshape(padded.size)
    dst = col.reshape(col.size)
    width = np.uint64(col.shape[1])
    run = np.uint64(fw * c)
    start = np.uint64(0)
    for row in range(r0, r1):
        n, pos = divmod(row, oh * ow)
        oy, ox = divmod(pos, ow)
        o = start
        for fy in range(fh):
            s = np.uint64(((n * hp + oy * stride + fy) * wp + ox * stride) * c)
            for j in range(run):
                dst[o + j] = src[s + j]
            o += run
        start += width


@jit
def col2im_rows(col, r0, r1, fh, fw, stride, oh, ow, padded):  # pragma: no cover - compiled
    """The adjoint of :func:`im2col_rows`: rows r0..r1 of an im2col matrix col (r1 - r0,
    fh * fw * C), C-contiguous, added back onto padded (N, Hp, Wp, C), C-contiguous."""
    _, hp, wp, c = padded.shape
    src = col.reshape(col.size)
    dst = padded.reshape(padded.size)
    run = np.uint64(fw * c)
    o = np.uint64(0)
    for row in range(r0, r1):
        n, pos = divmod(row, oh * ow)
        oy, ox = divmod(pos, ow)
        for fy in range(fh):
            s = np.uint64(((n * hp + oy * stride + fy) * wp + ox * stride) * c)
            for j in range(run):
                dst[s + j] += src[o + j]
            o += run


@jit
def max_pool_nhwc(x, ph, pw, stride, out, arg):  # pragma: no cover - compiled
    """out[n, y, x, c]: the maximum of each window of x (N, Hp, Wp, C), padded by the
    caller; arg: the first cell (fy * pw + fx) holding it, as the reference's running
    comparison (NaN wins the maximum and freezes the index). All three C-contiguous;
    channels innermost."""
    _, hp, wp, c = x.shape
    n_img, oh, ow, _ = out.shape
    src, best, at = x.reshape(x.size), out.reshape(out.size), arg.reshape(arg.size)
    uc = np.uint64(c)
    o = np.uint64(0)
    for n in range(n_img):
        for oy in range(oh):
            for ox in range(ow):
                s = np.uint64(((n * hp + oy * stride) * wp + ox * stride) * c)
                for ch in range(uc):
                    best[o + ch] = src[s + ch]
                    at[o + ch] = 0
                for k in range(1, ph * pw):
                    fy, fx = divmod(k, pw)
                    s = np.uint64(((n * hp + oy * stride + fy) * wp + ox * stride + fx) * c)
                    for ch in range(uc):
                        v = src[s + ch]
                        b = best[o + ch]
                        bigger = v > b
                        at[o + ch] = k if bigger else at[o + ch]
                        best[o + ch] = v if bigger or v != v else b
                o += uc


@jit
def max_pool_backward_nhwc(dout, arg, ph, pw, stride, dimg, tiled):  # pragma: no cover
    """Each window's gradient dout (N, OH, OW, C) at the cell arg names in dimg (N, Hp, Wp,
    C), all C-contiguous. ``tiled``: the windows tile dimg exactly (stride = pool size), so
    every cell is written once and dimg needs no zeroing; otherwise dimg is zeroed and sums
    overlaps."""
    n_img, oh, ow, c = dout.shape
    _, hp, wp, _ = dimg.shape
    g, at, dst = dout.reshape(dout.size), arg.reshape(arg.size), dimg.reshape(dimg.size)
    zero = dout.dtype.type(0)
    uc = np.uint64(c)
    o = np.uint64(0)
    for n in range(n_img):
        for oy in range(oh):
            for ox in range(ow):
                for k in range(ph * pw):
                    fy, fx = divmod(k, pw)
                    s = np.uint64(((n * hp + oy * stride + fy) * wp + ox * stride + fx) * c)
                    if tiled:
                        for ch in range(uc):
                            dst[s + ch] = g[o + ch] if at[o + ch] == k else zero
                    else:
                        for ch in range(uc):
                            dst[s + ch] += g[o + ch] if at[o + ch] == k else zero
                o += uc
