"""Gradient checking, the book's ``gradient_check``: backprop against the numerical gradient.

:func:`gradient_check` compares the two for every parameter of a net and says which agree;
``nnxp gradcheck`` prints the book's table (one line per parameter) for a net on random
MNIST-shaped data and exits 1 when a parameter fails.
"""

from __future__ import annotations

import argparse
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnxp.argtypes import count, nonnegative, positive_int, ratio
from nnxp.backend import BACKEND_NAMES, DTYPES, get_backend
from nnxp.errors import NnxpError
from nnxp.limits import check_memory
from nnxp.netgrad import METHODS, resolve_method

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

    Both differentiate the same function: the training-mode loss, with the dropout masks
    backprop's forward drew held through the numerical gradient; running statistics are
    left as they were found.

    A parameter passes when max |diff| <= atol + rtol * max |numerical| (``norm_rel`` is the
    ratio of the two maxima); defaults come from :data:`TOLERANCES` by the net's dtype.
    Elementwise relative differences are |diff| / max(|backprop|, |numerical|) (0 where both
    are 0). ``method`` picks the numerical path as in :func:`nnxp.netgrad.numerical_gradient`.
    """
    default_atol, default_rtol = TOLERANCES.get(net.dtype, TOLERANCES["float32"])
    atol = default_atol if atol is None else _tolerance("atol", atol)
    rtol = default_rtol if rtol is None else _tolerance("rtol", rtol)
    method = resolve_method(net, method)
    x, t = net.check_batch(x, t)
    buffers = getattr(net, "buffers", {})
    saved = dict(buffers.items())
    try:
        backprop = net._gradient(x, t)  # draws the dropout masks the numerical gradient holds
        numerical = net._numerical_gradient(x, t, method)
    finally:
        for key, value in saved.items():
            buffers[key] = value
    xp = net.backend.xp
    checks = {key: _compare(key, backprop[key], numerical[key], atol, rtol, xp)
              for key in net.params}
    return GradientCheck(checks, atol, rtol, method, all(c.passed for c in checks.values()))


def _tolerance(name: str, value: Any) -> float:
    """A tolerance as a float if it is a finite number >= 0, else a one-line NnxpError."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if not ok or value < 0:
        raise NnxpError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def random_mnist_like(
    batch: int, input_size: int = 784, classes: int = 10, seed: int | None = 0,
    zeros: float = 0.81,
) -> tuple[np.ndarray, np.ndarray]:
    """A host batch shaped like normalised MNIST: values in [0, 1), a fraction ``zeros`` of
    them 0 (MNIST's share of blank pixels), and integer labels."""
    rng = np.random.Generator(np.random.PCG64(seed))
    x = rng.random((batch, input_size)) * (rng.random((batch, input_size)) >= zeros)
    return x, rng.integers(0, classes, batch)


MODELS: tuple[str, ...] = ("two-layer", "multi-layer", "multi-layer-extend", "simple-conv",
                           "deep-conv")
CONV_MODELS: tuple[str, ...] = ("simple-conv", "deep-conv")
IMAGE: tuple[int, int, int] = (1, 28, 28)
"""The shape of the random images the conv nets are checked on."""


def add_gradcheck_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp gradcheck`` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "gradcheck",
        help="compare backprop with the numerical gradient (the book's gradient_check)",
        description="Build a net, take a batch of random MNIST-shaped data (1x28x28 images for "
                    "the conv nets), and print for each parameter how backprop differs from "
                    "the numerical gradient; exit 1 if a parameter fails the tolerance. Nets "
                    "with dropout are checked with the masks of backprop's forward held.",
    )
    p.add_argument("--model", choices=MODELS, default="two-layer")
    p.add_argument("--activation", choices=["sigmoid", "relu", "identity"], default=None,
                   help="hidden activation of the fully connected nets (default: sigmoid)")
    p.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                   help="hidden layer sizes (two-layer and the conv nets: one; default 50, "
                        "multi-layer 100 100, conv nets 10)")
    p.add_argument("--filters", type=positive_int, default=None, metavar="N",
                   help="filters of each conv layer (conv nets; default 4 for simple-conv, "
                        "2 for deep-conv: the numerical gradient costs two forward passes "
                        "per parameter)")
    p.add_argument("--batchnorm", action="store_true", help="batch normalisation "
                   "(multi-layer-extend)")
    p.add_argument("--dropout", action="store_true", help="dropout (multi-layer-extend)")
    p.add_argument("--dropout-ratio", type=ratio, default=0.5, metavar="R",
                   help="dropout ratio (multi-layer-extend with --dropout, deep-conv)")
    p.add_argument("--backend", choices=BACKEND_NAMES, default="numpy")
    p.add_argument("--device", default=None, help="device of the backend (e.g. cuda:0)")
    p.add_argument("--dtype", choices=DTYPES, default="float64")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="samples in the batch (book: 3; conv nets: 2)")
    p.add_argument("--seed", type=count, default=0, help="seed of the weights and the data")
    p.add_argument("--input-size", type=positive_int, default=None,
                   help="features per sample of the fully connected nets (default 784)")
    p.add_argument("--classes", type=positive_int, default=10)
    p.add_argument("--weight-decay", type=nonnegative, default=0.0,
                   help="weight-decay lambda (multi-layer, multi-layer-extend)")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="numerical-gradient path (default: the fastest that covers the net)")
    p.add_argument("--atol", type=nonnegative, default=None, help="absolute tolerance")
    p.add_argument("--rtol", type=nonnegative, default=None, help="relative tolerance")
    p.set_defaults(func=run_gradcheck)
    return p


