"""Each model's command-line knowledge for ``nnxp train`` and ``nnxp gradcheck``: the
architecture options, which models take each, their defaults, and how the values given
become the config that :func:`nnxp.models.build` builds.

Per model, :data:`MODELS` (what of the net options can set, default sizes, the config it
builds); per command, :data:`COMMANDS` (its options and how their values are read). No other
module of the command line names a model, so the model registry can take these tables over
as they are. The API::

    add_model_arguments(parser, command)      --model and the architecture options
    check_model_options(args, command)        refuse what the chosen --model does not take
    network_config(args, command, input_shape, output_size) -> dict   for nets.build
    takes_images(model) -> bool               (C, H, W) images rather than flat rows
    describe(config), describe_check(config)  the net in a few words (train, gradcheck)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnxp.argtypes import nonnegative, positive_int, ratio
from nnxp.errors import NnxpError
from nnxp.models.checks import ACTIVATIONS
from nnxp.models.options import MODEL_OPTIONS as MODELS
from nnxp.models.options import Defaults, Values

MNIST_IMAGE: tuple[int, int, int] = (1, 28, 28)
"""The images the conv nets are checked on, and built for before the data is read."""


@dataclass(frozen=True)
class Option:
    """One architecture option of one command."""

    flag: str
    takes: tuple[str, ...]
    """A model takes the option when it has one of these in ModelOptions.takes; (): any."""
    kwargs: dict[str, Any]
    """For argparse's add_argument."""
    refusal: str = ""
    """gradcheck's words for it when the model does not take it."""

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")

    def takers(self) -> list[str]:
        """The models that take this option, in the table's order."""
        return [name for name, model in MODELS.items() if model.takes & set(self.takes)]


def _init(text: str | None, default: float | str | None, activation: str) -> float | str:
    """--init as the nets take it: a number, or he/xavier; by default the model's."""
    if text is None:
        if default is None:
            return "he" if activation == "relu" else "xavier"
        return default
    try:
        return float(text)
    except ValueError:
        return text


def _train_values(args: argparse.Namespace, defaults: Defaults, input_shape: tuple[int, ...],
                  output_size: int) -> Values:
    activation = args.activation or "relu"
    return Values(input_shape, output_size, list(args.hidden or defaults.hidden), activation,
                  _init(args.init, defaults.init, activation), args.weight_decay or 0.0,
                  args.dropout is not None, 0.5 if args.dropout is None else args.dropout,
                  bool(args.batchnorm), defaults.filters)


def _check_values(args: argparse.Namespace, defaults: Defaults, input_shape: tuple[int, ...],
                  output_size: int) -> Values:
    activation = args.activation or "sigmoid"
    return Values(input_shape, output_size, list(args.hidden or defaults.hidden), activation,
                  _init(None, defaults.init, activation), args.weight_decay, args.dropout,
                  args.dropout_ratio, args.batchnorm, args.filters or defaults.filters)


def _refuse_first(model: str, refused: list[Option], hidden: list[int] | None) -> None:
    """train's words: the first option the model does not take, then several hidden sizes."""
    if refused:
        raise NnxpError(f"{refused[0].flag} applies to --model {' or '.join(refused[0].takers())}, "
                        f"not {model}")
    if hidden:
        raise NnxpError(f"--model {model} takes one hidden size, got {len(hidden)} ({hidden}); "
                        "pass one --hidden size or use --model multi-layer")


def _refuse_all(model: str, refused: list[Option], hidden: list[int] | None) -> None:
    """gradcheck's words: everything the model does not take, in one line."""
    wrong = list(dict.fromkeys(option.refusal for option in refused))
    if hidden:
        wrong.append(f"{len(hidden)} --hidden sizes ({model} takes one)")
    if wrong:
        raise NnxpError(f"--model {model} does not take {'; '.join(wrong)}: drop it or choose "
                        "another --model")


@dataclass(frozen=True)
class Command:
    """The architecture options of one subcommand and how their values are read."""

    options: tuple[Option, ...]
    values: Callable[[argparse.Namespace, Defaults, tuple[int, ...], int], Values]
    refuse: Callable[[str, list[Option], list[int] | None], None]
    """Raise NnxpError for the options refused and the hidden sizes (if several) refused."""
    model_help: str | None = None


_IMAGE = "x".join(map(str, MNIST_IMAGE))

