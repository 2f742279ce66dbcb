"""The Backend value and the Adapter protocol that each array library's module implements.

This module imports no adapter (they import it): a :class:`Backend` holds the adapter that
made it and asks it for everything that differs between libraries (host copies, device
names, synchronisation). Conversion of an array of *another* library goes through the
registry, imported when first needed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from nnxp.errors import BackendUnavailable, NnxpError

DTYPES: tuple[str, ...] = ("float32", "float64")
"""The dtypes nets train in; INFERENCE_DTYPES adds float16."""

HALF = "float16"
INFERENCE_DTYPES: tuple[str, ...] = (HALF, *DTYPES)
"""The dtypes nets evaluate and predict in: DTYPES and float16, which halves memory and, on
GPUs, time, but whose 11-bit significand loses the small updates training adds."""

HALF_TRAINING = ("float16 is for evaluation and inference only (its 11-bit significand rounds "
                 "away the small updates of training); train in float32 or float64, then "
                 "evaluate in float16 (nnxp eval --dtype float16)")


class DtypeError(NnxpError, ValueError):
    """A dtype nnxp does not compute in (float16, float32 and float64; float16 only to
    evaluate and predict), or one the backend cannot compute in here."""


def check_dtype(name: Any) -> None:
    """Raise DtypeError unless name is one of INFERENCE_DTYPES."""
    if not isinstance(name, str) or name not in INFERENCE_DTYPES:
        raise DtypeError(f"unknown dtype {name!r:.60}: use one of {', '.join(INFERENCE_DTYPES)}")


def check_train_dtype(name: Any) -> None:
    """Raise DtypeError unless nets can train in ``name`` (one of DTYPES); float16 is refused
    with the reason."""
    if name == HALF:
        raise DtypeError(HALF_TRAINING)
    if not isinstance(name, str) or name not in DTYPES:
        raise DtypeError(f"unknown dtype {name!r:.60}: nets train in {' or '.join(DTYPES)}")


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


def device(x: Any) -> Any:
    """The device an array lives on, whatever its library."""
    return array_api_compat.device(x)


def size(x: Any) -> int:
    """Number of elements of an array, whatever its library."""
    return int(array_api_compat.size(x))


def reason(exc: BaseException) -> str:
    """One line from an exception: its first non-empty line, prefixed by its type."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def host_rng(seed: int | Sequence[int] | None = None) -> np.random.Generator:
    """The host generator every random draw of nnxp comes from (PCG64), whatever the backend."""
    try:
        return np.random.Generator(np.random.PCG64(seed))
    except (TypeError, ValueError):
        raise NnxpError(f"seed must be None or an integer >= 0, got {seed!r:.60}") from None