def _refuse_options(args: argparse.Namespace) -> None:
    """Refuse options the chosen model does not take, so none is silently ignored."""
    model = args.model
    conv = model in CONV_MODELS
    wrong = []
    if conv and args.activation is not None:
        wrong.append("--activation (the conv nets use relu)")
    if conv and args.input_size is not None:
        wrong.append(f"--input-size (the conv nets take {'x'.join(map(str, IMAGE))} images)")
    if not conv and args.filters is not None:
        wrong.append("--filters (conv nets only)")
    if model != "multi-layer-extend" and (args.batchnorm or args.dropout):
        wrong.append("--batchnorm/--dropout (multi-layer-extend only)")
    if model not in ("multi-layer", "multi-layer-extend") and args.weight_decay:
        wrong.append("--weight-decay (multi-layer, multi-layer-extend)")
    if model in ("two-layer", *CONV_MODELS) and args.hidden and len(args.hidden) != 1:
        wrong.append(f"{len(args.hidden)} --hidden sizes ({model} takes one)")
    if wrong:
        raise NnxpError(f"--model {model} does not take {'; '.join(wrong)}: drop it or choose "
                        "another --model")


def _build_net(args: argparse.Namespace) -> Any:
    """The net ``nnxp gradcheck`` checks, sizes checked against memory before allocating."""
    from nnxp.convnets import DeepConvNet, SimpleConvNet
    from nnxp.nets import MultiLayerNet, MultiLayerNetExtend, TwoLayerNet

    _refuse_options(args)
    backend = get_backend(args.backend, device=args.device, dtype=args.dtype)
    common = {"backend": backend, "dtype": args.dtype, "seed": args.seed}
    activation = args.activation or "sigmoid"
    input_size = args.input_size or 784
    if args.model == "two-layer":
        hidden = args.hidden or [50]
        return TwoLayerNet(input_size, hidden[0], args.classes, activation=activation, **common)
    if args.model == "multi-layer":
        return MultiLayerNet(input_size, args.hidden or [100, 100], args.classes,
                             activation=activation, weight_decay_lambda=args.weight_decay,
                             **common)
    if args.model == "multi-layer-extend":
        return MultiLayerNetExtend(
            input_size, args.hidden or [100, 100], args.classes, activation=activation,
            weight_decay_lambda=args.weight_decay, use_dropout=args.dropout,
            dropout_ratio=args.dropout_ratio, use_batchnorm=args.batchnorm, **common)
    hidden = (args.hidden or [10])[0]
    if args.model == "simple-conv":
        conv = {"filter_num": args.filters or 4, "filter_size": 5, "pad": 0, "stride": 1}
        return SimpleConvNet(IMAGE, conv, hidden, args.classes, weight_init_std="he", **common)
    filters = args.filters or 2
    params = {f"conv_param_{i}": {"filter_num": filters} for i in range(1, 7)}
    return DeepConvNet(IMAGE, **params, hidden_size=hidden, output_size=args.classes,
                       dropout_ratio=args.dropout_ratio, **common)


def _describe(net: Any, args: argparse.Namespace) -> str:
    """The net in a few words for the report's first line."""
    if args.model in CONV_MODELS:
        filters = net.conv_param["filter_num"] if args.model == "simple-conv" else \
            net.conv_params[0]["filter_num"]
        return (f"{net.model} {'x'.join(map(str, IMAGE))} images, {filters} filters, hidden "
                f"{net.hidden_size}, {args.classes} classes, relu")
    sizes = "-".join(str(int(net.params[k].shape[0])) for k in net.params if k.startswith("W"))
    extras = [name for name, on in (("batchnorm", args.batchnorm), ("dropout", args.dropout))
              if on]
    return f"{net.model} {sizes}-{args.classes}, {args.activation or 'sigmoid'}" + "".join(
        f", {e}" for e in extras)


def randomize_biases(net: Any, seed: int) -> None:
    """Biases drawn small and random instead of the book's zeros. A conv layer whose input
    patch is all zeros (padding, or ReLUs all off) outputs its bias exactly: at 0, the next
    ReLU's kink, where the central difference disagrees with any one-sided derivative."""
    rng = np.random.Generator(np.random.PCG64((seed, 1)))
    for key in net.params:
        if key.startswith("b"):
            bias = net.params[key]
            host = 0.1 * rng.standard_normal(tuple(int(n) for n in bias.shape))
            net.params[key] = net.backend.asarray(host, dtype=net.dtype)


def run_gradcheck(args: argparse.Namespace) -> int:
    """``nnxp gradcheck``: print the table; 0 when every parameter passes, else 1."""
    conv = args.model in CONV_MODELS
    batch = args.batch or (2 if conv else 3)
    features = math.prod(IMAGE) if conv else args.input_size or 784
    check_memory(3 * batch * features * 8, "the random batch",
                 "use a smaller --batch" + ("" if conv else " or --input-size"))
    net = _build_net(args)
    if conv:
        randomize_biases(net, args.seed)
    x, t = random_mnist_like(batch, features, args.classes, args.seed, zeros=0.0 if conv else 0.81)
    if conv:
        x = x.reshape(batch, *IMAGE)
    data = "random 1x28x28 images (random biases)" if conv else "random MNIST-shaped data (81% zeros)"
    print(f"nnxp gradcheck: {_describe(net, args)}, {net.backend.name} {args.dtype} "
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
