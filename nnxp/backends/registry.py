"""The registry of adapters: get_backend, available_backends, backend_of, to_numpy, devices.

Adapters are named here by module, one per library, and imported when first needed (none
imports its library at import time), so ``import nnxp`` stays quick and CuPy is probed only
when asked. Adding a backend: one adapter module in this package, its name in ADAPTERS, and
one requirements file in the top-level ``backends/`` folder.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nnxp.backends.base import Adapter, Backend, array_namespace, check_dtype, device
from nnxp.errors import BackendUnavailable

ADAPTERS: dict[str, str] = {
    "numpy": "nnxp.backends.numpy",
    "cupy": "nnxp.backends.cupy",
    "torch": "nnxp.backends.torch",
    "array_api_strict": "nnxp.backends.array_api_strict",
    "jax": "nnxp.backends.jax",
}
"""Backend name -> the module whose ADAPTER implements it, in the order backends are listed."""

BACKEND_NAMES: tuple[str, ...] = tuple(ADAPTERS)


def adapter(name: str) -> Adapter:
    """The adapter of backend ``name``, or BackendUnavailable naming the choices."""
    module = ADAPTERS.get(name) if isinstance(name, str) else None
    if module is None:
        raise BackendUnavailable(
            f"unknown backend {name!r:.60}: choose one of {', '.join(BACKEND_NAMES)}"
        )
    return importlib.import_module(module).ADAPTER


_ADAPTER_BY_TYPE: dict[type, Adapter | None] = {}


def adapter_for_type(kind: type) -> Adapter | None:
    """The adapter whose library makes arrays of type ``kind`` (None: no library nnxp knows).

    Decided by the type's module name, so no library is imported to answer; cached per type.
    """
    try:
        return _ADAPTER_BY_TYPE[kind]
    except KeyError:
        pass
    top = (getattr(kind, "__module__", "") or "").split(".")[0]
    found = next((adapter(n) for n in BACKEND_NAMES if top in adapter(n).array_modules), None)
    _ADAPTER_BY_TYPE[kind] = found
    return found


def adapter_of(x: Any) -> Adapter | None:
    """The adapter that owns array x (None: a Python scalar or an unknown library)."""
    found = adapter_for_type(type(x))
    if found is not None and found.owns(x):
        return found
    return next((adapter(n) for n in BACKEND_NAMES if adapter(n).owns(x)), None)


def get_backend(name: str | Backend = "numpy", device: Any = None, dtype: str = "float32") -> Backend:
    """The backend called ``name`` on ``device``, or raise BackendUnavailable saying why not."""
    if isinstance(name, Backend):
        return name if dtype in (None, name.dtype) else name.with_dtype(dtype)
    check_dtype(dtype)
    return adapter(name).make(device, dtype).checked()


def backend_of(x: Any, dtype: str | None = None) -> Backend:
    """The backend an existing array belongs to (its namespace and device)."""
    found = adapter_of(x) or adapter("numpy")
    dtype = dtype or str(x.dtype).rsplit(".", 1)[-1]
    return Backend(found.name, array_namespace(x), device(x), dtype, found)


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy (or view) of an array from any supported library."""
    found = adapter_of(x)
    return found.to_numpy(x) if found is not None else np.asarray(x)


def backend_status() -> dict[str, str | None]:
    """For each backend name: None when it is usable here, else the reason it is not."""
    return {name: adapter(name).status() for name in BACKEND_NAMES}


def available_backends() -> list[str]:
    """Names of the backends that can run here, in the order of BACKEND_NAMES."""
    return [name for name, reason in backend_status().items() if reason is None]


def devices(name: str) -> list[str]:
    """The devices a usable backend offers, as strings (for ``nnxp info``)."""
    return get_backend(name).adapter.devices()
