"""The one module that knows array libraries exist.

Everything else in nnxp computes with the namespace a :class:`Backend` hands out (or the one
:func:`array_namespace` finds from its inputs) and never imports numpy, cupy or torch to
compute. Libraries other than NumPy are imported lazily, and probing a GPU never raises
past this module: a backend that cannot run here raises :class:`BackendUnavailable` with a
one-line reason.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from nnxp.errors import BackendUnavailable, NnxpError

BACKEND_NAMES: tuple[str, ...] = ("numpy", "cupy", "torch", "array_api_strict")
DTYPES: tuple[str, ...] = ("float32", "float64")

_INSTALL_HINT = {
    "cupy": "pip install 'nnxp[cupy]' (CuPy for CUDA 12)",
    "torch": "pip install 'nnxp[torch]'",
    "array_api_strict": "pip install array-api-strict",
    "numpy": "pip install numpy",
}


class DtypeError(NnxpError, ValueError):
    """A dtype nnxp does not compute in (it takes float32 and float64)."""


def _check_dtype(name: Any) -> None:
    if not isinstance(name, str) or name not in DTYPES:
        raise DtypeError(f"unknown dtype {name!r:.60}: use one of {', '.join(DTYPES)}")


_NAMESPACE_BY_TYPE: dict[type, Any] = {}


def array_namespace(*arrays: Any) -> Any:
    """The array-api-compat namespace of ``arrays`` (Python scalars and None are ignored).

    The namespace of an array depends only on its type, so it is cached per type: a layer's
    forward asks for it on every call, and array-api-compat's full search costs microseconds.
    """
    kind = type(arrays[0]) if arrays else None
    xp = _NAMESPACE_BY_TYPE.get(kind)
    if xp is not None and (len(arrays) == 1 or all(type(a) is kind for a in arrays)):
        return xp
    xp = array_api_compat.array_namespace(*arrays)
    if arrays and all(type(a) is kind for a in arrays) and hasattr(arrays[0], "shape"):
        _NAMESPACE_BY_TYPE[kind] = xp
    return xp


FUSED_MODES: tuple[str, ...] = ("auto", "numba", "off")
"""auto: NumPy's and CuPy's own kernels; numba: Numba loops for NumPy; off: references only."""


def _mode_from_env() -> str:
    """NNXP_FUSED's mode (also 1/on for auto, 0 for off); auto when unset or unknown."""
    value = os.environ.get("NNXP_FUSED", "auto").strip().lower()
    value = {"1": "auto", "on": "auto", "0": "off"}.get(value, value)
    return value if value in FUSED_MODES else "auto"


_fused_mode = _mode_from_env()
_KERNELS: dict[tuple[str, type], dict[str, Callable[..., Any]]] = {}
_DISPATCH_CACHES: list[dict[type, Callable[..., Any] | None]] = []


def fusable(reference: Callable[..., Any]) -> Callable[..., Any]:
    """Let the backend run ``reference`` as a fused kernel where its library has one.

    ``reference`` is the Array API definition and takes arrays first. The decorated function
    looks up a kernel of the same name for the type of its first argument (NumPy arrays:
    :mod:`nnxp.fused.numpy_kernels`, or the Numba loops of :mod:`nnxp.fused.numba_kernels` in
    mode "numba"; CuPy arrays: :mod:`nnxp.fused.cupy_kernels`; other libraries have none) and
    returns the kernel's result unless the kernel returns NotImplemented (a dtype or layout
    it does not handle). Tests hold every kernel to ``fn.reference``. ``use_fused`` or the
    ``NNXP_FUSED`` variable (auto, numba, off) picks the mode. Only this module chooses
    kernels: callers see one backend-neutral function.
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
            kernel = by_type[kind] = _kernels_for(kind).get(name)
        if kernel is not None:
            out = kernel(*args)
            if out is not NotImplemented:
                return out
        return reference(*args)

    dispatch.reference = reference  # type: ignore[attr-defined]
    return dispatch


def _kernels_for(kind: type) -> dict[str, Callable[..., Any]]:
    """The fused kernels for arrays of type ``kind`` in the current mode (maybe none)."""
    key = (_fused_mode, kind)
    kernels = _KERNELS.get(key)
    if kernels is not None:
        return kernels
    kernels = {}
    module = getattr(kind, "__module__", "") or ""
    try:
        if _fused_mode == "off":
            pass
        elif kind is np.ndarray:
            from nnxp.fused import numpy_kernels

            kernels = numpy_kernels.kernels()
            if _fused_mode == "numba":
                from nnxp.fused import numba_kernels

                kernels = {**kernels, **numba_kernels.kernels()}
        elif module.split(".")[0] == "cupy":
            from nnxp.fused import cupy_kernels

            kernels = cupy_kernels.kernels()
    except ImportError:
        kernels = {}
    _KERNELS[key] = kernels
    return kernels


def fused_kernel(name: str, x: Any) -> Callable[..., Any] | None:
    """The kernel a fusable function called ``name`` would try first for x's library."""
    return _kernels_for(type(x)).get(name)


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


