"""The book's chapter-6 optimizer comparison on MNIST: SGD, Momentum, AdaGrad and Adam
training MultiLayerNet(784, [100]*4, 10) on the same mini-batches (batch 128).

Uses the first --train-size training images (default 10,000) and --iterations updates
(default 500; the book runs 2,000). Reads MNIST with nnxp.datasets.load_mnist from --data-dir
(default: NNXP_DATA_DIR, else ../shared/data/mnist next to the repository). Draws the smoothed
loss curves to benchmarks/results/optimizer_compare.png and writes the per-optimizer losses and
times, with the machine, to optimizer_compare.json beside it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks.harness import RESULTS, ROOT, default_data_dir, machine, write_json
from nnxp.datasets import load_mnist
from nnxp.plot.optimizers import (
    BOOK_OPTIMIZERS,
    compare_optimizers,
    plot_optimizer_comparison,
    smooth_curve,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=default_data_dir(),
                        help="folder holding the MNIST gz files")
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
    (x, t), _ = load_mnist(data_dir=folder)
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
        "machine": machine(),
        "final_loss_smoothed": final,
        "seconds": seconds,
        "loss": {name: [round(v, 5) for v in curve] for name, curve in losses.items()},
        "png": os.path.relpath(png, ROOT),
    }
    out_json = write_json("optimizer_compare", result, out=Path(args.out).with_suffix(".json"))
    print(f"wrote {png} and {out_json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
