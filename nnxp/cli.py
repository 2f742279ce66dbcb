"""The ``nnxp`` command line: every subcommand prints errors as one line and exits 2.

One ``_cmd_X`` function and one parser block per subcommand; heavy modules (datasets,
training, matplotlib) are imported inside the commands so ``nnxp --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn

from nnxp.argtypes import count, nonnegative, positive_int, ratio
from nnxp.backend import BACKEND_NAMES, DTYPES
from nnxp.errors import NnxpError
from nnxp.nets import ACTIVATIONS, MODELS
from nnxp.optim import OPTIMIZERS
from nnxp.plot import FIGURES
from nnxp.plot_optimizers import BOOK_OPTIMIZERS

THREADS_HELP = ("CPU threads for the matrix products (default: 1, the fastest for the book's "
                "small nets on a busy machine; 0: the libraries' own choice)")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (problem and where to look) and exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}; see `{self.prog} --help`", file=sys.stderr)
        sys.exit(2)


def _cmd_info(args: argparse.Namespace) -> int:
    """List the backends, whether each is usable here, its devices, or why not."""
    from nnxp import __version__
    from nnxp.backend import backend_status, devices

    print(f"nnxp {__version__} (python {sys.version.split()[0]})")
    print("backends (nnxp train --backend NAME [--device DEV]):")
    for name, reason in backend_status().items():
        if reason is None:
            print(f"  {name:<17} usable    devices: {', '.join(devices(name))}")
        else:
            print(f"  {name:<17} unusable  {reason}")
    return 0


def _backend(name: str, device: str | None, dtype: str) -> Any:
    """The backend, or BackendUnavailable whose one line also says where to look next."""
    from nnxp.backend import get_backend
    from nnxp.errors import BackendUnavailable

    try:
        return get_backend(name, device, dtype)
    except BackendUnavailable as exc:
        raise BackendUnavailable(f"{exc}; `nnxp info` lists the backends usable here") from None


DENSE_MODELS: tuple[str, ...] = ("two-layer", "multi-layer", "multi-layer-extend")
"""Models of Affine layers on flattened images; the others take (N, C, H, W) images."""

MODEL_OPTIONS: dict[str, tuple[str, ...]] = {
    "activation": DENSE_MODELS,
    "init": (*DENSE_MODELS, "simple-conv"),
    "weight_decay": ("multi-layer", "multi-layer-extend"),
    "dropout": ("multi-layer-extend", "deep-conv"),
    "batchnorm": ("multi-layer-extend",),
}
"""Each architecture option of ``nnxp train`` -> the models that take it."""

DEFAULT_HIDDEN: dict[str, list[int]] = {"simple-conv": [100], "deep-conv": [50]}
"""--hidden by model where it is not [50]: the book's SimpleConvNet and DeepConvNet sizes."""


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


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


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
                f"{_flag(key)} applies to --optimizer {' or '.join(takers)}, not {args.optimizer}"
            )
        param[key] = value
    try:
        get_optimizer(args.optimizer, **param)  # values out of range fail here, before loading
    except NnxpError as exc:
        raise NnxpError(f"--optimizer {args.optimizer}: {exc}") from None
    return param


def _check_model_options(args: argparse.Namespace) -> None:
    """Refuse architecture options the chosen --model does not have, in one line."""
    for key, models in MODEL_OPTIONS.items():
        value = getattr(args, key)
        if value is not None and value is not False and args.model not in models:
            raise NnxpError(
                f"{_flag(key)} applies to --model {' or '.join(models)}, not {args.model}"
            )


def _weight_init(text: str | None, model: str, activation: str) -> float | str:
    """--init as the nets take it: a number, or he/xavier; by default the book's choice."""
    if text is None:
        if model in ("two-layer", "simple-conv"):
            return 0.01
        return "he" if activation == "relu" else "xavier"
    try:
        return float(text)
    except ValueError:
        return text


