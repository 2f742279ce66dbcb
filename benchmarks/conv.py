"""Convolution forward + backward on SimpleConvNet's shapes: nnxp's im2col layer against a
plain nested-loop NumPy convolution and PyTorch's CPU conv2d with autograd.

Shapes: a batch of 100 images 1x28x28, 30 filters 5x5, stride 1, no padding (the book's
chapter 7). Each case runs forward then backward with the same upstream gradient. The loop
convolution is timed on the first few images (--loop-images) and scaled by 100 / that
number: its cost is linear in the batch, one Python iteration per (image, filter, y, x).
Every library runs on --threads threads (default 1: the machines here are shared, and a
second BLAS thread waiting on a busy core made timings swing tenfold). Medians after warm-up;
prints a table and writes benchmarks/results/conv.json with the machine (CPU model, threads,
library versions).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import numpy as np

from benchmarks.harness import RESULTS, interleaved_times, limit_threads, machine, write_json
from nnxp.backends import get_backend
from nnxp.conv import Convolution

N, C, H, W = 100, 1, 28, 28
FN, FH, FW = 30, 5, 5


def loop_conv_forward_backward(x, Wt, b, dout):
    """The convolution written plainly: a Python loop over image, filter and output pixel."""
    n_img, _, h, w = x.shape
    fn, _, fh, fw = Wt.shape
    out_h, out_w = h - fh + 1, w - fw + 1
    out = np.zeros((n_img, fn, out_h, out_w), dtype=x.dtype)
    for n in range(n_img):
        for f in range(fn):
            for i in range(out_h):
                for j in range(out_w):
                    out[n, f, i, j] = np.sum(x[n, :, i : i + fh, j : j + fw] * Wt[f]) + b[f]
    dx, dW = np.zeros_like(x), np.zeros_like(Wt)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(n_img):
        for f in range(fn):
            for i in range(out_h):
                for j in range(out_w):
                    g = dout[n, f, i, j]
                    dW[f] += g * x[n, :, i : i + fh, j : j + fw]
                    dx[n, :, i : i + fh, j : j + fw] += g * Wt[f]
    return out, dx, dW, db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="timed runs of each fast case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--loop-images", type=int, default=2,
                        help="images the loop convolution is timed on (then scaled to 100)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--out", default=str(RESULTS / "conv.json"), help="JSON file to write")
    args = parser.parse_args(argv)
    limits = limit_threads(args.threads)
    host = {**machine(libraries=("numpy", "torch")), "torch_threads": limits["torch"]}

    rng = np.random.default_rng(0)
    x = rng.random((N, C, H, W)).astype(args.dtype)
    Wt = (0.01 * rng.standard_normal((FN, C, FH, FW))).astype(args.dtype)
    b = np.zeros(FN, dtype=args.dtype)
    dout = rng.standard_normal((N, FN, H - FH + 1, W - FW + 1)).astype(args.dtype)
    seconds: dict[str, dict[str, object]] = {}

    def nnxp_case(backend_name: str) -> Callable[[], object]:
        be = get_backend(backend_name, dtype=args.dtype)
        layer = Convolution(be.asarray(Wt), be.asarray(b))
        xb, db_ = be.asarray(x), be.asarray(dout)

        def run() -> object:
            layer.forward(xb)
            dx = layer.backward(db_)
            be.synchronize()
            return dx

        out = be.to_numpy(layer.forward(xb))
        ref = loop_conv_forward_backward(x[:1], Wt, b, dout[:1])[0]
        np.testing.assert_allclose(out[:1], ref, rtol=1e-4, atol=1e-5)
        return run

    cases = {"nnxp im2col (numpy)": nnxp_case("numpy")}
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        torch = None
    if torch is not None:
        cases["nnxp im2col (torch backend)"] = nnxp_case("torch")
        xt = torch.from_numpy(x)
        Wtt = torch.from_numpy(Wt).requires_grad_(True)
        bt = torch.from_numpy(b).requires_grad_(True)
        dt = torch.from_numpy(dout)

        def torch_run() -> object:
            xg = xt.detach().requires_grad_(True)
            Wtt.grad = bt.grad = None
            F.conv2d(xg, Wtt, bt).backward(dt)
            return xg.grad

        cases["torch conv2d + autograd (CPU)"] = torch_run
    for name, times in interleaved_times(cases, args.repeat, warmup=args.warmup).items():
        seconds[name] = {"median": statistics.median(times), "all": times}

    k = args.loop_images
    loop_args = (x[:k], Wt, b, dout[:k])
    loop = interleaved_times({"loop": lambda: loop_conv_forward_backward(*loop_args)}, 3)
    times = [t * N / k for t in loop["loop"]]
    seconds["plain loop (numpy)"] = {
        "median": statistics.median(times), "all": times, "measured_images": k, "scaled_by": N / k,
    }

    base = seconds["nnxp im2col (numpy)"]["median"]
    ratios = {name: entry["median"] / base for name, entry in seconds.items()}
    result = {
        "benchmark": "conv",
        "what": "Convolution forward + backward, batch 100 of 1x28x28, 30 filters 5x5",
        "dtype": args.dtype,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "threads": args.threads,
        "blas_threads_limited": not isinstance(limits["blas"], str),
        "machine": host,
        "seconds": seconds,
        "ratio_to_nnxp_numpy": ratios,
    }
    print(f"{'case':<34} {'median ms':>10} {'x nnxp(numpy)':>14}")
    for name, entry in seconds.items():
        print(f"{name:<34} {1e3 * entry['median']:>10.2f} {ratios[name]:>14.2f}")
    print(f"wrote {write_json('conv', result, out=args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