def device(x: Any) -> Any:
    """The device an array lives on, whatever its library."""
    return array_api_compat.device(x)


def size(x: Any) -> int:
    """Number of elements of an array, whatever its library."""
    return int(array_api_compat.size(x))


@dataclass(frozen=True)
class Backend:
    """An array library ready to compute: its namespace, its device and a default dtype."""

    name: str
    xp: Any = field(repr=False)
    device: Any = None
    dtype: str = "float32"

    def float_dtype(self, dtype: str | None = None) -> Any:
        """The namespace's dtype object for ``"float32"``/``"float64"`` (default: ``self.dtype``)."""
        name = dtype or self.dtype
        _check_dtype(name)
        return getattr(self.xp, name)

    def asarray(self, host: Any, dtype: str | None | Any = None) -> Any:
        """Copy a host (NumPy) array or nested sequence to this backend's device.

        ``dtype`` may be a dtype name, a namespace dtype, or None to keep the input's dtype.
        """
        if isinstance(dtype, str):
            dtype = self.float_dtype(dtype)
        if self.name == "numpy":
            return np.asarray(host, dtype=dtype)
        host = np.asarray(host, order="C")
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    def adopt(self, x: Any, dtype: str | None = None) -> Any:
        """x as an array of this backend: host arrays and arrays on another device or of
        another library are moved here, floats cast to ``dtype``.

        Integer arrays (labels) keep their dtype. Arrays already here in the right dtype are
        returned as they are, so this is cheap enough for every call of a net's predict. An
        array with no data to move (torch's meta device) is refused in one line.
        """
        if type(x) is self._array_type:
            if self.name != "numpy" and device(x) != self.device:
                x = self._move(x)
            want = self._float_dtypes.get(dtype or self.dtype)
            if want is not None and (x.dtype == want or not self._is_float(x.dtype)):
                return x
        if self.name != "numpy" and isinstance(x, np.ndarray):
            x = self.asarray(x)
        elif not hasattr(x, "dtype"):
            try:
                host = np.asarray(x)
            except (TypeError, ValueError) as exc:
                raise NnxpError(f"cannot read {type(x).__name__} as an array ({_reason(exc)}); "
                                "pass a NumPy array") from None
            if host.dtype == object or host.dtype.kind not in "biuf":
                raise NnxpError(f"cannot read {type(x).__name__} as an array of numbers "
                                f"(dtype {host.dtype}); pass a NumPy array of numbers")
            x = self.asarray(host)
        elif type(x) is not self._array_type:
            x = self._move(x)
        want = self.float_dtype(dtype)
        if x.dtype != want and self.xp.isdtype(x.dtype, "real floating"):
            x = self.xp.astype(x, want)
        return x

    def _move(self, x: Any) -> Any:
        """An array of another device or library, copied to this backend's device."""
        where = _device_text(x)
        if where == "meta":
            raise NnxpError("the array is on torch's meta device, which holds no data; "
                            "pass an array with values")
        try:
            if type(x) is self._array_type:
                return array_api_compat.to_device(x, self.device)
            return self.asarray(to_numpy(x))
        except Exception as exc:  # each library has its own error for a failed copy
            raise NnxpError(f"cannot move an array from {where} to {self.name} "
                            f"{self.device_name} ({_reason(exc)}); move it there first") from None

    @functools.cached_property
    def _float_dtypes(self) -> dict[str, Any]:
        """The namespace's float dtypes by name (adopt's fast path compares with them)."""
        return {name: getattr(self.xp, name) for name in DTYPES}

    def _is_float(self, dtype: Any) -> bool:
        """Whether dtype is a real floating dtype (asked once per dtype: isdtype is slow)."""
        known = self._float_kinds.get(dtype)
        if known is None:
            known = self._float_kinds[dtype] = bool(self.xp.isdtype(dtype, "real floating"))
        return known

    @functools.cached_property
    def _float_kinds(self) -> dict[Any, bool]:
        return {}

    @functools.cached_property
    def _array_type(self) -> type:
        """The type of this backend's arrays (adopt's fast path: arrays already here)."""
        return type(self.xp.zeros((0,), dtype=self.float_dtype(), device=self.device))

    def to_numpy(self, x: Any) -> np.ndarray:
        """Copy an array of this backend (or any supported library) to a NumPy array."""
        return to_numpy(x)

    def synchronize(self) -> None:
        """Wait until queued device work has finished (for honest timings)."""
        if self.name == "cupy":
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        elif self.name == "torch" and str(self.device).startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)

    @property
    def device_name(self) -> str:
        """The device as the command line takes it: cpu, cuda:0, device1."""
        if self.name == "cupy":
            return f"cuda:{self.device.id}"
        if self.name == "array_api_strict":
            return _strict_device_name(self.device)
        return str(self.device or "cpu")

    def rng(self, seed: int | None = None) -> np.random.Generator:
        """A host random generator: one seed gives the same draws on every backend."""
        return host_rng(seed)

    def randn(self, shape: Sequence[int], rng: np.random.Generator, dtype: str | None = None) -> Any:
        """Standard-normal draws made on the host in float64, then cast and moved here."""
        host = rng.standard_normal(tuple(shape))
        return self.asarray(host.astype(dtype or self.dtype), dtype=dtype)

    def zeros(self, shape: Sequence[int], dtype: str | None = None) -> Any:
        """Zeros of a float dtype on this backend's device."""
        return self.xp.zeros(tuple(shape), dtype=self.float_dtype(dtype), device=self.device)

    def with_dtype(self, dtype: str) -> Backend:
        """The same backend with another default dtype."""
        self.float_dtype(dtype)
        return Backend(self.name, self.xp, self.device, dtype)


