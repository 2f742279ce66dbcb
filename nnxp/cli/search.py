"""``nnxp search``: the book's random hyperparameter search (ch06/hyperparameter_optimization.py).

Trains the book's MultiLayerNet(784, [100] * 6, 10) once per trial, with a weight decay and
a learning rate drawn log-uniformly, on the first 500 training images of which 20 % are held
out for validation; prints one line per trial as the book does, then the best trials as a
table, and draws the book's figure of the best 20 (see :mod:`nnxp.search`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from nnxp.argtypes import count, positive_int
from nnxp.cli.common import THREADS_HELP, data_inputs, load_data, plural
from nnxp.cli.train import add_selection_arguments

TABLE_ROWS = 20
"""The best trials the table lists and the figure draws (the book's 20)."""


def _bound(text: str) -> float:
    """A log10 exponent (argparse type): a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp search`` to the subparsers."""
    from nnxp.search import (
        BOOK_BATCH,
        BOOK_EPOCHS,
        BOOK_HIDDEN,
        BOOK_LR_RANGE,
        BOOK_TRIALS,
        BOOK_WEIGHT_DECAY_RANGE,
    )

    parser = subparsers.add_parser(
        "search", help="random search of lr and weight decay (the book's chapter 6)",
        description="Random hyperparameter search as the book's hyperparameter_optimization.py: "
        "each trial draws lr = 10**uniform(-6, -2) and weight decay = 10**uniform(-8, -4), "
        "trains MultiLayerNet 784-100x6-10 by SGD (batch 100, 50 epochs) on the first 500 "
        "training images less a 20% validation split, and is scored on that split. Prints a "
        "line per trial, then the best trials, and draws the best 20 (val solid, train dashed).",
    )
    parser.add_argument("--trials", type=positive_int, default=BOOK_TRIALS, metavar="N",
                        help=f"trials (default: {BOOK_TRIALS}, the book's)")
    parser.add_argument("--epochs", type=positive_int, default=BOOK_EPOCHS, metavar="N",
                        help=f"epochs per trial (default: {BOOK_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=BOOK_BATCH, metavar="N",
                        help=f"mini-batch size (default: {BOOK_BATCH})")
    add_selection_arguments(parser, train_size=500, validation=0.2, test_size=False)
    parser.add_argument("--lr-range", type=_bound, nargs=2, default=list(BOOK_LR_RANGE),
                        metavar=("LOW", "HIGH"),
                        help="log10 bounds of the learning rate (default: -6 -2)")
    parser.add_argument("--weight-decay-range", type=_bound, nargs=2,
                        default=list(BOOK_WEIGHT_DECAY_RANGE), metavar=("LOW", "HIGH"),
                        help="log10 bounds of the weight decay lambda (default: -8 -4)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=list(BOOK_HIDDEN),
                        metavar="N", help="hidden layer sizes (default: 100 100 100 100 100 100)")
    parser.add_argument("--seed", type=count, default=0,
                        help="the trials' draws, weights, batches and validation split "
                        "(default: 0; one seed, the same trials)")
    parser.add_argument("--dataset", default="auto",
                        help="auto (default): MNIST if it can be found or fetched, else the "
                        "5,000-image offline subset; mnist; mnist-5k")
    parser.add_argument("--data-dir", help="a folder holding the four MNIST .gz files")
    parser.add_argument("--plot", default="search.png", metavar="PATH",
                        help="the best 20 trials' curves, as the book draws them "
                        "(default: search.png)")
    parser.add_argument("--no-plot", action="store_true", help="draw no figure")
    parser.add_argument("--results", metavar="PATH", help="write every trial as JSON here")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON on stdout (trial lines go to stderr)")
    parser.add_argument("--threads", type=count, default=1, metavar="N", help=THREADS_HELP)
    parser.add_argument("--quiet", action="store_true", help="no line per trial")
    parser.set_defaults(func=run)
    return parser


def _duration(seconds: float) -> str:
    """"42 s", "3 min 5 s", "1 h 2 min"."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _table(ranked: list[Any]) -> str:
    """The best trials, one row each."""
    rows = [f"{'rank':>4}  {'val acc':>7}  {'train acc':>9}  {'lr':>10}  {'weight decay':>12}  "
            f"{'trial':>5}"]
    for rank, trial in enumerate(ranked, 1):
        if trial.diverged:
            scores = f"{'diverged':>7}  {'':>9}"
        else:
            scores = f"{trial.val_acc:>7.4f}  {trial.train_acc:>9.4f}"
        rows.append(f"{rank:>4}  {scores}  {trial.lr:>10.3e}  {trial.weight_decay:>12.3e}  "
                    f"{trial.number:>5}")
    return "\n".join(rows)


def _document(args: argparse.Namespace, dataset: str, sizes: tuple[int, int],
              trials: list[Any], seconds: float) -> dict[str, Any]:
    """Everything the search did, as JSON-ready values."""
    from nnxp.search import best

    return {
        "settings": {"trials": args.trials, "epochs": args.epochs, "batch_size": args.batch_size,
                     "train_size": args.train_size, "validation": args.validation,
                     "lr_range": args.lr_range, "weight_decay_range": args.weight_decay_range,
                     "hidden_size_list": args.hidden, "seed": args.seed, "optimizer": "sgd",
                     "model": "multi-layer", "dtype": "float32", "sampling": "replace"},
        "dataset": {"name": dataset, "train": sizes[0], "validation": sizes[1]},
        "completed": len(trials),
        "seconds": round(seconds, 3),
        "ranking": [trial.number for trial in best(trials)],
        "trials": [trial.as_dict() for trial in trials],
    }


def run(args: argparse.Namespace) -> int:
    """Run the search, print its trials and best results, write the figure and results."""
    from nnxp.datasets.split import check_selection, select_splits
    from nnxp.files import atomic_write_text, distinct_outputs
    from nnxp.models.checks import check_param_memory
    from nnxp.search import best, check_range, random_search

    started = time.perf_counter()
    lr_range = check_range(args.lr_range, "--lr-range")
    weight_decay_range = check_range(args.weight_decay_range, "--weight-decay-range")
    plot = None if args.no_plot else args.plot
    distinct_outputs({"--plot": plot, "--results": args.results}, data_inputs(args.data_dir))
    if plot is not None:
        from nnxp.plot import require_matplotlib

        require_matplotlib()
    selection = {"train_size": args.train_size, "validation": args.validation}
    check_selection(**selection, batch_size=args.batch_size)
    widths = [784, *args.hidden, 10]  # a net too large for memory fails here, before the data
    check_param_memory([(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
                       + [(b,) for b in widths[1:]], "float32")
    out = sys.stderr if args.json else sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    splits, dataset = load_data(args.dataset, args.data_dir, quiet=args.quiet)
    (x_train, t_train), (x_val, t_val) = select_splits(
        splits, **selection, seed=args.seed, batch_size=args.batch_size, dataset=dataset)
    sizes = (int(x_train.shape[0]), int(x_val.shape[0]))
    hidden = "-".join(map(str, [x_train.shape[1], *args.hidden, 10]))
    say(f"search: {plural(args.trials, 'trial')} of MultiLayerNet {hidden} on {dataset} (the "
        f"first {args.train_size}: {sizes[0]} train, {sizes[1]} validation), SGD batch "
        f"{args.batch_size}, {plural(args.epochs, 'epoch')} each; lr 10^[{lr_range[0]:g}, "
        f"{lr_range[1]:g}], weight decay 10^[{weight_decay_range[0]:g}, "
        f"{weight_decay_range[1]:g}], seed {args.seed}")

    done: list[Any] = []
    width = len(str(args.trials))
    searching = time.perf_counter()

    def report(trial: Any) -> None:
        done.append(trial)
        if args.quiet:
            return
        spent = time.perf_counter() - searching
        left = spent / len(done) * (args.trials - len(done))
        eta = f", about {_duration(left)} left" if len(done) < args.trials else ""
        say(f"[{trial.number:>{width}}/{args.trials}] {trial.line()}  ({trial.seconds:.1f} s"
            f"{eta})")

    code = 0
    try:
        random_search(x_train, t_train, x_val, t_val, trials=args.trials, epochs=args.epochs,
                      lr_range=lr_range, weight_decay_range=weight_decay_range,
                      hidden_size_list=args.hidden, batch_size=args.batch_size, seed=args.seed,
                      threads=args.threads, report=report)
    except KeyboardInterrupt:
        if not done:
            raise
        say(f"interrupted: reporting the {plural(len(done), 'trial')} completed")
        code = 130
    seconds = time.perf_counter() - started
    per_trial = (time.perf_counter() - searching) / max(len(done), 1)
    ranked = best(done, TABLE_ROWS)
    say("=========== Hyper-Parameter Optimization Result ===========")
    say(_table(ranked))
    top = ranked[0]
    if top.diverged:
        say("best: none; every trial diverged: lower the --lr-range")
    else:
        say(f"best: val acc {top.val_acc:.4f} with lr {top.lr:.4g}, weight decay "
            f"{top.weight_decay:.4g} (trial {top.number}; train acc {top.train_acc:.4f})")
    document = _document(args, dataset, sizes, done, seconds)
    if args.results is not None:
        atomic_write_text(args.results, json.dumps(document, indent=1) + "\n", "results")
    if plot is not None:
        from nnxp.plot.search import plot_search

        plot_search(done, plot)
    say(f"time: {_duration(seconds)} ({per_trial:.2f} s per trial)")
    for what, path in (("plot", plot), ("results", args.results)):
        if path is not None:
            say(f"{what}: {path}")
    if args.json:
        print(json.dumps(document))
    return code
