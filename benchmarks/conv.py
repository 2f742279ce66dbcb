"""The book's conv nets, one training step: nnxp against PyTorch, the book's code and the
step's own matrix-product floor; then one Convolution layer against a plain loop.

    python -m benchmarks.conv [--backend numpy|cupy] [--nets simple,deep] [--repeats N]
                              [--threads 1] [--book-dir DIR] [--out FILE]

A step is what training does per mini-batch: forward, softmax cross-entropy, backward and
Adam (lr 0.001) on a batch of 100 MNIST-shaped images in float32, from the same initial
weights in every library. Nets: SimpleConvNet (chapter 7: conv 30x5x5 - ReLU - pool -
affine 100 - ReLU - affine 10) and DeepConvNet (chapter 8: six 3x3 convs, three pools, two
affines, dropout). Cases, timed in turn in one process (medians of --repeats samples):

- nnxp: ``net.gradient`` then ``Adam.update``, the default kernels (fused mode auto); and the
  Array API references alone (mode off), to show what the kernels buy.
- torch: the same net in PyTorch eager with autograd and ``torch.optim.Adam`` (CPU on
  --threads threads; CUDA with --backend cupy, timed with CUDA events).
- book: the book's own SimpleConvNet/DeepConvNet and Adam from a checkout of its repository
  (--book-dir, default $NNXP_BOOK_DIR; skipped when absent). Its weights are float64 (it
  draws them so), so it computes in float64.
- floor: only the matrix products nnxp's step performs (forward, the filters' and the
  data's gradients of every layer, the bias riding in the forward product), on arrays made
  beforehand: the least any im2col-and-BLAS step of these shapes could take. nnxp's step
  over this floor says how much its other work costs.

After the interleaved cases, PyTorch once more with its default thread count, for the
record. On the CPU every library runs on --threads threads (default 1). Before timing, the
first losses of nnxp and torch are compared (DeepConvNet's without dropout). Then the
layer section: one Convolution forward + backward on SimpleConvNet's shapes against a
nested-loop NumPy convolution (timed on --loop-images images, scaled to 100) and PyTorch's
conv2d. Writes benchmarks/results/conv.json (conv_<backend>.json for another backend).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import (
    RESULTS,
    Clock,
    CudaEventClock,
    interleaved_times,
    limit_threads,
    load_average,
    machine,
    print_table,
    write_json,
)
from nnxp.backends import Backend, get_backend
from nnxp.conv import Convolution
from nnxp.kernels.dispatch import use_fused
from nnxp.layers import Affine
from nnxp.models.conv import DeepConvNet, SimpleConvNet
from nnxp.optim import Adam

BATCH = 100
NETS = {"simple": SimpleConvNet, "deep": DeepConvNet}


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


def nnxp_step(be: Backend, name: str, x: Any, t: Any, mode: str) -> tuple[Any, Callable[[], Any]]:
    """(net, step) for nnxp in fused mode ``mode``, seed 0."""
    net = NETS[name](backend=be, dtype="float32", seed=0)
    optimizer = Adam(0.001)

    def step() -> Any:
        optimizer.update(net.params, net.gradient(x, t))

    def step_in_mode() -> Any:
        with use_fused(mode):
            step()

    return net, step if mode == "auto" else step_in_mode


def torch_model(name: str, net: Any, device: str) -> Any:
    """The same net in torch.nn with nnxp's initial weights (affine weights transposed)."""
    import torch
    from torch import nn

    if name == "simple":
        layers = [nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                  nn.Linear(4320, 100), nn.ReLU(), nn.Linear(100, 10)]
    else:
        layers, channels = [], 1
        for i, p in enumerate(net.conv_params, 1):
            layers += [nn.Conv2d(channels, p["filter_num"], p["filter_size"],
                                 padding=p["pad"]), nn.ReLU()]
            channels = p["filter_num"]
            if i % 2 == 0:
                layers.append(nn.MaxPool2d(2, 2))
        layers += [nn.Flatten(), nn.Linear(1024, 50), nn.ReLU(), _book_dropout(0.5),
                   nn.Linear(50, 10), _book_dropout(0.5)]
    model = nn.Sequential(*layers)
    weighted = [m for m in model if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        for i, module in enumerate(weighted, 1):
            W = np.asarray(net.backend.to_numpy(net.params[f"W{i}"]))
            module.weight.copy_(torch.from_numpy(W.T.copy() if W.ndim == 2 else W.copy()))
            module.bias.copy_(torch.from_numpy(net.backend.to_numpy(net.params[f"b{i}"])))
    return model.to(device)


def _book_dropout(ratio: float) -> Any:
    """The book's dropout in torch: x * mask in training, x * (1 - ratio) in inference
    (torch's own scales by 1 / (1 - ratio) in training instead: another function)."""
    import torch
    from torch import nn

    class BookDropout(nn.Module):
        def forward(self, x: Any) -> Any:
            if self.training:
                return x * (torch.rand_like(x) > ratio)
            return x * (1.0 - ratio)

    return BookDropout()


def torch_step(model: Any, x: Any, t: Any) -> Callable[[], Any]:
    import torch
    import torch.nn.functional as F

    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    model.train()

    def step() -> Any:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), t).backward()
        optimizer.step()

    return step


