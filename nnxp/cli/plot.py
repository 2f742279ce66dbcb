"""``nnxp plot``: one of the book's figures to a PNG, chapter 6's optimizer comparison too."""

from __future__ import annotations

import argparse
import time
from typing import Any

from nnxp.argtypes import count, positive_int
from nnxp.backends import BACKEND_NAMES
from nnxp.cli import common
from nnxp.errors import NnxpError
from nnxp.optim import OPTIMIZERS
from nnxp.plot import FIGURES
from nnxp.plot.optimizers import BOOK_OPTIMIZERS

PLOT_OPTIMIZER_OPTIONS: dict[str, Any] = {
    "optimizers": list(BOOK_OPTIMIZERS), "iters": 500, "batch_size": 128,
    "dataset": "auto", "data_dir": None, "backend": "numpy", "device": None, "seed": 0,
}
"""The options of ``nnxp plot optimizers`` and their defaults (the book's, 500 iterations)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp plot`` to the subparsers."""
    parser = subparsers.add_parser(
        "plot", help="draw one of the book's figures to a PNG",
        description="Draw one of the book's figures to a PNG. `optimizers` is chapter 6's "
        "comparison: MultiLayerNet(784, [100]*4, 10) trained with each optimizer (book "
        "defaults) on the same batches from the same weights; the other options are its own.",
    )
    parser.add_argument("figure", choices=(*FIGURES, "optimizers"))
    parser.add_argument("-o", "--output", metavar="PNG", help="default: FIGURE.png")
    parser.add_argument("--optimizers", nargs="+", choices=list(OPTIMIZERS), metavar="NAME",
                        help="default: sgd momentum adagrad adam")
    parser.add_argument("--iters", type=positive_int, metavar="N",
                        help="updates per optimizer (default: 500; the book runs 2000)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N", help="default: 128")
    parser.add_argument("--dataset", help="auto (default), mnist or mnist-5k")
    parser.add_argument("--data-dir", help="a folder holding the four MNIST .gz files")
    parser.add_argument("--backend", choices=BACKEND_NAMES)
    parser.add_argument("--device")
    parser.add_argument("--seed", type=count, help="initial weights and batches (default: 0)")
    parser.add_argument("--threads", type=count, default=1, metavar="N", help=common.THREADS_HELP)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Draw one of the book's figures to a PNG."""
    from nnxp.files import distinct_outputs
    from nnxp.plot import plot_figure

    given = [key for key in PLOT_OPTIMIZER_OPTIONS if getattr(args, key) is not None]
    if args.figure != "optimizers":
        if given:
            raise NnxpError(f"{common.flag(given[0])} applies to `nnxp plot optimizers` only")
        distinct_outputs({"-o": args.output or f"{args.figure}.png"})
        path = plot_figure(args.figure, args.output or f"{args.figure}.png")
        print(f"{args.figure}: {path}")
        return 0
    return _plot_optimizers(args)


def _plot_optimizers(args: argparse.Namespace) -> int:
    """Chapter 6's figure: MultiLayerNet's loss with each optimizer, same batches, to a PNG."""
    from nnxp.files import distinct_outputs
    from nnxp.plot import require_matplotlib
    from nnxp.plot.optimizers import compare_optimizers, plot_optimizer_comparison, smooth_curve

    for key, default in PLOT_OPTIMIZER_OPTIONS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    path = args.output or "optimizers.png"
    distinct_outputs({"-o": path}, common.data_inputs(args.data_dir))
    require_matplotlib()
    backend = common.open_backend(args.backend, args.device, "float32")
    ((x_train, t_train), _), dataset = common.load_data(args.dataset, args.data_dir, quiet=False)
    if args.batch_size > x_train.shape[0]:
        raise NnxpError(f"--batch-size {args.batch_size} is larger than {dataset}'s "
                        f"{x_train.shape[0]} training images")
    print(f"optimizers: MultiLayerNet {x_train.shape[1]}-100-100-100-100-10 on {dataset} "
          f"({x_train.shape[0]} train) with {common.where(backend)} float32, "
          f"{common.plural(args.iters, 'iteration')} of batch {args.batch_size} each for "
          f"{', '.join(args.optimizers)}, seed {args.seed}", flush=True)
    started = time.perf_counter()
    with common.limit_threads(args.threads):
        losses = compare_optimizers(x_train, t_train, args.optimizers, args.iters,
                                    args.batch_size, backend=backend, seed=args.seed)
    final = ", ".join(f"{name} {smooth_curve(curve)[-1]:.4f}" for name, curve in losses.items())
    print(f"final loss (smoothed): {final}; {time.perf_counter() - started:.1f} s")
    print(f"optimizers: {plot_optimizer_comparison(losses, path)}")
    return 0
