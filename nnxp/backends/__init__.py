"""Every difference between array libraries, one adapter module per library.

:mod:`nnxp.backends.base` holds the :class:`Backend` value and the :class:`Adapter` protocol;
:mod:`nnxp.backends.registry` names the adapters (numpy, cupy, torch, array_api_strict, jax)
and imports each when first needed. Nothing outside this package and :mod:`nnxp.kernels`
imports an array library to compute or asks which library it runs on.
"""

from nnxp.backends.base import (
    DTYPES,
    HALF,
    INFERENCE_DTYPES,
    Adapter,
    Backend,
    DtypeError,
    array_namespace,
    check_train_dtype,
    device,
    host_rng,
    size,
)
from nnxp.backends.registry import (
    BACKEND_NAMES,
    adapter,
    adapter_of,
    available_backends,
    backend_of,
    backend_status,
    devices,
    get_backend,
    to_numpy,
)
from nnxp.errors import BackendUnavailable

__all__ = [
    "BACKEND_NAMES", "DTYPES", "HALF", "INFERENCE_DTYPES", "Adapter", "Backend",
    "BackendUnavailable", "DtypeError", "adapter", "adapter_of", "array_namespace",
    "available_backends", "backend_of", "check_train_dtype",
    "backend_status", "device", "devices", "get_backend", "host_rng", "size", "to_numpy",
]