def _strict_device_name(dev: Any) -> str:
    """array_api_strict's Device('device1') as 'device1' (it has no public name attribute)."""
    return str(getattr(dev, "_device", dev))


def _device_text(x: Any) -> str:
    """Where an array lives, in words, for messages (meta for torch's meta device)."""
    try:
        dev = device(x)
    except Exception:
        return type(x).__name__
    return _strict_device_name(dev) if type(dev).__module__.startswith("array_api_strict") \
        else str(getattr(dev, "type", dev))


def host_rng(seed: int | Sequence[int] | None = None) -> np.random.Generator:
    """The host generator every random draw of nnxp comes from (PCG64), whatever the backend."""
    try:
        return np.random.Generator(np.random.PCG64(seed))
    except (TypeError, ValueError):
        raise NnxpError(f"seed must be None or an integer >= 0, got {seed!r:.60}") from None


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy (or view) of an array from any supported library."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x)
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_numpy_array(x):
        return np.asarray(x)
    xp = array_namespace(x)
    if getattr(xp, "__name__", "").startswith("array_api_strict"):
        x = x.to_device(xp.Device("CPU_DEVICE"))
    return np.asarray(x)


def _reason(exc: BaseException) -> str:
    """One line from an exception: its first non-empty line, prefixed by its type."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


@functools.cache
def _cupy_status() -> str | None:
    """None when CuPy can run here, else the one-line reason why not (asked once, cached)."""
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        return f"CuPy is not installed: {_INSTALL_HINT['cupy']}"
    except Exception as exc:  # a broken install must not crash the caller
        return f"CuPy failed to import ({_reason(exc)}); reinstall it: {_INSTALL_HINT['cupy']}"
    try:
        if not cupy.is_available():
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as exc:
                return f"CuPy is installed but no CUDA device is usable ({_reason(exc)})"
            if count == 0:
                return "CuPy is installed but the CUDA driver reports no GPU"
            return "CuPy is installed but no CUDA device is usable"
    except Exception as exc:
        return f"CuPy is installed but no CUDA device is usable ({_reason(exc)})"
    return None


def _import_or_unavailable(name: str, module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise BackendUnavailable(
            f"backend {name!r} needs {module.split('.')[0]}, which is not installed: "
            f"{_INSTALL_HINT[name]}"
        ) from None


def _make(name: str, device: Any, dtype: str) -> Backend:
    if name == "numpy":
        xp = array_api_compat.array_namespace(np.empty(0))
        if device not in (None, "cpu"):
            raise BackendUnavailable(f"backend 'numpy' runs on the CPU only, not {device!r}")
        return Backend("numpy", xp, "cpu", dtype)
    if name == "array_api_strict":
        xp = _import_or_unavailable(name, "array_api_strict")
        try:
            dev = xp.Device(device) if isinstance(device, str) else device
            dev = dev if dev is not None else xp.Device("CPU_DEVICE")
            kinds = xp.__array_namespace_info__().dtypes(device=dev)
        except (ValueError, TypeError) as exc:
            raise BackendUnavailable(f"array_api_strict has no device {device!r}: "
                                     f"{_reason(exc)}") from None
        missing = [k for k in ("float64", "int64") if k not in kinds]
        if missing:  # host data arrives in float64, labels in int64, numerical gradients
            raise BackendUnavailable(  # compute in float64, whatever the net's dtype
                f"array_api_strict device {_strict_device_name(dev)!r} has no "
                f"{' or '.join(missing)}, which nnxp needs on its device; choose another device"
            )
        return Backend(name, xp, dev, dtype)
    if name == "torch":
        torch = _import_or_unavailable(name, "torch")
        xp = importlib.import_module("array_api_compat.torch")
        try:
            dev = torch.device(device or "cpu")
        except (RuntimeError, TypeError) as exc:
            raise BackendUnavailable(f"torch has no device {device!r}: {_reason(exc)}") from None
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
                                     f"{_reason(exc)}") from None
        return Backend(name, xp, dev, dtype)
    if name == "cupy":
        status = _cupy_status()
        if status is not None:
            raise BackendUnavailable(status)
        import cupy

        xp = importlib.import_module("array_api_compat.cupy")
        index = 0 if device in (None, "cuda", "gpu") else device
        try:
            index = int(str(index).removeprefix("cuda:"))
            dev = cupy.cuda.Device(index)
            dev.use()
        except Exception as exc:
            raise BackendUnavailable(f"CUDA device {device!r} is not usable: {_reason(exc)}") from None
        return Backend(name, xp, dev, dtype)
    raise BackendUnavailable(
        f"unknown backend {name!r}: choose one of {', '.join(BACKEND_NAMES)}"
    )


def get_backend(name: str | Backend = "numpy", device: Any = None, dtype: str = "float32") -> Backend:
    """The backend called ``name`` on ``device``, or raise BackendUnavailable saying why not."""
    if isinstance(name, Backend):
        return name if dtype in (None, name.dtype) else name.with_dtype(dtype)
    _check_dtype(dtype)
    return _make(name, device, dtype)


def backend_of(x: Any, dtype: str | None = None) -> Backend:
    """The backend an existing array belongs to (its namespace and device)."""
    xp = array_namespace(x)
    name = "numpy"
    if array_api_compat.is_cupy_array(x):
        name = "cupy"
    elif array_api_compat.is_torch_array(x):
        name = "torch"
    elif not array_api_compat.is_numpy_array(x):
        name = getattr(xp, "__name__", "array_api_strict").split(".")[0]
    return Backend(name, xp, device(x), dtype or str(x.dtype).rsplit(".", 1)[-1])


def backend_status() -> dict[str, str | None]:
    """For each backend name: None when it is usable here, else the reason it is not."""
    status: dict[str, str | None] = {}
    for name in BACKEND_NAMES:
        try:
            get_backend(name)
            status[name] = None
        except BackendUnavailable as exc:
            status[name] = str(exc)
    return status


def available_backends() -> list[str]:
    """Names of the backends that can run here, in the order of BACKEND_NAMES."""
    return [name for name, reason in backend_status().items() if reason is None]


def devices(name: str) -> list[str]:
    """The devices a usable backend offers, as strings (for ``nnxp info``)."""
    backend = get_backend(name)
    if name == "cupy":
        import cupy

        return [f"cuda:{i} {cupy.cuda.runtime.getDeviceProperties(i)['name'].decode()}"
                for i in range(cupy.cuda.runtime.getDeviceCount())]
    if name == "torch":
        import torch

        extra = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        return ["cpu", *extra]
    if name == "array_api_strict":
        info = backend.xp.__array_namespace_info__()
        return [_strict_device_name(d) for d in info.devices()]
    return ["cpu"]
