"""NumPy: the reference backend, on the host; the arrays Numba's kernels take."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from nnxp.backends.base import Adapter, Backend
from nnxp.errors import BackendUnavailable


class NumpyAdapter(Adapter):
    """NumPy arrays on the CPU; fused kernels in NumPy (and compiled convolutions), or Numba
    loops in mode "numba"."""

    name = "numpy"
    array_modules = ("numpy",)
    install_hint = "pip install numpy"
    on_host = True
    single_device = True
    float16 = True  # right everywhere, if slow: its float16 products sum in float32 without BLAS

    def make(self, device: Any, dtype: str) -> Backend:
        if device not in (None, "cpu"):
            raise BackendUnavailable(f"backend 'numpy' runs on the CPU only, not {device!r}")
        xp = array_api_compat.array_namespace(np.empty(0))
        return Backend(self.name, xp, "cpu", dtype, self)

    def owns(self, x: Any) -> bool:
        return isinstance(x, np.ndarray) or np.isscalar(x)

    def asarray(self, xp: Any, host: Any, dtype: Any, device: Any) -> Any:
        return np.asarray(host, dtype=dtype)

    def kernel_modules(self, mode: str) -> tuple[str, ...]:
        if mode == "numba":
            return ("nnxp.kernels.numpy", "nnxp.kernels.numba_fused", "nnxp.kernels.numba_conv")
        return ("nnxp.kernels.numpy", "nnxp.kernels.numba_conv")


ADAPTER = NumpyAdapter()