def _network(args: argparse.Namespace, input_shape: tuple[int, ...], output_size: int) -> Any:
    """The net the options describe for inputs of ``input_shape`` (one sample), on the chosen
    backend, initialised from --seed."""
    from nnxp.nets import build

    _check_model_options(args)
    hidden = list(args.hidden or DEFAULT_HIDDEN.get(args.model, [50]))
    if args.model not in ("multi-layer", "multi-layer-extend") and len(hidden) != 1:
        raise NnxpError(
            f"--model {args.model} takes one hidden size, got {len(hidden)} ({hidden}); "
            "pass one --hidden size or use --model multi-layer"
        )
    activation = args.activation or "relu"
    config: dict[str, Any] = {"model": args.model, "output_size": output_size}
    if args.model in DENSE_MODELS:
        config.update(input_size=math.prod(input_shape), activation=activation,
                      weight_init_std=_weight_init(args.init, args.model, activation))
        if args.model == "two-layer":
            config["hidden_size"] = hidden[0]
        else:
            config.update(hidden_size_list=hidden, weight_decay_lambda=args.weight_decay or 0.0)
        if args.model == "multi-layer-extend":
            config.update(use_dropout=args.dropout is not None,
                          dropout_ratio=0.5 if args.dropout is None else args.dropout,
                          use_batchnorm=bool(args.batchnorm))
    else:
        if len(input_shape) != 3:
            raise NnxpError(
                f"--model {args.model} takes images (channels, height, width), got samples of "
                f"shape {input_shape}"
            )
        config.update(input_dim=list(input_shape), hidden_size=hidden[0])
        if args.model == "simple-conv":
            config["weight_init_std"] = _weight_init(args.init, args.model, activation)
        elif args.dropout is not None:
            config["dropout_ratio"] = args.dropout
    return build(config, backend=args.backend_obj, dtype=args.dtype, seed=args.seed)


def _describe(net: Any) -> str:
    """The architecture in a few words: "784-50-10 relu", "1x28x28 images, hidden 100"."""
    config = net.config
    if "input_dim" in config:
        text = f"{'x'.join(map(str, config['input_dim']))} images, hidden {config['hidden_size']}"
        if "dropout_ratio" in config:
            text += f", dropout {config['dropout_ratio']:g}"
        return text
    hidden = config.get("hidden_size_list", [config.get("hidden_size")])
    sizes = "-".join(str(n) for n in [config["input_size"], *hidden, config["output_size"]])
    text = f"{sizes} {config['activation']}"
    if config.get("use_batchnorm"):
        text += ", batchnorm"
    if config.get("use_dropout"):
        text += f", dropout {config['dropout_ratio']:g}"
    if config.get("weight_decay_lambda"):
        text += f", weight decay {config['weight_decay_lambda']:g}"
    return text


def _takes_images(config: dict[str, Any]) -> bool:
    """Whether a net of this config takes (N, C, H, W) images rather than flat rows."""
    return "input_dim" in config


EVAL_BATCH_IMAGES = 1000
"""Images per evaluation chunk for conv nets: im2col of 10,000 MNIST images needs ~1 GB."""


def _threads(n: int) -> contextlib.AbstractContextManager[Any]:
    """Limit the CPU thread pools (BLAS, OpenMP) to ``n`` threads; 0 leaves them alone.

    The book's nets multiply small matrices: on a 2-core machine shared with other work, two
    BLAS threads waiting on each other made each iteration 3 to 15 times slower than one.
    """
    if n == 0:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _where(backend: Any) -> str:
    """"numpy cpu", "torch cuda:0", "array_api_strict CPU_DEVICE": backend and device."""
    return f"{backend.name} {backend.device_name}"


def _load(
    name: str, data_dir: str | None, quiet: bool, normalize: bool = True, flatten: bool = True
) -> Any:
    """(((x_train, t_train), (x_test, t_test)), resolved name) from nnxp.datasets."""
    from nnxp import datasets

    return datasets.load_dataset(
        name, data_dir=data_dir, normalize=normalize, flatten=flatten, one_hot_label=False,
        progress=not quiet,
    )


