"""``nnxp gradcheck``: the book's gradient_check table (one line per parameter) for a net on
random MNIST-shaped data; exit 1 when a parameter fails.

The check itself is the library's :func:`nnxp.gradcheck.gradient_check`; the net comes from
the architecture options of :mod:`nnxp.cli.model_options`.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from nnxp.argtypes import count, nonnegative, positive_int
from nnxp.backends import BACKEND_NAMES, DTYPES, get_backend
from nnxp.cli.model_options import (
    MNIST_IMAGE,
    add_model_arguments,
    describe_check,
    network_config,
)
from nnxp.gradcheck import gradient_check, random_mnist_like, randomize_biases
from nnxp.limits import check_memory
from nnxp.models.options import takes_images
from nnxp.netgrad import METHODS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp gradcheck`` to the subparsers."""
    p = subparsers.add_parser(
        "gradcheck",
        help="compare backprop with the numerical gradient (the book's gradient_check)",
        description="Build a net, take a batch of random MNIST-shaped data (1x28x28 images for "
                    "the conv nets), and print for each parameter how backprop differs from "
                    "the numerical gradient; exit 1 if a parameter fails the tolerance. Nets "
                    "with dropout are checked with the masks of backprop's forward held.",
    )
    add_model_arguments(p, "gradcheck")
    p.add_argument("--backend", choices=BACKEND_NAMES, default="numpy")
    p.add_argument("--device", default=None, help="device of the backend (e.g. cuda:0)")
    p.add_argument("--dtype", choices=DTYPES, default="float64")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="samples in the batch (book: 3; conv nets: 2)")
    p.add_argument("--seed", type=count, default=0, help="seed of the weights and the data")
    p.add_argument("--classes", type=positive_int, default=10)
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="numerical-gradient path (default: the fastest that covers the net)")
    p.add_argument("--atol", type=nonnegative, default=None, help="absolute tolerance")
    p.add_argument("--rtol", type=nonnegative, default=None, help="relative tolerance")
    p.set_defaults(func=run)
    return p


def _build_net(args: argparse.Namespace, input_shape: tuple[int, ...]) -> Any:
    """The net ``nnxp gradcheck`` checks; the nets check their sizes against memory first."""
    from nnxp.models.registry import build

    config = network_config(args, "gradcheck", input_shape, args.classes)
    backend = get_backend(args.backend, device=args.device, dtype=args.dtype)
    return build(config, backend=backend, dtype=args.dtype, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    """``nnxp gradcheck``: print the table; 0 when every parameter passes, else 1."""
    conv = takes_images(args.model)
    batch = args.batch or (2 if conv else 3)
    input_shape = MNIST_IMAGE if conv else (args.input_size or 784,)
    features = math.prod(input_shape)
    check_memory(3 * batch * features * 8, "the random batch",
                 "use a smaller --batch" + ("" if conv else " or --input-size"))
    net = _build_net(args, input_shape)
    if conv:
        randomize_biases(net, args.seed)
    x, t = random_mnist_like(batch, features, args.classes, args.seed, zeros=0.0 if conv else 0.81)
    if conv:
        x = x.reshape(batch, *MNIST_IMAGE)
    data = "random 1x28x28 images (random biases)" if conv else "random MNIST-shaped data (81% zeros)"
    print(f"nnxp gradcheck: {describe_check(net.config)}, {net.backend.name} {args.dtype} "
          f"({net.backend.device}), batch {batch} of {data}, seed {args.seed}")
    start = time.perf_counter()
    result = gradient_check(net, x, t, args.atol, args.rtol, args.method)
    elapsed = time.perf_counter() - start
    print(f"numerical gradient: {result.method} path; check took {elapsed:.2f} s; pass when "
          f"max |diff| <= {result.atol:g} + {result.rtol:g} * max |numerical|")
    print(result.table())
    if result.passed:
        print(f"all {len(result.params)} parameters pass")
        return 0
    failed = result.failed()
    print(f"{len(failed)} of {len(result.params)} parameters FAIL: {', '.join(failed)}")
    if args.activation == "relu" or conv:
        print("note: a ReLU unit within h = 1e-4 of its kink for some sample (or a max-pooling "
              "window with two maxima that close) makes the central difference wrong for a few "
              "elements; try another --seed")
    return 1
