"""JAX: jax.numpy, which is an Array API namespace itself; CPU here, CUDA where jax has one.

JAX arrays are immutable: nnxp never writes into an array (array-api-extra's ``at`` and the
nets' live ``params`` mapping rebind instead), so nothing here works around mutation.
Making a JAX backend enables ``jax_enable_x64`` for the process: nnxp moves host data in
float64, labels in int64 and computes numerical gradients in float64 whatever the net's dtype,
and JAX without it silently turns float64 into float32. nnxp passes ``dtype=`` to every array
it creates, so JAX's changed default dtype does not reach nnxp's results.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import array_api_compat
import numpy as np

from nnxp.backends.base import Adapter, Backend, reason
from nnxp.errors import BackendUnavailable


class JaxAdapter(Adapter):
    """jax.Array on a jax device (cpu:0, cuda:0); no fused kernels (XLA fuses under jit)."""

    name = "jax"
    array_modules = ("jax", "jaxlib")
    install_hint = "pip install jax"
    mutable = False

    def status(self) -> str | None:
        """Installed is usable (jax always has its CPU device), found without importing jax:
        importing it starts threads, and a process that forks afterwards (subprocess) warns."""
        if importlib.util.find_spec("jax") is None:
            return f"backend 'jax' needs jax, which is not installed: {self.install_hint}"
        return None

    def make(self, device: Any, dtype: str) -> Backend:
        self.require()
        jax = importlib.import_module("jax")
        jax.config.update("jax_enable_x64", True)
        xp = importlib.import_module("jax.numpy")
        if device is None or not isinstance(device, str):
            dev = device if device is not None else jax.devices()[0]
        else:
            platform, _, index = device.partition(":")
            platform = {"gpu": "cuda"}.get(platform, platform)
            try:
                dev = jax.devices(platform)[int(index or 0)]
            except (RuntimeError, ValueError, IndexError) as exc:
                raise BackendUnavailable(f"jax device {device!r} is not usable here: "
                                         f"{reason(exc)}") from None
        return Backend(self.name, xp, dev, dtype, self)

    def devices(self) -> list[str]:
        return [self.device_name(d) for d in importlib.import_module("jax").devices()]

    def owns(self, x: Any) -> bool:
        return array_api_compat.is_jax_array(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def synchronize(self, device: Any) -> None:
        """Block on a computation queued after the others on ``device`` (JAX runs them in
        order per device and offers no device-wide wait)."""
        jnp = importlib.import_module("jax.numpy")
        (jnp.zeros((), device=device) + 1).block_until_ready()

    def device_name(self, device: Any) -> str:
        return f"{device.platform}:{device.id}"

    def device_text(self, device: Any) -> str:
        return self.device_name(device)


ADAPTER = JaxAdapter()
