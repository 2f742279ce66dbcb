"""The ``nnxp`` command line: every subcommand prints errors as one line and exits 2.

One module per subcommand (info, train, eval, convert, plot, gradcheck, search), each with
``add_parser(subparsers)`` and ``run(args)``; heavy modules (datasets, training, matplotlib)
are imported inside ``run`` so ``nnxp --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from nnxp.cli import convert, gradcheck, info, plot, search, train
from nnxp.cli import eval as evaluate
from nnxp.cli.common import THREADS_HELP, Parser, error_line, limit_threads
from nnxp.errors import NnxpError

__all__ = ["THREADS_HELP", "build_parser", "limit_threads", "main"]

SUBCOMMANDS = (info, train, evaluate, convert, plot, gradcheck, search)
"""The subcommands' modules, in the order ``nnxp --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand; ``parser.subcommands`` maps name -> parser."""
    parser = Parser(
        prog="nnxp", description="The networks of 'Deep Learning from Scratch' on any backend."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    parser.subcommands = sub.choices
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; NnxpError and bad input become one line on stderr and exit 2."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader (``| head``) left: nothing more to say, and nothing to flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (NnxpError, MemoryError, OSError, KeyboardInterrupt) as exc:
        line, code = error_line(args.command, exc)
        if line:
            print(line, file=sys.stderr)
        return code
