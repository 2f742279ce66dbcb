"""The book's chapter-6 optimizer comparison on MNIST: SGD, Momentum, AdaGrad and Adam
training MultiLayerNet(784, [100]*4, 10) on the same mini-batches (batch 128).

Uses the first --train-size training images (default 10,000) and --iterations updates
(default 500; the book runs 2,000). Reads MNIST with nnxp.datasets when it is installed, else
with a minimal IDX reader from --data-dir (default: NNXP_DATA_DIR, else ../shared/data/mnist
next to the repository). Draws the smoothed loss curves to
benchmarks/results/optimizer_compare.png and writes the per-optimizer losses and times to
optimizer_compare.json beside it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnxp.plot_optimizers import (  # noqa: E402
    BOOK_OPTIMIZERS,
    compare_optimizers,
    plot_optimizer_comparison,
    smooth_curve,
)

RESULTS = ROOT / "benchmarks" / "results"


def read_idx(path: Path) -> np.ndarray:
    """A gzip'd IDX file (MNIST's format) as a uint8 array, its header checked."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[:3] != b"\0\0\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(dims)):
        size = len(data) - offset
        raise ValueError(f"{path}: header says {dims} but the file holds {size} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_train(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training images (N, 784) in [0, 1] float32 and labels (N,)."""
    try:
        from nnxp.datasets import load_mnist
    except ImportError:
        x = read_idx(data_dir / "train-images-idx3-ubyte.gz").reshape(-1, 784)
        t = read_idx(data_dir / "train-labels-idx1-ubyte.gz")
        return x.astype(np.float32) / 255.0, t.astype(np.int64)
    (x, t), _ = load_mnist(normalize=True, flatten=True, one_hot_label=False, data_dir=data_dir)
    return x, t


def main(argv: list[str] | None = None) -> int:
    default = os.environ.get("NNXP_DATA_DIR") or str(ROOT / ".." / "shared" / "data" / "mnist")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=default, help="folder holding the MNIST gz files")
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "optimizer_compare.png"))
    args = parser.parse_args(argv)
    folder = Path(args.data_dir).resolve()
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        print(f"optimizer_compare: skipped, the MNIST gz files are not in {folder}")
        return 0
    x, t = load_train(folder)
    x, t = x[: args.train_size], t[: args.train_size]

    seconds, losses = {}, {}
    for name in BOOK_OPTIMIZERS:
        start = time.perf_counter()
        losses.update(compare_optimizers(x, t, [name], args.iterations, args.batch_size,
                                         backend=args.backend, seed=args.seed))
        seconds[name] = time.perf_counter() - start
    png = plot_optimizer_comparison(losses, args.out)
    final = {name: float(smooth_curve(curve)[-1]) for name, curve in losses.items()}
    print(f"{'optimizer':<10} {'final loss (smoothed)':>22} {'seconds':>8}")
    for name in BOOK_OPTIMIZERS:
        print(f"{name:<10} {final[name]:>22.4f} {seconds[name]:>8.1f}")
    result = {
        "benchmark": "optimizer_compare",
        "what": "MultiLayerNet(784, [100]*4, 10), batch 128, same batches and initial weights",
        "iterations": args.iterations,
        "batch_size": args.batch_size,
        "train_size": int(x.shape[0]),
        "backend": args.backend,
        "machine": {"cpu_threads": os.cpu_count(), "platform": platform.platform(),
                    "numpy": np.__version__},
        "final_loss_smoothed": final,
        "seconds": seconds,
        "loss": {name: [round(v, 5) for v in curve] for name, curve in losses.items()},
        "png": os.path.relpath(png, ROOT),
    }
    out_json = Path(args.out).with_suffix(".json")
    out_json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {png} and {out_json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
