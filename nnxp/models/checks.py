"""The argument checks every net's constructor runs: each turns a hostile value into the
plain Python value the net keeps, or raises a one-line NnxpError naming the argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from nnxp.errors import NnxpError
from nnxp.layers import Identity, Relu, Sigmoid, Tanh
from nnxp.limits import check_memory

ACTIVATIONS: dict[str, type] = {"relu": Relu, "sigmoid": Sigmoid, "tanh": Tanh, "identity": Identity}
"""The activations a dense net takes, by the name its config uses."""


def show(value: Any) -> str:
    """A value for an error message: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def positive_int(name: str, value: Any) -> int:
    """value as an int if it is an integer >= 1 (bools refused), else a one-line NnxpError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise NnxpError(f"{name} must be a positive integer, got {show(value)}")
    return int(value)


def size(value: Any, name: str, least: int = 1) -> int:
    """A size read from a config (a plain int >= least), for the shapes a config implies."""
    if type(value) is not int or value < least:
        raise NnxpError(f"{name} is {show(value)}, not a whole number of at least {least}")
    return value


def sizes(values: Any, name: str) -> list[int]:
    """A list of sizes read from a config (hidden layers), each a plain int >= 1."""
    if not isinstance(values, list | tuple):
        raise NnxpError(f"{name} is {show(values)}, not a list of sizes")
    return [size(v, "hidden size") for v in values]


def non_negative_int(name: str, value: Any) -> int:
    """value as an int if it is an integer >= 0 (bools refused), else a one-line NnxpError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise NnxpError(f"{name} must be an integer >= 0, got {show(value)}")
    return int(value)


def positive_ints(name: str, values: Any) -> list[int]:
    """A list or tuple of positive integers (hidden sizes), as a list of ints."""
    if not isinstance(values, list | tuple):
        raise NnxpError(f"{name} must be a list of positive integers, got {show(values)}")
    return [positive_int(f"each of {name}", v) for v in values]


def real_number(name: str, value: Any, low: float = -math.inf, high: float = math.inf,
                rule: str = "a finite number") -> float:
    """value as a float if it is a finite real in [low, high), else a one-line NnxpError."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and low <= value < high)
    if not ok:
        raise NnxpError(f"{name} must be {rule}, got {show(value)}")
    return float(value)


def flag(name: str, value: Any) -> bool:
    """value if it is True or False, else a one-line NnxpError (no truthiness guessing)."""
    if not isinstance(value, bool):
        raise NnxpError(f"{name} must be True or False, got {show(value)}")
    return value


def check_activation(activation: Any) -> str:
    """activation if it names one of ACTIVATIONS, else a one-line NnxpError."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise NnxpError(
            f"unknown activation {show(activation)}: use one of {', '.join(ACTIVATIONS)}"
        )
    return activation


def check_init_std(weight_init_std: Any) -> float | str:
    """weight_init_std if it is a finite number > 0 or a name init_std knows."""
    if isinstance(weight_init_std, str):
        if weight_init_std.lower() not in ("he", "relu", "xavier", "sigmoid"):
            raise NnxpError(f"unknown weight_init_std {show(weight_init_std)}: use a number, "
                            "'he' or 'xavier'")
        return weight_init_std
    std = real_number("weight_init_std", weight_init_std,
                      rule="a finite number > 0 or 'he'/'xavier'")
    if std <= 0:
        raise NnxpError(f"weight_init_std must be a finite number > 0 or 'he'/'xavier', "
                        f"got {show(weight_init_std)}")
    return std


def init_std(weight_init_std: float | str, fan_in: int) -> float:
    """The standard deviation of initial weights: a number, or "he"/"relu" (sqrt(2/n)) or
    "xavier"/"sigmoid" (sqrt(1/n)) for a layer with n inputs, as the book's MultiLayerNet."""
    weight_init_std = check_init_std(weight_init_std)
    if isinstance(weight_init_std, str):
        name = weight_init_std.lower()
        return math.sqrt((2.0 if name in ("he", "relu") else 1.0) / fan_in)
    return float(weight_init_std)


def decay(weight_decay_lambda: Any) -> float:
    """weight_decay_lambda as a float if finite and >= 0, else a one-line NnxpError."""
    return real_number("weight_decay_lambda", weight_decay_lambda, 0.0,
                       rule="a finite number >= 0 (0: no decay)")


def dropout_fraction(dropout_ratio: Any, dropout_ration: Any = None) -> float:
    """dropout_ratio as a float if in [0, 1), else a one-line NnxpError. ``dropout_ration``
    is the book's spelling (its MultiLayerNetExtend's keyword): when given, it is the ratio,
    and a different dropout_ratio beside it (not the default 0.5) is refused."""
    if dropout_ration is not None:
        default = isinstance(dropout_ratio, numbers.Real) and dropout_ratio == 0.5
        if not default and dropout_ratio is not dropout_ration:
            raise NnxpError(f"dropout_ratio {show(dropout_ratio)} and dropout_ration "
                            f"{show(dropout_ration)} (the book's spelling) both given: pass one")
        return real_number("dropout_ration", dropout_ration, 0.0, 1.0, rule="a number in [0, 1)")
    return real_number("dropout_ratio", dropout_ratio, 0.0, 1.0, rule="a number in [0, 1)")


def check_param_memory(shapes: Iterable[tuple[int, ...]], dtype: str) -> None:
    """Refuse (NnxpError) parameters of ``shapes`` that would not fit in memory, before any
    is drawn: each is drawn on the host in float64, then cast and moved."""
    counts = [math.prod(shape) for shape in shapes]
    itemsize = 8 if dtype == "float64" else 4
    nbytes = sum(counts) * itemsize + max(counts, default=0) * (8 + itemsize)
    check_memory(nbytes, "the net's parameters", "use smaller layer sizes")
