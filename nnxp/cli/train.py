"""``nnxp train``: train a net on MNIST as the book's chapter 4-8 scripts do, and report.

The architecture options come from :mod:`nnxp.cli.model_options`; each optimizer option
(momentum, beta1, ...) from the optimizers' signatures, so a new optimizer's parameters
become options without a change here.
"""

from __future__ import annotations

import argparse
import inspect
import math
import time
from typing import Any

from nnxp.argtypes import count, positive_int, train_dtype
from nnxp.backends import BACKEND_NAMES, DTYPES
from nnxp.cli.common import (
    EVAL_BATCH_IMAGES,
    THREADS_HELP,
    data_inputs,
    flag,
    limit_threads,
    load_data,
    open_backend,
    plural,
    where,
)
from nnxp.cli.model_options import (
    MNIST_IMAGE,
    add_model_arguments,
    describe,
    network_config,
)
from nnxp.errors import NnxpError
from nnxp.models.options import takes_images
from nnxp.optim import OPTIMIZERS


def _optimizer_options() -> dict[str, tuple[tuple[str, ...], float]]:
    """Each optimizer hyperparameter but lr (momentum, beta1, ...) -> (takers, book default).

    Read from the optimizers' signatures, so a new optimizer's parameters become options.
    """
    options: dict[str, tuple[tuple[str, ...], float]] = {}
    for name, cls in OPTIMIZERS.items():
        for param in inspect.signature(cls.__init__).parameters.values():
            if param.name in ("self", "lr") or param.default is param.empty:
                continue
            takers, default = options.get(param.name, ((), param.default))
            options[param.name] = ((*takers, name), default)
    return options


OPTIMIZER_OPTIONS = _optimizer_options()