def _data_inputs(data_dir: str | None) -> dict[str, str | None]:
    """The folders a data-reading command reads (an output may lie in none of them)."""
    from nnxp.datasets.cache import cache_dir

    return {"--data-dir": data_dir, "NNXP_DATA_DIR": os.environ.get("NNXP_DATA_DIR") or None,
            "the data cache": str(cache_dir())}


def _cmd_train(args: argparse.Namespace) -> int:
    """Train a net on MNIST as the book's chapter 4-8 scripts do, and report how it went."""
    from nnxp.files import distinct_outputs

    started = time.perf_counter()
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise NnxpError(f"learning rate must be a finite number > 0, got {args.lr}; "
                        "pass e.g. --lr 0.1")
    optimizer_param = _optimizer_param(args)
    args.backend_obj = _backend(args.backend, args.device, args.dtype)
    outputs = {"model": args.save, "metrics": args.metrics, "plot": args.plot}
    distinct_outputs({"--save": args.save, "--metrics": args.metrics, "--plot": args.plot},
                     _data_inputs(args.data_dir))
    if args.plot:
        from nnxp.plot import require_matplotlib

        require_matplotlib()
    images = args.model not in DENSE_MODELS
    _network(args, (1, 28, 28), 10)  # bad architecture options fail here, before the data loads

    ((x_train, t_train), (x_test, t_test)), dataset = _load(
        args.dataset, args.data_dir, args.quiet, flatten=not images
    )
    loading = time.perf_counter() - started
    net = _network(args, tuple(int(n) for n in x_train.shape[1:]), 10)
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
            f"training {args.model} {_describe(net)} on {dataset} "
            f"({trainer.train_size} train, {int(x_test.shape[0])} test) with {_where(be)} "
            f"{args.dtype}: {args.optimizer} lr {args.lr:g}{hyper}, batch {args.batch_size}, "
            f"{_plural(trainer.max_iter, 'iteration')} ({_plural(trainer.epochs, 'epoch')}), "
            f"seed {args.seed}",
            flush=True,
        )
    with _threads(args.threads):
        trainer.train()
    final = trainer.final
    print(
        f"final: test acc {final['test_acc']:.4f}, train acc {final['train_acc']:.4f}, "
        f"loss {final['train_loss']:.4f} after {_plural(final['steps'], 'iteration')} "
        f"({_plural(final['epochs'], 'epoch')}) on {dataset}"
    )
    total = time.perf_counter() - started
    print(
        f"time: {total:.1f} s in total ({loading:.1f} s loading data, {final['seconds']:.1f} s "
        f"training and evaluating), {1e3 * final['seconds_per_step']:.2f} ms per iteration "
        f"({_where(be)} {args.dtype})"
    )
    written = [f"{what}: {path}" for what, path in outputs.items() if path is not None]
    if args.save:
        written[0] += f" (score it: nnxp eval --weights {args.save})"
    print("\n".join(written) or "files: none written (--save FILE.npz keeps the model; "
                               "--metrics and --plot keep the history)")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    """Score a saved model on the test set: accuracy and confusion matrix."""
    import numpy as np

    from nnxp.errors import BackendUnavailable
    from nnxp.io import load_model, output_size
    from nnxp.train import confusion_matrix, predict_labels

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            net, meta = load_model(args.weights, backend=args.backend, device=args.device)
        except BackendUnavailable as exc:
            raise BackendUnavailable(f"{exc}; `nnxp info` lists the backends usable here") from None
    for warning in caught:
        print(f"nnxp eval: warning: {warning.message}", file=sys.stderr)
    data = meta.get("dataset", {})
    name = args.dataset or data.get("name", "auto")
    images = _takes_images(net.config)
    (_, (x_test, t_test)), dataset = _load(
        name, args.data_dir, quiet=args.json, normalize=bool(data.get("normalize", True)),
        flatten=not images,
    )
    expected = tuple(net.config["input_dim"]) if images else (int(net.config["input_size"]),)
    if tuple(x_test.shape[1:]) != expected:
        raise NnxpError(
            f"the model takes samples of shape {expected} but {dataset} has "
            f"{tuple(x_test.shape[1:])}; pick the dataset it was trained on with --dataset"
        )
    with _threads(args.threads):
        predicted = predict_labels(net, x_test, EVAL_BATCH_IMAGES if images else 10_000)
    labels = np.asarray(t_test).astype(np.int64).reshape(-1)
    classes = output_size(meta)
    if labels.size and int(labels.max()) >= classes:
        raise NnxpError(
            f"the model has {classes} classes but {dataset}'s labels go up to "
            f"{int(labels.max())}; score it on the data it was trained for"
        )
    confusion = confusion_matrix(labels, predicted, classes)
    correct = int(np.trace(confusion))
    accuracy = correct / max(labels.size, 1)
    if args.json:
        print(json.dumps({
            "accuracy": accuracy, "correct": correct, "total": int(labels.size),
            "confusion": confusion.tolist(), "dataset": dataset, "weights": str(args.weights),
            "backend": net.backend.name,
        }))
        return 0
    print(f"{args.weights}: test accuracy {accuracy:.4f} ({correct} of {labels.size}) on "
          f"{dataset} with {_where(net.backend)}")
    width = max(5, len(str(int(confusion.max()))) + 1)
    print("confusion matrix (rows: true label, columns: predicted)")
    print("true" + "".join(f"{j:>{width}}" for j in range(classes)))
    for i, row in enumerate(confusion):
        print(f"{i:>4}" + "".join(f"{int(v):>{width}}" for v in row))
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    """Import the book's pickled weights (safely) and write them as an nnxp model file.

    The output is checked first (a writable regular file, not the pickle itself), so a
    refused run writes nothing; the digest recorded is of the very bytes unpickled.
    """
    from nnxp.book_weights import BOOK_ARCHS, import_book_weights
    from nnxp.files import distinct_outputs
    from nnxp.io import save_model

    distinct_outputs({"-o": args.output}, {"BOOK.pkl": args.pickle})
    net, digest = import_book_weights(args.pickle, args.arch, backend="numpy", dtype=args.dtype)
    info = {
        "dataset": {"normalize": True, "flatten": not _takes_images(net.config)},
        "source": {"book_weights": args.pickle.name, "arch": args.arch, "sha256": digest},
    }
    save_model(args.output, net, info)
    print(f"{args.pickle}: {BOOK_ARCHS[args.arch]} -> {args.output} ({args.dtype}; "
          f"score it: nnxp eval --weights {args.output})")
    return 0


