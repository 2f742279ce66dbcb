"""The command line's value types (argparse ``type=``): each refuses what it cannot take with a
message that argparse prints as one line, ``argument --X: ...``."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str, least: int = 1) -> int:
    """An integer >= ``least`` (sizes, counts of iterations)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < least:
        want = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise argparse.ArgumentTypeError(f"{value} is not {want}")
    return value


def count(text: str) -> int:
    """An integer >= 0 (seeds, thread counts)."""
    return positive_int(text, least=0)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def ratio(text: str) -> float:
    """A number in [0, 1) (dropout ratios)."""
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1)")
    return value


def nonnegative(text: str) -> float:
    """A finite number >= 0 (weight decay, tolerances)."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number >= 0")
    return value


def train_dtype(text: str) -> str:
    """A dtype nets train in; float16 is refused with the reason (it is for evaluation)."""
    from nnxp.backends import DtypeError, check_train_dtype

    try:
        check_train_dtype(text)
    except DtypeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
