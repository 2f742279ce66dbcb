"""``nnxp train``: train a net on MNIST as the book's chapter 4-8 scripts do, and report.

The architecture options come from :mod:`nnxp.cli.model_options`; each optimizer option
(momentum, beta1, ...) from the optimizers' signatures, so a new optimizer's parameters
become options without a change here.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import math
import time
from typing import Any

from nnxp.argtypes import count, positive_int, train_dtype
from nnxp.backends import BACKEND_NAMES, DTYPES
from nnxp.cli.common import (
    EVAL_BATCH_IMAGES,
    THREADS_HELP,
    data_inputs,
    error_line,
    flag,
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
from nnxp.train.callbacks import Checkpoint, EpochLog, HistoryPlot, MetricsLog, ProgressBar


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


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (the --validation share)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1 (exclusive)")
    return value


def add_selection_arguments(parser: argparse.ArgumentParser, train_size: int | None = None,
                            validation: float | None = None, test_size: bool = True) -> None:
    """--train-size, --test-size (when ``test_size``) and --validation, with these defaults."""
    given = f" (default: {train_size})" if train_size else " (default: all)"
    parser.add_argument("--train-size", type=positive_int, default=train_size, metavar="N",
                        help=f"train on the first N training samples{given}; the book takes "
                        "300 to make a net overfit")
    if test_size:
        parser.add_argument("--test-size", type=positive_int, metavar="N",
                            help="evaluate on the first N test samples (default: all)")
    held = f" (default: {validation:g}, the book's)" if validation else ""
    parser.add_argument("--validation", type=fraction, default=validation, metavar="FRACTION",
                        help="hold out this share of the training samples, shuffled with --seed,"
                        f" and evaluate on it instead of the test set{held}")


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
    add_selection_arguments(train)
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
    train.add_argument("--distributed", action="store_true",
                       help="train one net over every process of an MPI job: `mpiexec -n N "
                       "nnxp train --distributed ...` (pip install 'nnxp[mpi]'); --batch-size "
                       "is the global batch, split evenly; rank 0 prints and writes")
    train.set_defaults(func=run)
    return train


def _as_validation(record: dict[str, Any]) -> dict[str, Any]:
    """A record or result whose evaluation set is the validation split: test_acc -> val_acc."""
    return {("val_acc" if key == "test_acc" else key): value for key, value in record.items()}


class ValidationLog(EpochLog):
    """EpochLog's line, with "val acc" where the Trainer's second set is the validation split."""

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None:
        line = io.StringIO()
        EpochLog(line).on_epoch_end(trainer, record)
        print(line.getvalue().replace(" test acc ", " val acc "), end="", flush=True)


class ValidationMetrics(MetricsLog):
    """MetricsLog's JSON lines, each with ``val_acc`` in place of ``test_acc``."""

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None:
        from nnxp.files import atomic_write_text

        if record["epoch"] == 0:
            return  # written with epoch 1's line, as MetricsLog does
        text = "".join(json.dumps(_as_validation(r)) + "\n" for r in trainer.records)
        atomic_write_text(self.path, text, "metrics")


class ValidationCheckpoint(Checkpoint):
    """Checkpoint's model file, its result naming the validation accuracy ``val_acc``."""

    def save(self, trainer: Any) -> None:
        from nnxp.io import save_model

        last = trainer.records[-1]
        result = trainer.final or {"steps": trainer.current_iter, "epochs": trainer.current_epoch,
                                   **{k: last[k] for k in ("train_acc", "test_acc", "train_loss")}}
        info = {**self.info, "training": {**trainer.settings(), "result": _as_validation(result)}}
        save_model(self.path, trainer.network, info)
        self.saved_epoch = trainer.current_epoch


class ValidationPlot(HistoryPlot):
    """HistoryPlot's figure, the second curve labelled "val acc"."""

    def on_train_end(self, trainer: Any) -> None:
        from nnxp.plot import plot_history

        plot_history(trainer.history, self.path, test_label="val acc")


