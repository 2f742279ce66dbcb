"""array-api-strict: the standard and nothing more, with a second device to catch arrays
created off-device."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nnxp.backends.base import Adapter, Backend, reason
from nnxp.errors import BackendUnavailable


def strict_device_name(dev: Any) -> str:
    """array_api_strict's Device('device1') as 'device1' (it has no public name attribute)."""
    return str(getattr(dev, "_device", dev))


class ArrayApiStrictAdapter(Adapter):
    """array_api_strict's arrays on its devices (CPU_DEVICE, device1, device2); no kernels."""

    name = "array_api_strict"
    array_modules = ("array_api_strict",)
    install_hint = "pip install array-api-strict"
    float16 = False
    no_float16 = "the Array API standard has no float16, and array_api_strict keeps to it"

    def make(self, device: Any, dtype: str) -> Backend:
        self.require()
        xp = importlib.import_module("array_api_strict")
        try:
            dev = xp.Device(device) if isinstance(device, str) else device
            dev = dev if dev is not None else xp.Device("CPU_DEVICE")
            kinds = xp.__array_namespace_info__().dtypes(device=dev)
        except (ValueError, TypeError) as exc:
            raise BackendUnavailable(f"array_api_strict has no device {device!r}: "
                                     f"{reason(exc)}") from None
        missing = [k for k in ("float64", "int64") if k not in kinds]
        if missing:  # host data arrives in float64, labels in int64, numerical gradients
            raise BackendUnavailable(  # compute in float64, whatever the net's dtype
                f"array_api_strict device {strict_device_name(dev)!r} has no "
                f"{' or '.join(missing)}, which nnxp needs on its device; choose another device"
            )
        return Backend(self.name, xp, dev, dtype, self)

    def devices(self) -> list[str]:
        xp = importlib.import_module("array_api_strict")
        return [strict_device_name(d) for d in xp.__array_namespace_info__().devices()]

    def to_numpy(self, x: Any) -> np.ndarray:
        xp = importlib.import_module("array_api_strict")
        return np.asarray(x.to_device(xp.Device("CPU_DEVICE")))

    def device_name(self, device: Any) -> str:
        return strict_device_name(device)

    def device_text(self, device: Any) -> str:
        return strict_device_name(device)


ADAPTER = ArrayApiStrictAdapter()
