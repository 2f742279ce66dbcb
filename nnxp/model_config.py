"""The JSON config of a model file, checked before anything is built: its text, its schema,
and the parameter shapes the architecture it describes implies.

A model file is hostile until checked (see nnxp.io). The config is bounded in length and in
nesting depth before ``json.loads`` (a text nested 100,000 deep would otherwise end in a
RecursionError), then held to a schema, and its architecture (sizes, filters, layers) is
turned into the shapes its net would allocate, without allocating them: a config claiming a
hidden size of 10^12 beside small arrays is refused here, not by a net that tries to draw
10^15 random numbers.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from nnxp.errors import ModelFileError, NnxpError

FORMAT = "nnxp-model"
FORMAT_VERSION = 2
"""The newest format read: 2 adds buffers (running statistics) beside the parameters."""
DTYPES = ("float16", "float32", "float64")
"""The dtypes a net computes in, so the ones a config may name (float16: a net converted for
inference, ``nnxp convert --dtype float16``; it loads for evaluation, not for training)."""

MAX_CONFIG_CHARS = 1 << 20
"""A config text longer than this (1 Mi characters) is refused before it is parsed."""
MAX_DEPTH = 16
"""Deepest nesting of JSON arrays and objects a config may have (nnxp writes 4)."""
MAX_NDIM = 8
"""Most axes a parameter may have (conv filters have 4)."""
MAX_ARRAYS = 4096
"""Most parameters plus buffers a model may have."""
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
"""A parameter or buffer name: an identifier of at most 64 characters (W1, running_mean2)."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def show(value: Any, limit: int = 60) -> str:
    """repr of a hostile value, cut to ``limit`` characters: always one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def nesting_depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON ``text``, strings skipped; no recursion."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"keys {show(twice)} appear twice")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(text: str, where: str) -> dict[str, Any]:
    """The config text as a dict, bounded before parsing; ``where`` starts each message."""
    if len(text) > MAX_CONFIG_CHARS:
        raise ModelFileError(
            f"{where} has a config of {len(text):,} characters, more than the "
            f"{MAX_CONFIG_CHARS:,} nnxp reads; the file is damaged or not nnxp's, retrain it"
        )
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ModelFileError(
            f"{where} has a config nested {depth} deep (at most {MAX_DEPTH}); the file is "
            "damaged or not nnxp's, retrain it"
        )
    try:
        meta = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"{where} has an unreadable config ({show(reason, 100)}); retrain it"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{where} is not an nnxp model file (its config has no format "
                             f"{FORMAT!r}); name a file written by `nnxp train --save`")
    return meta


def _shape(value: Any) -> tuple[int, ...] | None:
    """value as a shape (a list of at most MAX_NDIM non-negative ints), or None."""
    if not isinstance(value, list) or len(value) > MAX_NDIM:
        return None
    if not all(type(n) is int and n >= 0 for n in value):
        return None
    return tuple(value)


def _shapes(value: Any, what: str, where: str) -> dict[str, tuple[int, ...]]:
    """The config's ``params`` or ``buffers``: name -> shape, each checked."""
    damaged = "the file is damaged, retrain it"
    if not isinstance(value, dict) or len(value) > MAX_ARRAYS:
        raise ModelFileError(f"{where}: its config's {what} is {show(value)}, not a mapping of "
                             f"names to shapes; {damaged}")
    shapes = {}
    for key, shape in value.items():
        if not KEY.match(key):
            raise ModelFileError(f"{where}: its config names a {what[:-1]} {show(key)}, not a "
                                 f"plain name; {damaged}")
        checked = _shape(shape)
        if checked is None:
            raise ModelFileError(f"{where}: its config gives {what[:-1]} {key} the shape "
                                 f"{show(shape)}, not a list of sizes; {damaged}")
        shapes[key] = checked
    return shapes


def _flat(value: Any) -> bool:
    """A JSON scalar, a short list of ints, or a small mapping of names to scalars."""
    scalar = (str, int, float, bool, type(None))
    if isinstance(value, str):
        return len(value) <= 256
    if isinstance(value, scalar):
        return True
    if isinstance(value, list):
        return len(value) <= 64 and all(type(n) is int for n in value)
    if isinstance(value, dict):
        return len(value) <= 16 and all(
            isinstance(v, scalar) and not isinstance(v, str) for v in value.values())
    return False


