"""What the book-companion scripts in ``examples/`` share, as public API a reader's own
scripts may use too: the ``--quick`` and ``--out`` options, one-line errors, figures saved
as PNG files (never a window), the book's data files found through ``NNXP_BOOK_DIR``, and
MNIST as the book's ``load_mnist`` gives it (the offline subset in quick mode).

A script reads::

    from nnxp import companion

    def main(args):
        ...
        fig, (ax,) = companion.figure()
        ax.plot(x, y)
        companion.save(fig, "sigmoid.png", args)

    if __name__ == "__main__":
        companion.run(main, __doc__)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnxp.errors import NnxpError

BOOK_REPOSITORY = "https://github.com/oreilly-japan/deep-learning-from-scratch"
"""Where the book's code and its trained weights live."""


def parser(description: str | None) -> argparse.ArgumentParser:
    """The options every companion script takes: ``--quick`` and ``--out``."""
    from nnxp.cli.common import Parser

    p = Parser(prog=Path(sys.argv[0]).name, description=(description or "").strip() or None,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="a few seconds: small data and few steps (CI runs every example so)")
    p.add_argument("--out", default=".", metavar="DIR",
                   help="folder for the figures (default: the current folder)")
    return p


def run(main: Callable[[argparse.Namespace], int | None], description: str | None = None,
        setup: Callable[[argparse.ArgumentParser], None] | None = None,
        argv: list[str] | None = None) -> None:
    """Parse the options (``setup`` adds a script's own), call ``main(args)`` and exit with
    its code; an NnxpError is one line on stderr and exit code 2, never a traceback."""
    p = parser(description)
    if setup is not None:
        setup(p)
    args = p.parse_args(argv)
    try:
        code = main(args)
    except NnxpError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{p.prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(code or 0))


def figure(ncols: int = 1, width: float = 6.4, height: float = 4.8,
           nrows: int = 1) -> tuple[Any, list[Any]]:
    """A matplotlib figure that never opens a window, and its axes row by row."""
    from nnxp.plot.canvas import new_figure

    return new_figure(ncols, width, height, nrows)


def save(fig: Any, name: str, args: argparse.Namespace) -> Path:
    """Write ``fig`` as ``args.out/name`` (atomically) and say where, as one line."""
    from nnxp.plot.canvas import save_figure

    path = save_figure(fig, Path(args.out) / name)
    print(f"figure: {path}")
    return path


def book_file(relative: str, given: str | os.PathLike[str] | None = None,
              option: str = "--weights") -> Path:
    """The book's data file ``relative`` (such as "ch07/params.pkl"): ``given`` when the
    user named one, else ``$NNXP_BOOK_DIR/relative``; a one-line NnxpError saying how to get
    it when it is absent."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise NnxpError(f"{option} {given}: no such file; pass the path of the book's "
                            f"{Path(relative).name}")
        return path
    root = os.environ.get("NNXP_BOOK_DIR")
    if root and (Path(root) / relative).is_file():
        return Path(root) / relative
    where = f"$NNXP_BOOK_DIR ({root}) has no {relative}" if root else "NNXP_BOOK_DIR is not set"
    raise NnxpError(f"the book's {relative} is needed and {where}: git clone {BOOK_REPOSITORY} "
                    f"and set NNXP_BOOK_DIR to that folder, or pass {option} PATH")


def load_mnist(args: argparse.Namespace, normalize: bool = True, flatten: bool = True,
               one_hot_label: bool = False) -> Any:
    """MNIST as the book's ``load_mnist`` returns it: ``((x_train, t_train), (x_test,
    t_test))``. ``--quick`` takes the offline 5,000-image subset (4,000 train, 1,000 test);
    otherwise full MNIST (``NNXP_DATA_DIR``, the cache or a checked download), falling back
    to the subset with one warning line when it cannot be had."""
    from nnxp.datasets import load_dataset

    splits, _ = load_dataset("mnist-5k" if args.quick else "auto", normalize=normalize,
                             flatten=flatten, one_hot_label=one_hot_label,
                             progress=not args.quick)
    return splits


def cpu_threads(n: int = 1) -> Any:
    """A context manager limiting the CPU thread pools (BLAS, OpenMP) to ``n`` threads inside
    it, as the Trainer and ``nnxp train --threads 1`` do (:mod:`nnxp.threads`), for a
    script's own loop: the book's small matrix products run fastest on one thread, and two
    threads waiting on each other on a busy 2-core machine made a run several times slower.
    ``n = 0`` leaves the libraries' own thread counts."""
    from nnxp.threads import limit_threads

    return limit_threads(n)