def book_step(book_dir: Path, name: str, x: np.ndarray, t: np.ndarray) -> Callable[[], Any]:
    """The book's own net and Adam, imported from its repository (float64 weights)."""
    sys.path[:0] = [str(book_dir), str(book_dir / ("ch07" if name == "simple" else "ch08"))]
    from common.optimizer import Adam as BookAdam

    if name == "simple":
        from simple_convnet import SimpleConvNet as Book
    else:
        from deep_convnet import DeepConvNet as Book
    np.random.seed(0)
    net, optimizer = Book(), BookAdam(lr=0.001)

    def step() -> Any:
        optimizer.update(net.params, net.gradient(x, t))

    return step


def product_shapes(net: Any, x: Any) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (a, b) shapes of every matrix product in nnxp's step, read from one forward."""
    shapes: list[tuple[tuple[int, int], tuple[int, int]]] = []
    net.predict(x, train_flg=True)
    first = True
    for layer in net.layers:
        if isinstance(layer, Convolution):
            fn, c, fh, fw = layer.W.shape
            n, _, h, w = layer.x.shape
            oh = (h + 2 * layer.pad - fh) // layer.stride + 1
            ow = (w + 2 * layer.pad - fw) // layer.stride + 1
            rows, k = n * oh * ow, c * fh * fw
            shapes += [((rows, k + 1), (k + 1, fn)), ((fn, rows), (rows, k))]
            if not first:
                shapes.append(((n * h * w, fh * fw * fn), (fh * fw * fn, c)))
        elif isinstance(layer, Affine):
            n, d = layer.x.shape
            m = layer.W.shape[1]
            shapes += [((n, d), (d, m)), ((d, n), (n, m))]
            if not first:
                shapes.append(((n, m), (m, d)))
        else:
            continue
        first = False
    return shapes


def floor_case(be: Backend, shapes: list[tuple[tuple[int, int], tuple[int, int]]]) -> Callable[[], Any]:
    """Every product of ``shapes`` on arrays made beforehand (on NumPy into outputs made
    beforehand too; the Array API's matmul takes no ``out``)."""
    rng = np.random.default_rng(1)
    operands = [(be.asarray(rng.random(a, dtype=np.float32)),
                 be.asarray(rng.random(b, dtype=np.float32)),
                 be.xp.empty((a[0], b[1]), dtype=be.xp.float32, device=be.device))
                for a, b in shapes]

    def run() -> Any:
        for a, b, out in operands:
            if be.name == "numpy":
                np.matmul(a, b, out=out)
            else:
                out = a @ b  # noqa: F841 - the product is the work timed
        be.synchronize()

    return run


