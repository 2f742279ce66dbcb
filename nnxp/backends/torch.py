"""PyTorch: CPU, CUDA and any device torch names; no fused kernels (torch fuses its own)."""

from __future__ import annotations

import importlib
from typing import Any

import array_api_compat
import numpy as np

from nnxp.backends.base import Adapter, Backend, reason
from nnxp.errors import BackendUnavailable


class TorchAdapter(Adapter):
    """torch tensors through array-api-compat's torch namespace."""

    name = "torch"
    array_modules = ("torch",)
    install_hint = "pip install 'nnxp[torch]'"

    def make(self, device: Any, dtype: str) -> Backend:
        self.require()
        torch = importlib.import_module("torch")
        xp = importlib.import_module("array_api_compat.torch")
        try:
            dev = torch.device(device or "cpu")
        except (RuntimeError, TypeError) as exc:
            raise BackendUnavailable(f"torch has no device {device!r}: {reason(exc)}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable(
                "torch is installed but CUDA is not usable here; use --device cpu "
                "or install a CUDA build of torch"
            )
        if dev.type == "meta":
            raise BackendUnavailable("torch's meta device holds no data, so nothing can be "
                                     "computed on it; use --device cpu or cuda")
        try:
            dev = torch.zeros(1, device=dev).device  # cuda -> cuda:0, and proves it works
        except Exception as exc:  # each device type has its own error when unusable
            raise BackendUnavailable(f"torch device {device!r} is not usable here: "
                                     f"{reason(exc)}") from None
        return Backend(self.name, xp, dev, dtype, self)

    def devices(self) -> list[str]:
        torch = importlib.import_module("torch")
        cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return ["cpu", *(f"cuda:{i}" for i in range(cuda))]

    def owns(self, x: Any) -> bool:
        return array_api_compat.is_torch_array(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def synchronize(self, device: Any) -> None:
        if str(device).startswith("cuda"):
            importlib.import_module("torch").cuda.synchronize(device)


ADAPTER = TorchAdapter()