def _optimizer_param(args: argparse.Namespace) -> dict[str, float]:
    """lr and the optimizer options given, checked: each must belong to --optimizer."""
    from nnxp.optim import get_optimizer

    param = {"lr": args.lr}
    for key, (takers, _) in OPTIMIZER_OPTIONS.items():
        value = getattr(args, key)
        if value is None:
            continue
        if args.optimizer not in takers:
            raise NnxpError(
                f"{flag(key)} applies to --optimizer {' or '.join(takers)}, not {args.optimizer}"
            )
        param[key] = value
    try:
        get_optimizer(args.optimizer, **param)  # values out of range fail here, before loading
    except NnxpError as exc:
        raise NnxpError(f"--optimizer {args.optimizer}: {exc}") from None
    return param


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp train`` to the subparsers."""
    train = subparsers.add_parser(
        "train", help="train a net on MNIST (default: the book's chapter-5 run)",
        description="Train a net on MNIST. The defaults reproduce the book's chapter-5 run: "
        "784-50-10 ReLU, batch 100, lr 0.1, 10,000 iterations, float32, NumPy.",
    )
    train.add_argument("--backend", choices=BACKEND_NAMES, default="numpy")
    train.add_argument("--device", help="the backend's device (e.g. cuda:0, cpu)")
    train.add_argument("--dataset", default="auto",
                       help="auto (default): MNIST if it can be found or fetched, else the "
                       "5,000-image offline subset; mnist; mnist-5k")
    train.add_argument("--data-dir", help="a folder holding the four MNIST .gz files")
    add_model_arguments(train, "train")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, help="passes over the training set")
    length.add_argument("--iters", type=positive_int, default=10_000,
                        help="iterations (default: 10000)")
    train.add_argument("--batch-size", type=positive_int, default=100)
    train.add_argument("--lr", type=float, default=0.1,
                       help="learning rate, whatever the optimizer (default: 0.1, the book's "
                       "SGD rate; its Adam runs use 0.001)")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd")
    for key, (takers, default) in OPTIMIZER_OPTIONS.items():
        train.add_argument(flag(key), type=float, metavar="X",
                           help=f"{key} of --optimizer {', '.join(takers)} (default: {default:g})")
    train.add_argument("--gradient", choices=("backprop", "numerical"), default="backprop")
    train.add_argument("--sampling", choices=("shuffle", "replace"), default="shuffle",
                       help="shuffle: a fresh permutation each epoch; replace: batches drawn "
                       "with replacement, as the book's scripts (default: shuffle)")
    train.add_argument("--eval-samples", type=positive_int, metavar="N",
                       help="evaluate each epoch on the first N samples only (default: all)")
    train.add_argument("--dtype", type=train_dtype, choices=DTYPES, default="float32")
    train.add_argument("--seed", type=count, default=0,
                       help="initial weights and batches (an integer >= 0)")
    train.add_argument("--save", metavar="PATH", help="write the model (.npz) here")
    train.add_argument("--metrics", metavar="PATH", help="write JSON lines, one per epoch")
    train.add_argument("--plot", metavar="PATH", help="write a PNG of accuracy and loss")
    train.add_argument("--threads", type=count, default=1, metavar="N", help=THREADS_HELP)
    train.add_argument("--quiet", action="store_true", help="only the final summary")
    train.set_defaults(func=run)
    return train


def _network(args: argparse.Namespace, backend: Any, input_shape: tuple[int, ...]) -> Any:
    """The net the options describe for inputs of ``input_shape`` (one sample) and the ten
    digits, on ``backend``, initialised from --seed."""
    from nnxp.models.registry import build

    config = network_config(args, "train", input_shape, 10)
    return build(config, backend=backend, dtype=args.dtype, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    """Train a net on MNIST as the book's chapter 4-8 scripts do, and report how it went."""
    from nnxp.files import distinct_outputs

    started = time.perf_counter()
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise NnxpError(f"learning rate must be a finite number > 0, got {args.lr}; "
                        "pass e.g. --lr 0.1")
    optimizer_param = _optimizer_param(args)
    backend = open_backend(args.backend, args.device, args.dtype)
    outputs = {"model": args.save, "metrics": args.metrics, "plot": args.plot}
    distinct_outputs({"--save": args.save, "--metrics": args.metrics, "--plot": args.plot},
                     data_inputs(args.data_dir))
    if args.plot:
        from nnxp.plot import require_matplotlib

        require_matplotlib()
    images = takes_images(args.model)
    _network(args, backend, MNIST_IMAGE)  # bad architecture options fail here, before the data

    ((x_train, t_train), (x_test, t_test)), dataset = load_data(
        args.dataset, args.data_dir, args.quiet, flatten=not images
    )
    loading = time.perf_counter() - started
    net = _network(args, backend, tuple(int(n) for n in x_train.shape[1:]))
    from nnxp.train import Trainer

    trainer = Trainer(
        net, x_train, t_train, x_test, t_test,
        epochs=args.epochs or 1, mini_batch_size=args.batch_size, optimizer=args.optimizer,
        optimizer_param=optimizer_param, evaluate_sample_num_per_epoch=args.eval_samples,
        verbose=not args.quiet, iters=None if args.epochs else args.iters,
        sampling=args.sampling, gradient=args.gradient, seed=args.seed,
        eval_batch_size=EVAL_BATCH_IMAGES if images else 10_000,
        save_path=args.save, metrics_path=args.metrics, plot_path=args.plot,
        save_info={"dataset": {"name": dataset, "normalize": True, "flatten": not images,
                               "train_size": int(x_train.shape[0]),
                               "test_size": int(x_test.shape[0])}},
    )
    be = net.backend
    hyper = "".join(f", {key} {value:g}" for key, value in optimizer_param.items() if key != "lr")
    if not args.quiet:
        print(
            f"training {args.model} {describe(net.config)} on {dataset} "
            f"({trainer.train_size} train, {int(x_test.shape[0])} test) with {where(be)} "
            f"{args.dtype}: {args.optimizer} lr {args.lr:g}{hyper}, batch {args.batch_size}, "
            f"{plural(trainer.max_iter, 'iteration')} ({plural(trainer.epochs, 'epoch')}), "
            f"seed {args.seed}",
            flush=True,
        )
    with limit_threads(args.threads):
        trainer.train()
    final = trainer.final
    print(
        f"final: test acc {final['test_acc']:.4f}, train acc {final['train_acc']:.4f}, "
        f"loss {final['train_loss']:.4f} after {plural(final['steps'], 'iteration')} "
        f"({plural(final['epochs'], 'epoch')}) on {dataset}"
    )
    total = time.perf_counter() - started
    print(
        f"time: {total:.1f} s in total ({loading:.1f} s loading data, {final['seconds']:.1f} s "
        f"training and evaluating), {1e3 * final['seconds_per_step']:.2f} ms per iteration "
        f"({where(be)} {args.dtype})"
    )
    written = [f"{what}: {path}" for what, path in outputs.items() if path is not None]
    if args.save:
        written[0] += f" (score it: nnxp eval --weights {args.save})"
    print("\n".join(written) or "files: none written (--save FILE.npz keeps the model; "
                               "--metrics and --plot keep the history)")
    return 0