def step_section(args: argparse.Namespace, be: Backend, name: str) -> dict[str, Any]:
    """Every case for one net: medians, samples, ratios and the loss check."""
    rng = np.random.default_rng(0)
    host_x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    host_t = rng.integers(0, 10, BATCH)
    x, t = be.asarray(host_x), be.asarray(host_t)
    net, nnxp_run = nnxp_step(be, name, x, t, "auto")
    cases: dict[str, Callable[[], Any]] = {"nnxp": nnxp_run}
    clocks: dict[str, Clock] = {}
    if be.name == "cupy":
        clocks["nnxp"] = CudaEventClock("cupy")
    if args.references:
        cases["nnxp (references only)"] = nnxp_step(be, name, x, t, "off")[1]
    check: dict[str, Any] = {}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        device = "cuda" if be.name == "cupy" else "cpu"
        model = torch_model(name, net, device)
        xt = torch.from_numpy(host_x).to(device)
        tt = torch.from_numpy(host_t).to(device)
        model.eval()
        with torch.no_grad():
            torch_loss = float(torch.nn.functional.cross_entropy(model(xt), tt))
        nnxp_loss = float(net.loss(x, t, train_flg=False))
        check = {"nnxp_loss": nnxp_loss, "torch_loss": torch_loss}
        if abs(nnxp_loss - torch_loss) > 1e-4 * max(1.0, abs(torch_loss)):
            raise SystemExit(f"{name}: nnxp's loss {nnxp_loss} differs from torch's {torch_loss}")
        label = "torch CUDA" if device == "cuda" else f"torch CPU ({args.threads} thread)"
        cases[label] = torch_step(model, xt, tt)
        if device == "cuda":
            clocks[label] = CudaEventClock("torch")
    if args.book_dir and be.name == "numpy":
        cases["book (float64)"] = book_step(Path(args.book_dir), name, host_x, host_t)
    shapes = product_shapes(net, x)
    cases["matrix-product floor"] = floor_case(be, shapes)
    if be.name == "cupy":
        clocks["matrix-product floor"] = CudaEventClock("cupy")
        if "nnxp (references only)" in cases:
            clocks["nnxp (references only)"] = CudaEventClock("cupy")
    repeats = args.repeats if name == "simple" else max(3, args.repeats // 3)
    times = interleaved_times(cases, repeats, warmup=args.warmup, clocks=clocks)
    seconds = {k: {"median": statistics.median(v), "all": v} for k, v in times.items()}
    if torch is not None and be.name == "numpy":
        default = torch_default_threads(cases[label], repeats, args.warmup)
        seconds[f"torch CPU (default threads: {default['threads']})"] = default
    base = seconds["nnxp"]["median"]
    floor = seconds["matrix-product floor"]["median"]
    return {
        "seconds": seconds,
        "ratio_to_nnxp": {k: v["median"] / base for k, v in seconds.items()},
        "nnxp_over_floor": base / floor,
        "products": [list(map(list, s)) for s in shapes],
        "product_flops": sum(2 * a[0] * a[1] * b[1] for a, b in shapes),
        "loss_check": check,
        "load_average_after": load_average(),
    }


def torch_default_threads(run: Callable[[], Any], repeats: int, warmup: int) -> dict[str, Any]:
    """The torch case again with torch's own default thread count, then the limit restored."""
    import torch

    before = torch.get_num_threads()
    default = os.cpu_count() or 1
    torch.set_num_threads(default)
    try:
        times = interleaved_times({"torch": run}, repeats, warmup=warmup)["torch"]
    finally:
        torch.set_num_threads(before)
    return {"median": statistics.median(times), "all": times, "threads": default}


def layer_section(args: argparse.Namespace) -> dict[str, Any]:
    """One Convolution layer (forward + backward) on SimpleConvNet's shapes."""
    n, c, h, w, fn, fh, fw = 100, 1, 28, 28, 30, 5, 5
    rng = np.random.default_rng(0)
    x = rng.random((n, c, h, w), dtype=np.float32)
    Wt = (0.01 * rng.standard_normal((fn, c, fh, fw))).astype(np.float32)
    b = np.zeros(fn, dtype=np.float32)
    dout = rng.standard_normal((n, fn, h - fh + 1, w - fw + 1)).astype(np.float32)
    layer = Convolution(Wt, b)
    np.testing.assert_allclose(layer.forward(x)[:1], loop_conv_forward_backward(
        x[:1], Wt, b, dout[:1])[0], rtol=1e-4, atol=1e-5)

    def nnxp_run() -> Any:
        layer.forward(x)
        return layer.backward(dout)

    cases = {"nnxp Convolution": nnxp_run}
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        torch = None
    if torch is not None:
        xt, dt = torch.from_numpy(x), torch.from_numpy(dout)
        Wtt = torch.from_numpy(Wt).requires_grad_(True)
        bt = torch.from_numpy(b).requires_grad_(True)

        def torch_run() -> Any:
            xg = xt.detach().requires_grad_(True)
            Wtt.grad = bt.grad = None
            F.conv2d(xg, Wtt, bt).backward(dt)
            return xg.grad

        cases["torch conv2d + autograd"] = torch_run
    times = interleaved_times(cases, args.repeats, warmup=args.warmup)
    seconds = {k: {"median": statistics.median(v), "all": v} for k, v in times.items()}
    k = args.loop_images
    loop = interleaved_times({"loop": lambda: loop_conv_forward_backward(
        x[:k], Wt, b, dout[:k])}, 3)["loop"]
    scaled = [s * n / k for s in loop]
    seconds["plain loop (scaled)"] = {"median": statistics.median(scaled), "all": scaled,
                                      "measured_images": k}
    base = seconds["nnxp Convolution"]["median"]
    return {"seconds": seconds, "ratio_to_nnxp": {k: v["median"] / base
                                                  for k, v in seconds.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--nets", default="simple,deep", help="comma-separated: simple, deep")
    parser.add_argument("--repeats", type=int, default=30,
                        help="samples of each case (DeepConvNet: a third)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds before timing")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--book-dir", default=os.environ.get("NNXP_BOOK_DIR"),
                        help="a checkout of the book's repository (default: $NNXP_BOOK_DIR)")
    parser.add_argument("--no-references", dest="references", action="store_false",
                        help="skip nnxp with its references alone")
    parser.add_argument("--loop-images", type=int, default=2,
                        help="images the loop convolution is timed on (then scaled to 100)")
    parser.add_argument("--out", help="JSON file to write (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    limits = limit_threads(args.threads)
    be = get_backend(args.backend, dtype="float32")
    gpu = None
    if args.backend == "cupy":
        import cupy

        gpu = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    result: dict[str, Any] = {
        "benchmark": "conv",
        "what": "one training step (forward, loss, backward, Adam) of the book's conv nets, "
                "batch 100, float32; and one Convolution layer",
        "backend": args.backend,
        "threads": args.threads,
        "repeats": args.repeats,
        "machine": {**machine(gpu=gpu, libraries=("numpy", "numba", "torch", "cupy")),
                    "torch_threads": limits["torch"]},
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE",
                                                          "OPENBLAS_L2_SIZE")},
        "steps": {},
    }
    rows = []
    for name in args.nets.split(","):
        section = step_section(args, be, name)
        result["steps"][name] = section
        for case, entry in section["seconds"].items():
            rows.append({"net": name, "case": case, "median ms": 1e3 * entry["median"],
                         "x nnxp": section["ratio_to_nnxp"][case]})
        print(f"{name}: nnxp is {section['nnxp_over_floor']:.2f}x its matrix-product floor")
    if args.backend == "numpy":
        result["layer"] = layer_section(args)
        for case, entry in result["layer"]["seconds"].items():
            rows.append({"net": "layer", "case": case, "median ms": 1e3 * entry["median"],
                         "x nnxp": result["layer"]["ratio_to_nnxp"][case]})
    print_table(rows, ["net", "case", "median ms", "x nnxp"])
    name = "conv" if args.backend == "numpy" else f"conv_{args.backend}"
    out = args.out or RESULTS / f"{name}.json"
    print(f"wrote {write_json(name, result, out=out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