def _outputs(args: argparse.Namespace, save_info: dict[str, Any]) -> dict[str, Any]:
    """The Trainer's keywords for progress, epoch lines and files: its own callbacks, or with
    --validation the same ones naming the evaluation set the validation split."""
    if args.validation is None:
        return {"verbose": not args.quiet, "save_path": args.save, "save_info": save_info,
                "metrics_path": args.metrics, "plot_path": args.plot}
    callbacks: list[Any] = [] if args.quiet else [ProgressBar(), ValidationLog()]
    if args.save:
        callbacks.append(ValidationCheckpoint(args.save, save_info))
    if args.metrics:
        callbacks.append(ValidationMetrics(args.metrics))
    if args.plot:
        callbacks.append(ValidationPlot(args.plot))
    return {"verbose": False, "callbacks": callbacks}


def _network(args: argparse.Namespace, backend: Any, input_shape: tuple[int, ...]) -> Any:
    """The net the options describe for inputs of ``input_shape`` (one sample) and the ten
    digits, on ``backend``, initialised from --seed."""
    from nnxp.models.registry import build

    config = network_config(args, "train", input_shape, 10)
    return build(config, backend=backend, dtype=args.dtype, seed=args.seed)


_EVALUATED = {"test": "test", "val": "validation"}


def _dataset_info(args: argparse.Namespace, dataset: str, images: bool, x_train: Any,
                  x_test: Any) -> dict[str, Any]:
    """The model file's record of the data: name, format, sizes and how they were chosen."""
    info = {"name": dataset, "normalize": True, "flatten": not images,
            "train_size": int(x_train.shape[0])}
    if args.train_size is not None:
        info["train_subset"] = f"the first {args.train_size} training samples"
    if args.validation is None:
        info["test_size"] = int(x_test.shape[0])
    else:
        info["validation"] = {"fraction": args.validation, "size": int(x_test.shape[0]),
                              "seed": args.seed}
    return info


def run(args: argparse.Namespace) -> int:
    """Train a net on MNIST as the book's chapter 4-8 scripts do, and report how it went;
    with --distributed, one net over every process of an MPI job."""
    from nnxp.distributed.launch import check_launch

    check_launch(args.distributed)
    if not args.distributed:
        return _report(args, *_prepare(args, None))
    from nnxp.distributed import init

    comm = init()
    with comm.setup():  # a failure on any process: every process stops, rank 0 says why
        job = _prepare(args, comm)
    with comm.guard(lambda exc, where: error_line("train", exc, where)):
        return _report(args, *job)


def _prepare(args: argparse.Namespace, comm: Any) -> tuple[Any, str, str, float, float, Any]:
    """Check the options, load the data and build the net and its Trainer (on each process
    of a job with ``comm``); returns (trainer, dataset, evaluated set, loading seconds,
    the perf_counter it started at, comm)."""
    from nnxp.datasets.split import check_selection, select_splits
    from nnxp.files import distinct_outputs

    started = time.perf_counter()
    speaks = comm is None or comm.rank == 0
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise NnxpError(f"learning rate must be a finite number > 0, got {args.lr}; "
                        "pass e.g. --lr 0.1")
    optimizer_param = _optimizer_param(args)
    if comm is not None:
        comm.batch_share(args.batch_size)
    device = args.device if comm is None else args.device or comm.device(args.backend)
    backend = open_backend(args.backend, device, args.dtype)
    if speaks:  # only rank 0 of a job writes
        distinct_outputs({"--save": args.save, "--metrics": args.metrics, "--plot": args.plot},
                         data_inputs(args.data_dir))
    if args.plot:
        from nnxp.plot import require_matplotlib

        require_matplotlib()
    images = takes_images(args.model)
    _network(args, backend, MNIST_IMAGE)  # bad architecture options fail here, before the data
    selection = {"train_size": args.train_size, "test_size": args.test_size,
                 "validation": args.validation}
    check_selection(**selection, batch_size=args.batch_size)

    quiet = args.quiet or not speaks
    splits, dataset = load_data(args.dataset, args.data_dir, quiet, flatten=not images)
    (x_train, t_train), (x_test, t_test) = select_splits(
        splits, **selection, seed=args.seed, batch_size=args.batch_size, dataset=dataset)
    evaluated = "test" if args.validation is None else "val"
    loading = time.perf_counter() - started
    net = _network(args, backend, tuple(int(n) for n in x_train.shape[1:]))
    from nnxp.train import Trainer

    extra: list[Any] = []
    if comm is not None:
        from nnxp.train.distributed import DataParallel

        extra.append(DataParallel(comm))
    outputs = _outputs(args, {"dataset": _dataset_info(args, dataset, images, x_train, x_test)})
    outputs["callbacks"] = [*outputs.get("callbacks", []), *extra]
    trainer = Trainer(
        net, x_train, t_train, x_test, t_test,
        epochs=args.epochs or 1, mini_batch_size=args.batch_size, optimizer=args.optimizer,
        optimizer_param=optimizer_param, evaluate_sample_num_per_epoch=args.eval_samples,
        iters=None if args.epochs else args.iters,
        sampling=args.sampling, gradient=args.gradient, seed=args.seed,
        eval_batch_size=EVAL_BATCH_IMAGES if images else 10_000,
        threads=args.threads, **outputs,
    )
    return trainer, dataset, evaluated, loading, started, comm


