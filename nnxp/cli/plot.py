"""``nnxp plot``: one of the book's figures to a PNG.

Every figure of :data:`nnxp.plot.FIGURES` declares the options it takes; this module defines
each option once (flag, type, help) and gives a figure exactly those the user typed, so the
figure's own defaults apply to the rest. An option the figure does not take is a one-line
error naming the figures that do; ``nnxp plot --help`` lists every figure, its summary and
its options.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from nnxp.argtypes import count, nonnegative, positive_int, ratio
from nnxp.backends import BACKEND_NAMES
from nnxp.cli import common
from nnxp.errors import NnxpError
from nnxp.optim import OPTIMIZERS
from nnxp.plot import FIGURES, figures_taking


def weight_scale(text: str) -> float | str:
    """An initial weight std (argparse type): a finite number > 0, or 'he' or 'xavier'."""
    if text.lower() in ("he", "xavier"):
        return text.lower()
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number, 'he' or 'xavier'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number > 0, 'he' or 'xavier'")
    return value


OPTIONS: dict[str, dict[str, Any]] = {
    "optimizers": {"nargs": "+", "choices": list(OPTIMIZERS), "metavar": "NAME",
                   "help": "optimizers compared (default: sgd momentum adagrad adam)"},
    "iters": {"type": positive_int, "metavar": "N",
              "help": "updates per optimizer (default: 500; the book runs 2000)"},
    "epochs": {"type": positive_int, "metavar": "N", "help": "training epochs (default: the book's)"},
    "batch_size": {"type": positive_int, "metavar": "N", "help": "mini-batch size (default: 128)"},
    "train_size": {"type": positive_int, "metavar": "N",
                   "help": "training images used, the first N (default: the book's)"},
    "weight_decay": {"type": nonnegative, "metavar": "LAMBDA",
                     "help": "L2 weight decay lambda (default: the book's)"},
    "dropout": {"type": ratio, "metavar": "RATIO", "help": "dropout ratio in [0, 1)"},
    "activation": {"choices": ["sigmoid", "relu", "tanh"],
                   "help": "hidden activation (default: the book's)"},
    "weight_scales": {"type": weight_scale, "nargs": "+", "metavar": "STD",
                      "help": "initial weight stds compared: numbers > 0, 'he' or 'xavier'"},
    "count": {"type": positive_int, "metavar": "N", "help": "images drawn, 1 to 100 (default: 20)"},
    "test_size": {"type": positive_int, "metavar": "N",
                  "help": "test images classified, the first N (default: all)"},
    "weights": {"metavar": "FILE", "help": "trained weights: a model file (`nnxp train --save`) or "
                "one of the book's pickles (default: the book's, under $NNXP_BOOK_DIR)"},
    "image": {"metavar": "PNG", "help": "a PNG image, turned gray, at most 1024 x 1024 (default: "
              "$NNXP_BOOK_DIR/dataset/lena_gray.png, else an MNIST test digit)"},
    "dataset": {"help": "auto (default: MNIST, else the offline subset), mnist or mnist-5k"},
    "data_dir": {"metavar": "DIR", "help": "a folder holding the four MNIST .gz files"},
    "backend": {"choices": BACKEND_NAMES, "help": "array library (default: numpy)"},
    "device": {"help": "device of that library (default: its first)"},
    "seed": {"type": count, "metavar": "N", "help": "initial weights and batches (default: 0)"},
}
"""Every option a figure may take, by argparse dest, in the order ``--help`` shows them."""


def _epilog() -> str:
    """The figures, each with its summary and options, for the end of ``--help``."""
    import textwrap

    width = max(map(len, FIGURES)) + 2
    lines = ["figures (nnxp plot FIGURE [its options]):"]
    for name, figure in FIGURES.items():
        text = textwrap.wrap(figure.summary, 92 - width)
        if figure.options:
            text += textwrap.wrap(f"options: {' '.join(map(common.flag, figure.options))}",
                                  92 - width, subsequent_indent="  ")
        lines += [f"  {left:<{width}}{line}" for left, line in
                  zip([name, *[""] * (len(text) - 1)], text, strict=True)]
    return "\n".join(lines)


def _taken_by(dest: str) -> str:
    names = figures_taking(dest)
    return f" [{', '.join(names)}]" if names else " [no figure yet]"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp plot`` to the subparsers."""
    parser = subparsers.add_parser(
        "plot", help="draw one of the book's figures to a PNG",
        description="Draw one of the book's figures to a PNG. Each figure takes the options "
        "listed beside it below (in brackets after each option's help); any other is an error.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("figure", choices=list(FIGURES), metavar="FIGURE",
                        help=f"one of: {', '.join(FIGURES)}")
    parser.add_argument("-o", "--output", metavar="PNG", help="default: FIGURE.png")
    parser.add_argument("--threads", type=count, default=1, metavar="N", help=common.THREADS_HELP)
    for dest, spec in OPTIONS.items():
        spec = {**spec, "help": spec["help"] + _taken_by(dest)}
        parser.add_argument(common.flag(dest), dest=dest, default=None, **spec)
    parser.set_defaults(func=run)
    return parser


def _figures_in_words(names: list[str]) -> str:
    quoted = [f"`nnxp plot {name}`" for name in names]
    if not quoted:
        return "no figure"
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The figure options the user gave (dest -> value), or NnxpError naming the figures that
    take the first one the chosen figure does not."""
    figure = FIGURES[args.figure]
    given = {dest: getattr(args, dest) for dest in OPTIONS if getattr(args, dest) is not None}
    for dest in given:
        if dest not in figure.options:
            raise NnxpError(f"{common.flag(dest)} applies to "
                            f"{_figures_in_words(figures_taking(dest))} only")
    return given


def _report(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    """Draw the figure to a PNG with the options the user gave."""
    from nnxp.files import distinct_outputs
    from nnxp.plot import plot_figure, require_matplotlib

    options = given_options(args)
    path = args.output or f"{args.figure}.png"
    inputs = {common.flag(dest): options.get(dest) for dest in ("weights", "image")}
    if "data_dir" in FIGURES[args.figure].options:
        inputs.update(common.data_inputs(options.get("data_dir")))
    distinct_outputs({"-o": path}, inputs)
    require_matplotlib()
    with common.backend_hint(), common.limit_threads(args.threads):
        written = plot_figure(args.figure, path, report=_report, **options)
    print(f"{args.figure}: {written}")
    return 0
