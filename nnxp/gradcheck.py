"""Gradient checking, the book's ``gradient_check``: backprop against the numerical gradient.

:func:`gradient_check` compares the two for every parameter of a net and says which agree;
``nnxp gradcheck`` prints the book's table (one line per parameter) for a net on random
MNIST-shaped data and exits 1 when a parameter fails.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnxp.backend import BACKEND_NAMES, DTYPES, get_backend
from nnxp.errors import NnxpError
from nnxp.netgrad import METHODS, numerical_gradient, resolve_method

TOLERANCES: dict[str, tuple[float, float]] = {"float64": (1e-9, 1e-4), "float32": (1e-7, 1e-3)}
"""Default (atol, rtol) by the net's dtype. A parameter passes when
max |backprop - numerical| <= atol + rtol * max |numerical| (a normwise test: elements near
0 where per-sample terms cancel would fail any elementwise one). Expected differences: the
numerical gradient is that of the book's loss, whose log(y + 1e-7) guard scales each
sample's gradient by p / (p + 1e-7) (p: the probability of its label), 1e-6 relative at
p = 0.1 and 1e-5 at p = 0.01; float32 backprop adds its rounding. A ReLU unit within h of
its kink for some sample makes the central difference itself wrong for a few elements."""


@dataclass(frozen=True)
class ParamCheck:
    """How one parameter's backprop gradient differs from its numerical gradient."""

    name: str
    shape: tuple[int, ...]
    mean_abs: float
    max_abs: float
    mean_rel: float
    max_rel: float
    norm_rel: float
    passed: bool


@dataclass(frozen=True)
class GradientCheck:
    """The result of :func:`gradient_check`: one :class:`ParamCheck` per parameter."""

    params: dict[str, ParamCheck]
    atol: float
    rtol: float
    method: str
    passed: bool

    def failed(self) -> list[str]:
        """Names of the parameters that fail the tolerance."""
        return [name for name, check in self.params.items() if not check.passed]

    def table(self) -> str:
        """The book's per-parameter lines (its figure is the mean |diff|), with more columns."""
        lines = [f"{'param':<6} {'shape':<10} {'mean |diff|':>11} {'max |diff|':>11} "
                 f"{'mean rel':>9} {'max rel':>9} {'norm rel':>9}  result"]
        for c in self.params.values():
            shape = "x".join(str(n) for n in c.shape)
            lines.append(f"{c.name:<6} {shape:<10} {c.mean_abs:>11.2e} {c.max_abs:>11.2e} "
                         f"{c.mean_rel:>9.2e} {c.max_rel:>9.2e} {c.norm_rel:>9.2e}  "
                         f"{'ok' if c.passed else 'FAIL'}")
        return "\n".join(lines)


def _compare(name: str, backprop: Any, numerical: Any, atol: float, rtol: float,
             xp: Any) -> ParamCheck:
    diff = xp.abs(backprop - numerical)
    scale = xp.maximum(xp.abs(backprop), xp.abs(numerical))
    rel = diff / xp.where(scale > 0, scale, 1.0)
    max_abs = float(xp.max(diff))
    largest = float(xp.max(xp.abs(numerical)))
    return ParamCheck(
        name=name,
        shape=tuple(int(n) for n in backprop.shape),
        mean_abs=float(xp.mean(diff)),
        max_abs=max_abs,
        mean_rel=float(xp.mean(rel)),
        max_rel=float(xp.max(rel)),
        norm_rel=max_abs / largest if largest > 0 else (0.0 if max_abs == 0 else math.inf),
        passed=max_abs <= atol + rtol * largest,
    )


def gradient_check(
    net: Any,
    x: Any,
    t: Any,
    atol: float | None = None,
    rtol: float | None = None,
    method: str = "auto",
) -> GradientCheck:
    """Compare ``net.gradient(x, t)`` (backprop) with ``net.numerical_gradient(x, t)``.

    A parameter passes when max |diff| <= atol + rtol * max |numerical| (``norm_rel`` is the
    ratio of the two maxima); defaults come from :data:`TOLERANCES` by the net's dtype.
    Elementwise relative differences are |diff| / max(|backprop|, |numerical|) (0 where both
    are 0). ``method`` picks the numerical path as in :func:`nnxp.netgrad.numerical_gradient`.
    """
    default_atol, default_rtol = TOLERANCES.get(net.dtype, TOLERANCES["float32"])
    atol = default_atol if atol is None else float(atol)
    rtol = default_rtol if rtol is None else float(rtol)
    if atol < 0 or rtol < 0:
        raise NnxpError(f"tolerances must be >= 0, got atol={atol}, rtol={rtol}")
    method = resolve_method(net, method)
    numerical = numerical_gradient(net, x, t, method)
    backprop = net.gradient(x, t)
    xp = net.backend.xp
    checks = {key: _compare(key, backprop[key], numerical[key], atol, rtol, xp)
              for key in net.params}
    return GradientCheck(checks, atol, rtol, method, all(c.passed for c in checks.values()))


