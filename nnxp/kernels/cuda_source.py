"""The CUDA C source of every kernel nnxp runs on CuPy, readable without CuPy or a GPU.

:mod:`nnxp.kernels.cupy` compiles these with NVRTC (through ``cupy.RawKernel``) at their first
call; ``tests/test_cuda_compile.py`` compiles every variant with nvcc for sm_80 and sm_90 on
machines without a GPU. Keeping the sources here, in pure Python, is what lets both happen.

Each kernel is one ``extern "C" __global__`` function in C-like CUDA with no ``#include``
(NVRTC has no system headers; ``exp`` and ``log`` are built in). Element counts, sizes and
indices are ``long long``. A kernel has a variant per element type (``float``, ``double``) and,
where it reads integer labels, per label type; the variant's types are written into the
function's name, so every variant can share one translation unit. All but the softmax walk a
flat index with a grid-stride loop, so any grid covers any size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from string import Template

FLOAT_TYPES: tuple[str, ...] = ("float", "double")
LABEL_TYPES: tuple[str, ...] = ("int", "long long")
"""Label types of the fused softmax with its loss (what NumPy's integer draws give)."""
ANY_INT_TYPES: tuple[str, ...] = (
    "signed char", "short", "int", "long long",
    "unsigned char", "unsigned short", "unsigned int", "unsigned long long",
)
"""Every integer type: the softmax gradient takes labels of any of them, as its reference."""
SOFTMAX_BLOCK = 256
"""Threads per block of the softmax kernel, whose per-block sum of losses has this size."""
NO_CONTRACTION: tuple[str, ...] = ("--fmad=false",)
"""Multiply and add rounded apart, as the reference's separate kernels round them."""

_LOOP = "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; " \
        "i += (long long)blockDim.x * gridDim.x)"

_RELU = """
extern "C" __global__ void $NAME(const $F* x, $F* y, bool* m, long long n) {
    $LOOP {
        bool off = x[i] <= ($F)0;
        m[i] = off;
        y[i] = off ? ($F)0 : x[i];
    }
}
"""

_ZERO_WHERE = """
extern "C" __global__ void $NAME(const bool* m, const $F* x, $F* y, long long n) {
    $LOOP {
        y[i] = m[i] ? ($F)0 : x[i];
    }
}
"""

_SUBTRACT_SCALED = """
extern "C" __global__ void $NAME($F* p, const $F* g, $F lr, long long n) {
    $LOOP {
        p[i] -= lr * g[i];
    }
}
"""

_SOFTMAX = """
extern "C" __global__ void $NAME(
        const $F* x, const $I* t, $F* y, $F* loss, long long n, long long c) {
    __shared__ double part[$BLOCK];
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    double row_loss = 0.0;
    if (row < n) {
        const $F* xr = x + row * c;
        $F* yr = y + row * c;
        $F top = xr[0];
        for (long long j = 1; j < c; ++j) top = xr[j] > top ? xr[j] : top;
        double total = 0.0;
        for (long long j = 0; j < c; ++j) {
            $F e = exp(xr[j] - top);
            yr[j] = e;
            total += (double)e;
        }
        for (long long j = 0; j < c; ++j) yr[j] = ($F)((double)yr[j] / total);
        long long label = (long long)t[row] % c;
        if (label < 0) label += c;
        row_loss = log(total) - (double)(xr[label] - top);
    }
    part[threadIdx.x] = row_loss;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(loss, ($F)(part[0] / (double)n));
}
"""

_SOFTMAX_GRAD = """
extern "C" __global__ void $NAME(
        const $F* y, const $I* t, $F* dx, long long c, $F rows, long long n) {
    $LOOP {
        $F v = y[i];
        dx[i] = ((i % c) == (long long)t[i / c] ? v - ($F)1 : v) / rows;
    }
}
"""

_IM2COL = """
extern "C" __global__ void $NAME(
        const $F* x, $F* col, long long n, long long C, long long H, long long W,
        long long FH, long long FW, long long OH, long long OW, long long stride,
        long long pad) {
    long long k = C * FH * FW;
    $LOOP {
        long long j = i % k, r = i / k;
        long long fx = j % FW, fy = (j / FW) % FH, c = j / (FW * FH);
        long long ox = r % OW, oy = (r / OW) % OH, b = r / (OW * OH);
        long long yy = oy * stride - pad + fy, xx = ox * stride - pad + fx;
        bool inside = yy >= 0 && yy < H && xx >= 0 && xx < W;
        col[i] = inside ? x[((b * C + c) * H + yy) * W + xx] : ($F)0;
    }
}
"""

_COL2IM = """
extern "C" __global__ void $NAME(
        const $F* dcol, $F* dx, long long n, long long C, long long H, long long W,
        long long FH, long long FW, long long OH, long long OW, long long stride,
        long long pad) {
    long long k = C * FH * FW;
    $LOOP {
        long long w = i % W, h = (i / W) % H, c = (i / (W * H)) % C, b = i / (W * H * C);
        $F sum = ($F)0;
        for (long long fy = 0; fy < FH; ++fy) {
            long long ty = h + pad - fy;
            if (ty < 0) break;
            if (ty % stride != 0 || ty / stride >= OH) continue;
            for (long long fx = 0; fx < FW; ++fx) {
                long long tx = w + pad - fx;
                if (tx < 0) break;
                if (tx % stride != 0 || tx / stride >= OW) continue;
                long long r = (b * OH + ty / stride) * OW + tx / stride;
                sum += dcol[r * k + (c * FH + fy) * FW + fx];
            }
        }
        dx[i] = sum;
    }
}
"""

_MAX_POOL = """
extern "C" __global__ void $NAME(
        const $F* x, $F* out, long long* arg, long long n, long long H, long long W,
        long long PH, long long PW, long long OH, long long OW, long long stride,
        long long pad) {
    $LOOP {
        long long ox = i % OW, oy = (i / OW) % OH, plane = i / (OW * OH);
        const $F* img = x + plane * H * W;
        $F top = ($F)0;
        long long at = 0;
        for (long long fy = 0; fy < PH; ++fy) {
            for (long long fx = 0; fx < PW; ++fx) {
                long long yy = oy * stride - pad + fy, xx = ox * stride - pad + fx;
                $F v = (yy >= 0 && yy < H && xx >= 0 && xx < W) ? img[yy * W + xx] : ($F)0;
                long long cell = fy * PW + fx;
                if (cell == 0) top = v;
                else if (v > top) { top = v; at = cell; }
                else if (v != v) top = v;
            }
        }
        out[i] = top;
        arg[i] = at;
    }
}
"""

_MAX_POOL_BACKWARD = """
extern "C" __global__ void $NAME(
        const $F* dout, const long long* arg, $F* dx, long long n, long long H, long long W,
        long long PH, long long PW, long long OH, long long OW, long long stride,
        long long pad) {
    $LOOP {
        long long w = i % W, h = (i / W) % H, plane = i / (W * H);
        $F sum = ($F)0;
        for (long long fy = 0; fy < PH; ++fy) {
            long long ty = h + pad - fy;
            if (ty < 0) break;
            if (ty % stride != 0 || ty / stride >= OH) continue;
            for (long long fx = 0; fx < PW; ++fx) {
                long long tx = w + pad - fx;
                if (tx < 0) break;
                if (tx % stride != 0 || tx / stride >= OW) continue;
                long long o = (plane * OH + ty / stride) * OW + tx / stride;
                sum += arg[o] == fy * PW + fx ? dout[o] : ($F)0;
            }
        }
        dx[i] = sum;
    }
}
"""


@dataclass(frozen=True)
class Kernel:
    """One kernel: its source template, the types it comes in and its compiler options.

    ``int_types`` is empty for a kernel that reads no labels.
    """

    name: str
    template: str
    float_types: tuple[str, ...] = FLOAT_TYPES
    int_types: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


KERNELS: dict[str, Kernel] = {k.name: k for k in (
    Kernel("relu_and_mask", _RELU),
    Kernel("zero_where", _ZERO_WHERE),
    Kernel("subtract_scaled", _SUBTRACT_SCALED, options=NO_CONTRACTION),
    Kernel("softmax_cross_entropy", _SOFTMAX, int_types=LABEL_TYPES),
    Kernel("softmax_cross_entropy_grad", _SOFTMAX_GRAD, int_types=ANY_INT_TYPES),
    Kernel("im2col", _IM2COL),
    Kernel("col2im", _COL2IM),
    Kernel("max_pool", _MAX_POOL),
    Kernel("max_pool_backward", _MAX_POOL_BACKWARD),
)}
"""Every kernel nnxp runs on CuPy, by name: the one place :mod:`nnxp.kernels.cupy` builds from."""


def function_name(name: str, float_type: str, int_type: str | None = None) -> str:
    """The C name of a variant: nnxp_<name>_<float type>[_<int type>], spaces as underscores."""
    parts = ["nnxp", name, float_type] + ([int_type] if int_type else [])
    return "_".join(parts).replace(" ", "_")


def source(name: str, float_type: str, int_type: str | None = None) -> tuple[str, str]:
    """(code, function name) of kernel ``name`` for elements of ``float_type`` and, for a
    kernel that reads labels, labels of ``int_type``; ValueError for a variant there is not."""
    kernel = KERNELS.get(name)
    if kernel is None:
        raise ValueError(f"no CUDA kernel {name!r}: there are {', '.join(KERNELS)}")
    if float_type not in kernel.float_types:
        raise ValueError(f"kernel {name} has no {float_type!r} variant")
    if (int_type is None) != (not kernel.int_types) or (
            int_type is not None and int_type not in kernel.int_types):
        raise ValueError(f"kernel {name} has no label type {int_type!r} variant")
    fn = function_name(name, float_type, int_type)
    code = Template(kernel.template).substitute(
        NAME=fn, F=float_type, I=int_type or "", LOOP=_LOOP, BLOCK=SOFTMAX_BLOCK)
    return code, fn


def variants() -> Iterator[tuple[str, str, str | None]]:
    """Every (name, float type, int type or None) a kernel comes in."""
    for kernel in KERNELS.values():
        for float_type in kernel.float_types:
            for int_type in kernel.int_types or (None,):
                yield kernel.name, float_type, int_type
