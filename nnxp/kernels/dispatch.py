"""The dispatch from a fusable reference function to a fused kernel for its input's library.

This module imports no kernel module and none of the Numba numerical-gradient kernels
(which import :mod:`nnxp.functions`, which imports this): it asks the input's adapter which
kernel modules serve its arrays in the current mode and imports them when first needed.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from nnxp.backends.registry import adapter_for_type

FUSED_MODES: tuple[str, ...] = ("auto", "numba", "off")
"""auto: NumPy's and CuPy's own kernels; numba: Numba loops for NumPy; off: references only."""


def mode_from_env() -> str:
    """NNXP_FUSED's mode (also 1/on for auto, 0 for off); auto when unset or unknown."""
    value = os.environ.get("NNXP_FUSED", "auto").strip().lower()
    value = {"1": "auto", "on": "auto", "0": "off"}.get(value, value)
    return value if value in FUSED_MODES else "auto"


_fused_mode = mode_from_env()
_KERNELS: dict[tuple[str, type], dict[str, Callable[..., Any]]] = {}
_DISPATCH_CACHES: list[dict[type, Callable[..., Any] | None]] = []


def fusable(reference: Callable[..., Any]) -> Callable[..., Any]:
    """Let the backend run ``reference`` as a fused kernel where its library has one.

    ``reference`` is the Array API definition and takes arrays first. The decorated function
    looks up a kernel of the same name for the type of its first argument (the modules its
    adapter names for the current mode: :mod:`nnxp.kernels.numpy`, plus
    :mod:`nnxp.kernels.numba_fused` in mode "numba", for NumPy; :mod:`nnxp.kernels.cupy` for
    CuPy; none for other libraries) and returns the kernel's result unless the kernel returns
    NotImplemented (a dtype or layout it does not handle). Tests hold every kernel to
    ``fn.reference``. ``use_fused`` or the ``NNXP_FUSED`` variable (auto, numba, off) picks
    the mode. Callers see one backend-neutral function.
    """
    name = reference.__name__
    by_type: dict[type, Callable[..., Any] | None] = {}
    _DISPATCH_CACHES.append(by_type)

    @functools.wraps(reference)
    def dispatch(*args: Any) -> Any:
        kind = type(args[0])
        try:
            kernel = by_type[kind]
        except KeyError:
            kernel = by_type[kind] = kernels_for(kind).get(name)
        if kernel is not None:
            out = kernel(*args)
            if out is not NotImplemented:
                return out
        return reference(*args)

    dispatch.reference = reference  # type: ignore[attr-defined]
    return dispatch


def kernels_for(kind: type) -> dict[str, Callable[..., Any]]:
    """The fused kernels for arrays of type ``kind`` in the current mode (maybe none).

    A kernel module that cannot be imported (CuPy or Numba missing) gives none.
    """
    key = (_fused_mode, kind)
    kernels = _KERNELS.get(key)
    if kernels is not None:
        return kernels
    kernels = {}
    found = adapter_for_type(kind) if _fused_mode != "off" else None
    try:
        for module in found.kernel_modules(_fused_mode) if found is not None else ():
            kernels.update(importlib.import_module(module).kernels())
    except ImportError:
        kernels = {}
    _KERNELS[key] = kernels
    return kernels


def fused_kernel(name: str, x: Any) -> Callable[..., Any] | None:
    """The kernel a fusable function called ``name`` would try first for x's library."""
    return kernels_for(type(x)).get(name)


def fused_mode() -> str:
    """The current mode of the fused kernels: one of FUSED_MODES."""
    return _fused_mode


@contextlib.contextmanager
def use_fused(mode: str | bool = "auto") -> Iterator[None]:
    """Run a ``with`` block with the fused kernels in ``mode`` (True: "auto", False: "off")."""
    saved = _fused_mode
    set_fused_mode(mode)
    try:
        yield
    finally:
        set_fused_mode(saved)


def set_fused_mode(mode: str | bool) -> None:
    """Set the mode of the fused kernels for the process (True: "auto", False: "off")."""
    global _fused_mode
    if isinstance(mode, bool):
        mode = "auto" if mode else "off"
    if mode not in FUSED_MODES:
        raise ValueError(f"unknown fused-kernel mode {mode!r}: use one of {', '.join(FUSED_MODES)}")
    _fused_mode = mode
    for cache in _DISPATCH_CACHES:
        cache.clear()


def numerical_gradient_kernel(f: Any, x: Any) -> Callable[..., Any] | None:
    """The compiled loop of :mod:`nnxp.kernels.numba_scalar` when ``f`` is a ``numba.njit``
    function and ``x`` a C-contiguous float64 NumPy array with at least one axis, else None.

    Numba is not imported to ask: if it is not loaded yet, ``f`` cannot be an njit function.
    """
    numba = sys.modules.get("numba")
    if numba is None or not isinstance(f, numba.core.registry.CPUDispatcher):
        return None
    numpy = sys.modules.get("numpy")
    if not (isinstance(x, numpy.ndarray) and x.dtype == numpy.float64 and x.ndim > 0
            and x.flags.c_contiguous):
        return None
    from nnxp.kernels.numba_scalar import numerical_gradient

    return numerical_gradient