class Adapter:
    """What nnxp needs to know about one array library; one subclass per adapter module.

    ``array_modules``: the top-level module names of its array types (found without importing
    the library); ``install_hint``: the pip command that brings it; ``on_host``: its arrays are
    host NumPy arrays (Numba's kernels take them); ``single_device``: it has one device, so
    arrays never need moving between devices; ``mutable``: its arrays can be written in place
    (JAX's cannot: code that needs a caller to see a change must rebind, not write).
    """

    name: str = ""
    array_modules: tuple[str, ...] = ()
    install_hint: str = ""
    on_host: bool = False
    single_device: bool = False
    mutable: bool = True
    float16: bool | None = None
    """Whether it computes in float16: True everywhere, False nowhere (``no_float16`` says
    why), None: tried once per device (a small product, exp, max and argmax in float16)."""
    no_float16: str = "it has no float16"

    def unusable(self) -> str | None:
        """None when the library can run here, else why not in one line (no device probed)."""
        try:
            __import__(self.array_modules[0])
        except ImportError:
            return (f"backend {self.name!r} needs {self.array_modules[0]}, which is not "
                    f"installed: {self.install_hint}")
        return None

    def status(self) -> str | None:
        """None when a backend on the default device can be made here, else why not (one line)."""
        try:
            self.make(None, "float32")
        except BackendUnavailable as exc:
            return str(exc)
        return None

    def make(self, device: Any, dtype: str) -> Backend:
        """A Backend on ``device`` (None: the library's default), or BackendUnavailable."""
        raise NotImplementedError

    def dtype_problem(self, xp: Any, device: Any, dtype: str) -> str | None:
        """None when it computes in ``dtype`` on ``device``, else why not (one line).

        float32 and float64 are taken for granted; float16 as :attr:`float16` says, tried
        once per device where it is None (some builds have no float16 products on the CPU).
        """
        if dtype != HALF or self.float16:
            return None
        if self.float16 is False:
            return self.no_float16
        tried = self.__dict__.setdefault("_float16_tried", {})
        key = self.device_name(device)
        if key not in tried:
            tried[key] = self._try_float16(xp, device)
        return tried[key]

    def _try_float16(self, xp: Any, device: Any) -> str | None:
        """What a net's predict does, in float16 on ``device``: None, or why it failed."""
        half = getattr(xp, HALF, None)
        if half is None:
            return self.no_float16
        try:
            a = xp.ones((2, 3), dtype=half, device=device)
            y = xp.exp(a @ xp.ones((3, 2), dtype=half, device=device))
            xp.argmax(y - xp.max(y, axis=1, keepdims=True), axis=1)
            self.synchronize(device)
        except Exception as exc:  # each library has its own error for a missing kernel
            return f"its float16 products fail on {self.device_text(device)} ({reason(exc)})"
        return None

    def require(self) -> None:
        """Raise BackendUnavailable with :meth:`unusable`'s reason, if any."""
        why = self.unusable()
        if why is not None:
            raise BackendUnavailable(why)

    def devices(self) -> list[str]:
        """The devices it offers, as the command line takes them (for ``nnxp info``)."""
        return ["cpu"]

    def owns(self, x: Any) -> bool:
        """Whether x is an array of this library."""
        return (type(x).__module__ or "").split(".")[0] in self.array_modules

    def to_numpy(self, x: Any) -> np.ndarray:
        """A NumPy copy (or view) of an array of this library."""
        return np.asarray(x)

    def synchronize(self, device: Any) -> None:
        """Wait until work queued on ``device`` has finished (for honest timings)."""

    def device_name(self, device: Any) -> str:
        """The device as the command line takes it: cpu, cuda:0, device1."""
        return str(device or "cpu")

    def device_text(self, device: Any) -> str:
        """The device in words, for messages (its type: cpu, cuda, meta)."""
        return str(getattr(device, "type", device))

    def kernel_modules(self, mode: str) -> tuple[str, ...]:
        """The modules of fused kernels for its arrays in fused mode ``mode`` (auto, numba)."""
        del mode
        return ()

    def job_device(self, local_rank: int) -> str | None:
        """The device the process of node-local rank ``local_rank`` of a distributed job
        uses when none is named: None, the library's default (GPU libraries deal out their
        GPUs)."""
        del local_rank
        return None

    def collectives(self) -> str:
        """The module whose ``make(mpi_comm, backend)`` sums its arrays across the processes
        of a distributed job (:mod:`nnxp.distributed`): MPI on host buffers by default."""
        return "nnxp.distributed.host"

    def asarray(self, xp: Any, host: Any, dtype: Any, device: Any) -> Any:
        """A host array or nested sequence copied to ``device``."""
        return xp.asarray(np.asarray(host, order="C"), dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"<{self.name} adapter>"


def _any_to_numpy(x: Any) -> np.ndarray:
    """The registry's to_numpy, for arrays of another library than a Backend's own."""
    from nnxp.backends.registry import to_numpy

    return to_numpy(x)


@dataclass(frozen=True)
class Backend:
    """An array library ready to compute: its namespace, its device and a default dtype."""

    name: str
    xp: Any = field(repr=False)
    device: Any = None
    dtype: str = "float32"
    adapter: Adapter = field(default_factory=Adapter, repr=False, compare=False)

    def float_dtype(self, dtype: str | None = None) -> Any:
        """The namespace's dtype object for ``"float16"``/``"float32"``/``"float64"``
        (default: ``self.dtype``)."""
        name = dtype or self.dtype
        check_dtype(name)
        found = getattr(self.xp, name, None)
        if found is None:
            raise DtypeError(f"backend {self.name!r} has no {name}; use float32")
        return found

    def asarray(self, host: Any, dtype: str | None | Any = None) -> Any:
        """Copy a host (NumPy) array or nested sequence to this backend's device.

        ``dtype`` may be a dtype name, a namespace dtype, or None to keep the input's dtype.
        """
        if isinstance(dtype, str):
            dtype = self.float_dtype(dtype)
        return self.adapter.asarray(self.xp, host, dtype, self.device)

    def adopt(self, x: Any, dtype: str | None = None) -> Any:
        """x as an array of this backend: host arrays and arrays on another device or of
        another library are moved here, floats cast to ``dtype``.

        Integer arrays (labels) keep their dtype. Arrays already here in the right dtype are
        returned as they are, so this is cheap enough for every call of a net's predict. An
        array with no data to move (torch's meta device) is refused in one line.
        """
        if type(x) is self._array_type:
            if not self.adapter.single_device and device(x) != self.device:
                x = self._move(x)
            want = self._float_dtypes.get(dtype or self.dtype)
            if want is not None and (x.dtype == want or not self._is_float(x.dtype)):
                return x
        if isinstance(x, np.ndarray) and type(x) is not self._array_type:
            x = self.asarray(x)
        elif not hasattr(x, "dtype"):
            try:
                host = np.asarray(x)
            except (TypeError, ValueError) as exc:
                raise NnxpError(f"cannot read {type(x).__name__} as an array ({reason(exc)}); "
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
            return self.asarray(_any_to_numpy(x))
        except Exception as exc:  # each library has its own error for a failed copy
            raise NnxpError(f"cannot move an array from {where} to {self.name} "
                            f"{self.device_name} ({reason(exc)}); move it there first") from None

    @functools.cached_property
    def _float_dtypes(self) -> dict[str, Any]:
        """The namespace's float dtypes by name (adopt's fast path compares with them)."""
        found = {name: getattr(self.xp, name, None) for name in INFERENCE_DTYPES}
        return {name: dtype for name, dtype in found.items() if dtype is not None}

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

    @property
    def on_host(self) -> bool:
        """Whether its arrays are host NumPy arrays (what Numba's kernels take)."""
        return self.adapter.on_host

    @property
    def mutable(self) -> bool:
        """Whether its arrays can be written in place (False on JAX)."""
        return self.adapter.mutable

    def to_numpy(self, x: Any) -> np.ndarray:
        """Copy an array of this backend (or any supported library) to a NumPy array."""
        return self.adapter.to_numpy(x) if self.adapter.owns(x) else _any_to_numpy(x)

    def synchronize(self) -> None:
        """Wait until queued device work has finished (for honest timings)."""
        self.adapter.synchronize(self.device)

    @property
    def device_name(self) -> str:
        """The device as the command line takes it: cpu, cuda:0, device1."""
        return self.adapter.device_name(self.device)

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
        """The same backend with another default dtype (DtypeError if it cannot compute in
        it here: float16 on some libraries and devices)."""
        check_dtype(dtype)
        return Backend(self.name, self.xp, self.device, dtype, self.adapter).checked()

    def checked(self) -> Backend:
        """This backend, or a DtypeError naming it when it cannot compute in its dtype here
        (its adapter decides: float16 is missing from some libraries and devices)."""
        why = self.adapter.dtype_problem(self.xp, self.device, self.dtype)
        if why is not None:
            raise DtypeError(f"backend {self.name!r} on {self.device_name} cannot compute in "
                             f"{self.dtype}: {why}; use float32 (--dtype float32)")
        return self


def _device_text(x: Any) -> str:
    """Where an array lives, in words, for messages (meta for torch's meta device)."""
    try:
        dev = device(x)
    except Exception:
        return type(x).__name__
    from nnxp.backends.registry import adapter_of

    found = adapter_of(x)
    return found.device_text(dev) if found is not None else str(getattr(dev, "type", dev))