def check_schema(meta: dict[str, Any], where: str) -> tuple[dict[str, tuple[int, ...]],
                                                           dict[str, tuple[int, ...]]]:
    """Hold the parsed config to the schema; returns (param shapes, buffer shapes)."""
    damaged = "the file is damaged, retrain it"
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{where} has format version {show(version)}, not a number; "
                             f"{damaged}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{where} has format version {version}, this nnxp reads up to "
                             f"{FORMAT_VERSION}; upgrade nnxp")
    if meta.get("dtype") not in DTYPES:
        raise ModelFileError(f"{where} has dtype {show(meta.get('dtype'))}, not one of "
                             f"{', '.join(DTYPES)} (the dtypes nets compute in); {damaged}")
    if "params" not in meta:
        raise ModelFileError(f"{where} has no list of its parameters; {damaged}")
    params = _shapes(meta["params"], "parameters", where)
    buffers = _shapes(meta.get("buffers", {}), "buffers", where)
    if not params:
        raise ModelFileError(f"{where} lists no parameters; {damaged}")
    both = sorted(set(params) & set(buffers))
    if both:
        raise ModelFileError(f"{where}: its config lists {show(both)} as both parameters "
                             f"and buffers; {damaged}")
    model = meta.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("model"), str):
        raise ModelFileError(f"{where} has no architecture (its config's model is "
                             f"{show(model)}); {damaged}")
    for key, value in model.items():
        if not _flat(value):
            raise ModelFileError(f"{where}: its architecture's {show(key)} is {show(value)}, "
                                 f"not a number, a name or a list of sizes; {damaged}")
    dataset = meta.get("dataset", {})
    if not isinstance(dataset, dict) or not isinstance(dataset.get("name", ""), str) or \
            not isinstance(dataset.get("normalize", True), bool):
        raise ModelFileError(f"{where}: its config's dataset is {show(dataset)}, not a name "
                             f"and a normalisation; {damaged}")
    for key in ("training", "source"):
        if not isinstance(meta.get(key, {}), dict):
            raise ModelFileError(f"{where}: its config's {key} is {show(meta[key])}, not a "
                                 f"mapping; {damaged}")
    return params, buffers


def expected_shapes(model: dict[str, Any]) -> tuple[dict, dict] | None:
    """The (parameter, buffer) shapes the net ``model`` describes would allocate, computed
    from the config alone by the model's own ``param_shapes`` (the constructor's defaults
    filled in); None for a model that does not say. Raises NnxpError for a config no net
    can be built from."""
    from nnxp.models.registry import model_class

    cls = model_class(model.get("model"))
    try:
        return cls.param_shapes(model)
    except NotImplementedError:
        return None


def check_architecture(model: dict[str, Any], params: dict, buffers: dict, where: str) -> None:
    """Refuse a config whose architecture implies shapes other than the ones the file holds
    (``params``/``buffers``: name -> shape from the arrays' headers), before any net is built.

    For a model :func:`expected_shapes` does not know, every size in the config must be at
    most the largest axis of the arrays, so no size is wildly beyond what the file holds.
    """
    try:
        expected = expected_shapes(model)
    except NnxpError as exc:
        raise ModelFileError(f"{where} has a config nnxp cannot build: {exc}") from None
    if expected is None:
        largest = max((n for shape in params.values() for n in shape), default=0)
        sizes = [v for v in model.values() if type(v) is int] + [
            n for v in model.values() if isinstance(v, list) for n in v]
        if any(n > largest for n in sizes):
            raise ModelFileError(f"{where}: its architecture has a size of {max(sizes):,}, "
                                 f"larger than any of its arrays; the file is damaged")
        return
    for what, want, have in (("parameters", expected[0], params),
                             ("buffers", expected[1], buffers)):
        if have == want or (what == "buffers" and not have):
            continue
        wrong = sorted(set(want) ^ set(have)) or [k for k in want if want[k] != have[k]]
        key = wrong[0]
        raise ModelFileError(
            f"{where}: its {what} do not fit the architecture it describes ({key} "
            f"{_describe(want.get(key))} there, {_describe(have.get(key))} in the file); "
            "the file is damaged, retrain it"
        )


def _describe(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "absent"
    count = math.prod(shape)
    return f"of shape {list(shape)}" if count < 10**12 else f"of {count:.1e} values"
