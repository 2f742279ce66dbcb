"""``nnxp convert``: the book's pickled weights, read safely, as an nnxp model file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nnxp.backends import INFERENCE_DTYPES
from nnxp.models.options import takes_images


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp convert`` to the subparsers."""
    from nnxp.book_weights import BOOK_ARCHS, BOOK_FILES

    parser = subparsers.add_parser(
        "convert", help="import the book's pickled weights as an nnxp model file",
        description="Read one of the book's weight pickles with a restricted unpickler (NumPy "
        "arrays only; a pickle that would run code is refused) and write an nnxp model file "
        "that `nnxp eval --weights` scores. Architectures: "
        + "; ".join(f"{k}: {v}" for k, v in BOOK_ARCHS.items()) + ".",
    )
    parser.add_argument("pickle", type=Path, metavar="BOOK.pkl", nargs="?",
                        help="the pickle (default: the book's file for --arch under "
                        "$NNXP_BOOK_DIR: " + ", ".join(BOOK_FILES.values()) + ")")
    parser.add_argument("--arch", choices=list(BOOK_ARCHS), required=True,
                        help="which of the book's nets the pickle holds")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="MODEL.npz")
    parser.add_argument("--dtype", choices=INFERENCE_DTYPES, default="float32",
                        help="the model file's dtype (float16: half the size, for "
                        "evaluation and inference only)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Import the book's pickled weights (safely) and write them as an nnxp model file.

    The output is checked first (a writable regular file, not the pickle itself), so a
    refused run writes nothing; the digest recorded is of the very bytes unpickled.
    """
    from nnxp.book_weights import BOOK_ARCHS, book_pickle_path, import_book_weights
    from nnxp.files import distinct_outputs
    from nnxp.io import save_model

    if args.pickle is None:
        args.pickle = book_pickle_path(args.arch)
    distinct_outputs({"-o": args.output}, {"BOOK.pkl": args.pickle})
    net, digest = import_book_weights(args.pickle, args.arch, backend="numpy", dtype=args.dtype)
    info = {
        "dataset": {"normalize": True, "flatten": not takes_images(net.model)},
        "source": {"book_weights": args.pickle.name, "arch": args.arch, "sha256": digest},
    }
    save_model(args.output, net, info)
    print(f"{args.pickle}: {BOOK_ARCHS[args.arch]} -> {args.output} ({args.dtype}; "
          f"score it: nnxp eval --weights {args.output})")
    return 0