COMMANDS: dict[str, Command] = {
    "train": Command((
        Option("--hidden", (), {"type": positive_int, "nargs": "+", "metavar": "N",
                                "help": "hidden layer sizes (multi-layer: several; default: 50, "
                                "simple-conv 100)"}),
        Option("--activation", ("activation",), {
            "choices": list(ACTIVATIONS),
            "help": "hidden activation of the dense models (default: relu)"}),
        Option("--init", ("init",), {
            "metavar": "STD", "help": "initial weight std: a number, 'he' or 'xavier' (default: "
            "0.01 for two-layer and simple-conv, he/xavier for multi-layer)"}),
        Option("--weight-decay", ("weight_decay",), {
            "type": nonnegative, "metavar": "LAMBDA",
            "help": "L2 weight decay in the loss (multi-layer, multi-layer-extend)"}),
        Option("--dropout", ("dropout", "dropout_ratio"), {
            "type": ratio, "metavar": "RATIO", "help": "dropout after each hidden layer "
            "(multi-layer-extend), or the ratio of deep-conv's two (default 0.5)"}),
        Option("--batchnorm", ("batchnorm",), {
            "action": "store_true",
            "help": "batch normalisation before each activation (multi-layer-extend)"}),
    ), _train_values, _refuse_first, "two-layer (default), multi-layer, multi-layer-extend (batch norm, "
        "dropout), simple-conv (chapter 7), deep-conv (chapter 8)"),
    "gradcheck": Command((
        Option("--activation", ("activation",), {
            "choices": list(ACTIVATIONS), "default": None,
            "help": "hidden activation of the fully connected nets (default: sigmoid)"},
            "--activation (the conv nets use relu)"),
        Option("--input-size", ("input_size",), {
            "type": positive_int, "default": None,
            "help": "features per sample of the fully connected nets (default 784)"},
            f"--input-size (the conv nets take {_IMAGE} images)"),
        Option("--hidden", (), {"type": positive_int, "nargs": "+", "metavar": "N",
                                "help": "hidden layer sizes (two-layer and the conv nets: one; "
                                "default 50, multi-layer 100 100, conv nets 10)"}),
        Option("--filters", ("filters",), {
            "type": positive_int, "default": None, "metavar": "N",
            "help": "filters of each conv layer (conv nets; default 4 for simple-conv, 2 for "
            "deep-conv: the numerical gradient costs two forward passes per parameter)"},
            "--filters (conv nets only)"),
        Option("--batchnorm", ("batchnorm",), {
            "action": "store_true", "help": "batch normalisation (multi-layer-extend)"},
            "--batchnorm/--dropout (multi-layer-extend only)"),
        Option("--dropout", ("dropout",), {
            "action": "store_true", "help": "dropout (multi-layer-extend)"},
            "--batchnorm/--dropout (multi-layer-extend only)"),
        Option("--dropout-ratio", (), {
            "type": ratio, "default": 0.5, "metavar": "R",
            "help": "dropout ratio (multi-layer-extend with --dropout, deep-conv)"}),
        Option("--weight-decay", ("weight_decay",), {
            "type": nonnegative, "default": 0.0,
            "help": "weight-decay lambda (multi-layer, multi-layer-extend)"},
            "--weight-decay (multi-layer, multi-layer-extend)"),
    ), _check_values, _refuse_all),
}
"""Each subcommand that builds a net from options."""


def add_model_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Add --model (default two-layer) and the architecture options of ``command``."""
    parser.add_argument("--model", choices=list(MODELS), default="two-layer",
                        help=COMMANDS[command].model_help)
    for option in COMMANDS[command].options:
        parser.add_argument(option.flag, **option.kwargs)


def _given(option: Option, args: argparse.Namespace) -> bool:
    value = getattr(args, option.dest)
    return value is not None and value is not False and value != option.kwargs.get("default")


def check_model_options(args: argparse.Namespace, command: str) -> None:
    """Refuse, in one line, the options the chosen --model does not take (none is silently
    ignored), and several hidden sizes for a model of one hidden layer."""
    model = MODELS[args.model]
    refused = [option for option in COMMANDS[command].options
               if option.takes and _given(option, args) and not model.takes & set(option.takes)]
    hidden = list(args.hidden or ())
    several = hidden if len(hidden) > 1 and not model.many_hidden else None
    COMMANDS[command].refuse(args.model, refused, several)


def network_config(args: argparse.Namespace, command: str, input_shape: tuple[int, ...],
                   output_size: int) -> dict[str, Any]:
    """The config (for :func:`nnxp.models.build`) of the net ``command``'s options describe, for
    samples of ``input_shape``; options the model does not take are refused first."""
    check_model_options(args, command)
    model = MODELS[args.model]
    if model.images and len(input_shape) != 3:
        raise NnxpError(
            f"--model {args.model} takes images (channels, height, width), got samples of "
            f"shape {input_shape}"
        )
    values = COMMANDS[command].values(args, model.defaults[command], input_shape, output_size)
    return {"model": args.model, "output_size": output_size, **model.config(values)}


def describe(config: dict[str, Any]) -> str:
    """The architecture in a few words: "784-50-10 relu", "1x28x28 images, hidden 100"."""
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


def describe_check(config: dict[str, Any]) -> str:
    """The net in a few words for gradcheck's first line: model, sizes, classes, activation."""
    model, classes = config["model"], config["output_size"]
    if "input_dim" in config:
        filters = config.get("conv_param", config.get("conv_param_1"))["filter_num"]
        return (f"{model} {'x'.join(map(str, config['input_dim']))} images, {filters} filters, "
                f"hidden {config['hidden_size']}, {classes} classes, relu")
    hidden = config.get("hidden_size_list", [config.get("hidden_size")])
    sizes = "-".join(str(n) for n in [config["input_size"], *hidden, classes])
    extras = "".join(f", {name}" for name in ("batchnorm", "dropout") if config.get(f"use_{name}"))
    return f"{model} {sizes}, {config['activation']}{extras}"
