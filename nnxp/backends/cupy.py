"""CuPy: CUDA GPUs, probed lazily and once; fused CUDA kernels in mode auto."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import array_api_compat
import numpy as np

from nnxp.backends.base import Adapter, Backend, reason
from nnxp.errors import BackendUnavailable

INSTALL_HINT = "pip install 'nnxp[cupy]' (CuPy for CUDA 12)"


@functools.cache
def cupy_status() -> str | None:
    """None when CuPy can run here, else the one-line reason why not (asked once, cached).

    CuPy is imported here only, inside try/except, and getDeviceCount() is asked only to
    explain a refusal: it raises where no driver is installed.
    """
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        return f"CuPy is not installed: {INSTALL_HINT}"
    except Exception as exc:  # a broken install must not crash the caller
        return f"CuPy failed to import ({reason(exc)}); reinstall it: {INSTALL_HINT}"
    try:
        if not cupy.is_available():
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as exc:
                return f"CuPy is installed but no CUDA device is usable ({reason(exc)})"
            if count == 0:
                return "CuPy is installed but the CUDA driver reports no GPU"
            return "CuPy is installed but no CUDA device is usable"
    except Exception as exc:
        return f"CuPy is installed but no CUDA device is usable ({reason(exc)})"
    return None


class CupyAdapter(Adapter):
    """CuPy arrays on one CUDA device (cuda:N)."""

    name = "cupy"
    array_modules = ("cupy",)
    install_hint = INSTALL_HINT

    def unusable(self) -> str | None:
        return cupy_status()

    def make(self, device: Any, dtype: str) -> Backend:
        self.require()
        cupy = importlib.import_module("cupy")
        xp = importlib.import_module("array_api_compat.cupy")
        index = 0 if device in (None, "cuda", "gpu") else device
        try:
            index = int(str(index).removeprefix("cuda:"))
            dev = cupy.cuda.Device(index)
            dev.use()
        except Exception as exc:
            raise BackendUnavailable(f"CUDA device {device!r} is not usable: {reason(exc)}") from None
        return Backend(self.name, xp, dev, dtype, self)

    def devices(self) -> list[str]:
        runtime = importlib.import_module("cupy").cuda.runtime
        return [f"cuda:{i} {runtime.getDeviceProperties(i)['name'].decode()}"
                for i in range(runtime.getDeviceCount())]

    def owns(self, x: Any) -> bool:
        return array_api_compat.is_cupy_array(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.get()

    def synchronize(self, device: Any) -> None:
        importlib.import_module("cupy").cuda.get_current_stream().synchronize()

    def device_name(self, device: Any) -> str:
        return f"cuda:{device.id}"

    def kernel_modules(self, mode: str) -> tuple[str, ...]:
        return ("nnxp.kernels.cupy",)

    def job_device(self, local_rank: int) -> str | None:
        count = importlib.import_module("cupy").cuda.runtime.getDeviceCount()
        return f"cuda:{local_rank % count}" if count else None

    def collectives(self) -> str:
        return "nnxp.distributed.nccl"  # device buffers, summed by NCCL between the GPUs


ADAPTER = CupyAdapter()