def _report(args: argparse.Namespace, trainer: Any, dataset: str, evaluated: str,
            loading: float, started: float, comm: Any) -> int:
    """Train, printing the run's header, its result and the files written (rank 0 of a job
    alone prints)."""
    net = trainer.network
    be = net.backend
    speaks = comm is None or comm.rank == 0
    hyper = "".join(f", {key} {value:g}" for key, value in trainer.optimizer_param.items()
                    if key != "lr")
    if speaks and not args.quiet:
        n_eval = int(trainer.x_test.shape[0])
        print(
            f"training {args.model} {describe(net.config)} on {dataset} "
            f"({trainer.train_size} train, {n_eval} {_EVALUATED[evaluated]}) "
            f"with {where(be)} "
            f"{args.dtype}: {args.optimizer} lr {args.lr:g}{hyper}, batch {args.batch_size}, "
            f"{plural(trainer.max_iter, 'iteration')} ({plural(trainer.epochs, 'epoch')}), "
            f"seed {args.seed}",
            flush=True,
        )
        if comm is not None:
            print(_job_line(comm, trainer), flush=True)
    trainer.train()  # on --threads threads
    if not speaks:
        return 0
    final = trainer.final
    print(
        f"final: {evaluated} acc {final['test_acc']:.4f}, train acc {final['train_acc']:.4f}, "
        f"loss {final['train_loss']:.4f} after {plural(final['steps'], 'iteration')} "
        f"({plural(final['epochs'], 'epoch')}) on {dataset}"
    )
    total = time.perf_counter() - started
    print(
        f"time: {total:.1f} s in total ({loading:.1f} s loading data, {final['seconds']:.1f} s "
        f"training and evaluating), {1e3 * final['seconds_per_step']:.2f} ms per iteration "
        f"({where(be)} {args.dtype})"
    )
    if comm is not None and comm.calls:
        print(f"reductions: {plural(comm.calls, 'allreduce')} of "
              f"{comm.bytes / comm.calls / 1e3:.1f} kB, {1e3 * comm.seconds / comm.calls:.3f} "
              f"ms each ({100 * comm.seconds / max(final['seconds'], 1e-9):.0f}% of training "
              "and evaluating)")
    outputs = {"model": args.save, "metrics": args.metrics, "plot": args.plot}
    written = [f"{what}: {path}" for what, path in outputs.items() if path is not None]
    if args.save:
        written[0] += f" (score it: nnxp eval --weights {args.save})"
    print("\n".join(written) or "files: none written (--save FILE.npz keeps the model; "
                               "--metrics and --plot keep the history)")
    return 0


def _job_line(comm: Any, trainer: Any) -> str:
    """How the job splits the work: processes, each one's batch, the reduction engine."""
    from nnxp.train.distributed import normalises_batches

    share = trainer.batch_size // comm.size
    line = (f"distributed: {comm.size} {'process' if comm.size == 1 else 'processes'} ({comm.launcher}), "
            f"{share} samples of each batch of {trainer.batch_size} per process, gradients "
            f"averaged by {comm.engine(trainer.backend).name} in one buffer per step")
    norms = normalises_batches(trainer.network)
    if norms:
        line += (f"; batch norm synchronised (its statistics summed over the processes: "
                 f"{4 * norms} small reductions more per step)")
    return line