PLOT_OPTIMIZER_OPTIONS: dict[str, Any] = {
    "optimizers": list(BOOK_OPTIMIZERS), "iters": 500, "batch_size": 128,
    "dataset": "auto", "data_dir": None, "backend": "numpy", "device": None, "seed": 0,
}
"""The options of ``nnxp plot optimizers`` and their defaults (the book's, 500 iterations)."""


def _cmd_plot(args: argparse.Namespace) -> int:
    """Draw one of the book's figures to a PNG."""
    from nnxp.files import distinct_outputs
    from nnxp.plot import plot_figure

    given = [key for key in PLOT_OPTIMIZER_OPTIONS if getattr(args, key) is not None]
    if args.figure != "optimizers":
        if given:
            raise NnxpError(f"{_flag(given[0])} applies to `nnxp plot optimizers` only")
        distinct_outputs({"-o": args.output or f"{args.figure}.png"})
        path = plot_figure(args.figure, args.output or f"{args.figure}.png")
        print(f"{args.figure}: {path}")
        return 0
    return _plot_optimizers(args)


def _plot_optimizers(args: argparse.Namespace) -> int:
    """Chapter 6's figure: MultiLayerNet's loss with each optimizer, same batches, to a PNG."""
    from nnxp.files import distinct_outputs
    from nnxp.plot import require_matplotlib
    from nnxp.plot_optimizers import compare_optimizers, plot_optimizer_comparison, smooth_curve

    for key, default in PLOT_OPTIMIZER_OPTIONS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    path = args.output or "optimizers.png"
    distinct_outputs({"-o": path}, _data_inputs(args.data_dir))
    require_matplotlib()
    backend = _backend(args.backend, args.device, "float32")
    ((x_train, t_train), _), dataset = _load(args.dataset, args.data_dir, quiet=False)
    if args.batch_size > x_train.shape[0]:
        raise NnxpError(f"--batch-size {args.batch_size} is larger than {dataset}'s "
                        f"{x_train.shape[0]} training images")
    print(f"optimizers: MultiLayerNet {x_train.shape[1]}-100-100-100-100-10 on {dataset} "
          f"({x_train.shape[0]} train) with {_where(backend)} float32, "
          f"{_plural(args.iters, 'iteration')} of batch {args.batch_size} each for "
          f"{', '.join(args.optimizers)}, seed {args.seed}", flush=True)
    started = time.perf_counter()
    with _threads(args.threads):
        losses = compare_optimizers(x_train, t_train, args.optimizers, args.iters,
                                    args.batch_size, backend=backend, seed=args.seed)
    final = ", ".join(f"{name} {smooth_curve(curve)[-1]:.4f}" for name, curve in losses.items())
    print(f"final loss (smoothed): {final}; {time.perf_counter() - started:.1f} s")
    print(f"optimizers: {plot_optimizer_comparison(losses, path)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog="nnxp", description="The networks of 'Deep Learning from Scratch' on any backend."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="list the backends and which are usable here")
    info.set_defaults(func=_cmd_info)

    train = sub.add_parser(
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
    train.add_argument("--model", choices=list(MODELS), default="two-layer",
                       help="two-layer (default), multi-layer, multi-layer-extend (batch norm, "
                       "dropout), simple-conv (chapter 7), deep-conv (chapter 8)")
    train.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                       help="hidden layer sizes (multi-layer: several; default: 50, "
                       "simple-conv 100)")
    train.add_argument("--activation", choices=list(ACTIVATIONS),
                       help="hidden activation of the dense models (default: relu)")
    train.add_argument("--init", metavar="STD",
                       help="initial weight std: a number, 'he' or 'xavier' (default: 0.01 for "
                       "two-layer and simple-conv, he/xavier for multi-layer)")
    train.add_argument("--weight-decay", type=nonnegative, metavar="LAMBDA",
                       help="L2 weight decay in the loss (multi-layer, multi-layer-extend)")
    train.add_argument("--dropout", type=ratio, metavar="RATIO",
                       help="dropout after each hidden layer (multi-layer-extend), or the "
                       "ratio of deep-conv's two (default 0.5)")
    train.add_argument("--batchnorm", action="store_true",
                       help="batch normalisation before each activation (multi-layer-extend)")
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
        train.add_argument(_flag(key), type=float, metavar="X",
                           help=f"{key} of --optimizer {', '.join(takers)} (default: {default:g})")
    train.add_argument("--gradient", choices=("backprop", "numerical"), default="backprop")
    train.add_argument("--sampling", choices=("shuffle", "replace"), default="shuffle",
                       help="shuffle: a fresh permutation each epoch; replace: batches drawn "
                       "with replacement, as the book's scripts (default: shuffle)")
    train.add_argument("--eval-samples", type=positive_int, metavar="N",
                       help="evaluate each epoch on the first N samples only (default: all)")
    train.add_argument("--dtype", choices=DTYPES, default="float32")
    train.add_argument("--seed", type=count, default=0,
                       help="initial weights and batches (an integer >= 0)")
    train.add_argument("--save", metavar="PATH", help="write the model (.npz) here")
    train.add_argument("--metrics", metavar="PATH", help="write JSON lines, one per epoch")
    train.add_argument("--plot", metavar="PATH", help="write a PNG of accuracy and loss")
    train.add_argument("--threads", type=count, default=1, metavar="N", help=THREADS_HELP)
    train.add_argument("--quiet", action="store_true", help="only the final summary")
    train.set_defaults(func=_cmd_train)

    evaluate = sub.add_parser("eval", help="score a saved model on the test set")
    evaluate.add_argument("--weights", required=True, type=Path, metavar="FILE")
    evaluate.add_argument("--backend", choices=BACKEND_NAMES, default="numpy")
    evaluate.add_argument("--device")
    evaluate.add_argument("--dataset",
                          help="auto, mnist or mnist-5k (default: the one the model was "
                          "trained on)")
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--threads", type=count, default=1, metavar="N", help=THREADS_HELP)
    evaluate.add_argument("--json", action="store_true", help="one JSON object on stdout")
    evaluate.set_defaults(func=_cmd_eval)

    from nnxp.book_weights import BOOK_ARCHS

    convert = sub.add_parser(
        "convert", help="import the book's pickled weights as an nnxp model file",
        description="Read one of the book's weight pickles with a restricted unpickler (NumPy "
        "arrays only; a pickle that would run code is refused) and write an nnxp model file "
        "that `nnxp eval --weights` scores. Architectures: "
        + "; ".join(f"{k}: {v}" for k, v in BOOK_ARCHS.items()) + ".",
    )
    convert.add_argument("pickle", type=Path, metavar="BOOK.pkl")
    convert.add_argument("--arch", choices=list(BOOK_ARCHS), required=True,
                         help="which of the book's nets the pickle holds")
    convert.add_argument("-o", "--output", required=True, type=Path, metavar="MODEL.npz")
    convert.add_argument("--dtype", choices=DTYPES, default="float32")
    convert.set_defaults(func=_cmd_convert)

    plot = sub.add_parser(
        "plot", help="draw one of the book's figures to a PNG",
        description="Draw one of the book's figures to a PNG. `optimizers` is chapter 6's "
        "comparison: MultiLayerNet(784, [100]*4, 10) trained with each optimizer (book "
        "defaults) on the same batches from the same weights; the other options are its own.",
    )
    plot.add_argument("figure", choices=(*FIGURES, "optimizers"))
    plot.add_argument("-o", "--output", metavar="PNG", help="default: FIGURE.png")
    plot.add_argument("--optimizers", nargs="+", choices=list(OPTIMIZERS), metavar="NAME",
                      help="default: sgd momentum adagrad adam")
    plot.add_argument("--iters", type=positive_int, metavar="N",
                      help="updates per optimizer (default: 500; the book runs 2000)")
    plot.add_argument("--batch-size", type=positive_int, metavar="N", help="default: 128")
    plot.add_argument("--dataset", help="auto (default), mnist or mnist-5k")
    plot.add_argument("--data-dir", help="a folder holding the four MNIST .gz files")
    plot.add_argument("--backend", choices=BACKEND_NAMES)
    plot.add_argument("--device")
    plot.add_argument("--seed", type=count, help="initial weights and batches (default: 0)")
    plot.add_argument("--threads", type=count, default=1, metavar="N", help=THREADS_HELP)
    plot.set_defaults(func=_cmd_plot)

    from nnxp.gradcheck import add_gradcheck_parser

    add_gradcheck_parser(sub)
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
    except NnxpError as exc:
        print(f"nnxp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader (``| head``) left: nothing more to say, and nothing to flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except MemoryError:
        print(f"nnxp {args.command}: error: out of memory; use smaller sizes (--hidden, "
              "--batch-size) or free memory", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"nnxp {args.command}: error: {exc.strerror or exc}{where}; check the paths and "
              "the free space", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnxp {args.command}: interrupted", file=sys.stderr)
        return 130