def random_mnist_like(
    batch: int, input_size: int = 784, classes: int = 10, seed: int | None = 0,
    zeros: float = 0.81,
) -> tuple[np.ndarray, np.ndarray]:
    """A host batch shaped like normalised MNIST: values in [0, 1), a fraction ``zeros`` of
    them 0 (MNIST's share of blank pixels), and integer labels."""
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.random((batch, input_size)) * (rng.random((batch, input_size)) >= zeros)
    return x, rng.integers(0, classes, batch)


def add_gradcheck_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp gradcheck`` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "gradcheck",
        help="compare backprop with the numerical gradient (the book's gradient_check)",
        description="Build a net, take a batch of random MNIST-shaped data, and print for each "
                    "parameter how backprop differs from the numerical gradient; exit 1 if "
                    "a parameter fails the tolerance.",
    )
    p.add_argument("--model", choices=["two-layer", "multi-layer"], default="two-layer")
    p.add_argument("--activation", choices=["sigmoid", "relu", "identity"], default="sigmoid")
    p.add_argument("--hidden", type=int, nargs="+", metavar="N",
                   help="hidden layer sizes (two-layer: one; default 50, multi-layer 100 100)")
    p.add_argument("--backend", choices=BACKEND_NAMES, default="numpy")
    p.add_argument("--device", default=None, help="device of the backend (e.g. cuda:0)")
    p.add_argument("--dtype", choices=DTYPES, default="float64")
    p.add_argument("--batch", type=int, default=3, help="samples in the batch (book: 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the data")
    p.add_argument("--input-size", type=int, default=784)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="weight-decay lambda (multi-layer)")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="numerical-gradient path (default: the fastest that covers the net)")
    p.add_argument("--atol", type=float, default=None, help="absolute tolerance")
    p.add_argument("--rtol", type=float, default=None, help="relative tolerance")
    p.set_defaults(func=run_gradcheck)
    return p


def _build_net(args: argparse.Namespace) -> Any:
    from nnxp.nets import MultiLayerNet, TwoLayerNet

    for name in ("batch", "input_size", "classes"):
        if getattr(args, name) < 1:
            raise NnxpError(f"--{name.replace('_', '-')} must be at least 1")
    backend = get_backend(args.backend, device=args.device, dtype=args.dtype)
    common = {"backend": backend, "dtype": args.dtype, "seed": args.seed}
    if args.model == "two-layer":
        hidden = args.hidden or [50]
        if len(hidden) != 1:
            raise NnxpError(f"two-layer takes one --hidden size, got {len(hidden)}; "
                            "use --model multi-layer for more")
        if args.weight_decay:
            raise NnxpError("--weight-decay needs --model multi-layer")
        return TwoLayerNet(args.input_size, hidden[0], args.classes,
                           activation=args.activation, **common)
    return MultiLayerNet(args.input_size, args.hidden or [100, 100], args.classes,
                         activation=args.activation, weight_decay_lambda=args.weight_decay,
                         **common)


def run_gradcheck(args: argparse.Namespace) -> int:
    """``nnxp gradcheck``: print the table; 0 when every parameter passes, else 1."""
    net = _build_net(args)
    x, t = random_mnist_like(args.batch, args.input_size, args.classes, args.seed)
    sizes = "-".join(str(int(net.params[k].shape[0])) for k in net.params if k.startswith("W"))
    print(f"nnxp gradcheck: {net.model} {sizes}-{args.classes}, {args.activation}, "
          f"{net.backend.name} {args.dtype} ({net.backend.device}), batch {args.batch} of "
          f"random MNIST-shaped data (81% zeros), seed {args.seed}")
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
    if args.activation == "relu":
        print("note: a ReLU unit within h = 1e-4 of its kink for some sample makes the central "
              "difference wrong for a few elements; try another --seed")
    return 1
