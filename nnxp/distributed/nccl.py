"""Sums across processes on the GPUs: NCCL through CuPy, the buffers never leaving the device.

MPI starts the processes and carries NCCL's unique id from rank 0 to the others (128 bytes,
once); every later reduction is one NCCL call on the current CUDA stream. Each process uses
its own GPU (``nnxp train --distributed`` gives rank r the node's GPU r mod the GPU count).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nnxp.backends import Backend
from nnxp.errors import NnxpError

UNIQUE_ID_BYTES = 128
"""The size of NCCL's unique id (NCCL_UNIQUE_ID_BYTES): a tuple of that many small ints."""


def _nccl() -> Any:
    """CuPy's NCCL module, or NnxpError saying how to get it."""
    try:
        nccl = importlib.import_module("cupy.cuda.nccl")
    except ImportError as exc:
        raise NnxpError(f"distributed CuPy needs NCCL, which CuPy cannot load here ({exc}); "
                        "pip install nvidia-nccl-cu12 (or run --backend numpy)") from None
    if not getattr(nccl, "available", True):
        raise NnxpError("distributed CuPy needs NCCL, which this CuPy was built without; "
                        "pip install nvidia-nccl-cu12 (or run --backend numpy)")
    return nccl


class NcclEngine:
    """``allreduce_sum`` and ``broadcast`` of one flat CuPy array over NCCL."""

    name = "NCCL (device buffers)"

    def __init__(self, mpi_comm: Any, backend: Backend) -> None:
        self.backend = backend
        self.nccl = nccl = _nccl()
        uid = np.zeros(UNIQUE_ID_BYTES, dtype=np.int8)
        if mpi_comm.Get_rank() == 0:
            uid[:] = np.asarray(nccl.get_unique_id(), dtype=np.int64).astype(np.int8)
        mpi_comm.Bcast(uid, root=0)
        self.cupy = importlib.import_module("cupy")
        with self.cupy.cuda.Device(backend.device.id):
            self.comm = nccl.NcclCommunicator(mpi_comm.Get_size(), tuple(int(v) for v in uid),
                                              mpi_comm.Get_rank())
        self.types = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32,
                      "float64": nccl.NCCL_FLOAT64, "int64": nccl.NCCL_INT64}

    def _call(self, flat: Any) -> tuple[Any, Any, int, Any]:
        """The contiguous buffer, the output, its NCCL type and the current stream."""
        cupy = self.cupy
        flat = cupy.ascontiguousarray(flat)
        kind = self.types.get(str(flat.dtype))
        if kind is None:
            raise NnxpError(f"NCCL reduces float16/32/64 and int64, not {flat.dtype}")
        return flat, cupy.empty_like(flat), kind, cupy.cuda.get_current_stream().ptr

    def allreduce_sum(self, flat: Any) -> Any:
        """The element-wise sum of ``flat`` over every process, on this GPU."""
        flat, out, kind, stream = self._call(flat)
        self.comm.allReduce(flat.data.ptr, out.data.ptr, flat.size, kind, self.nccl.NCCL_SUM,
                            stream)
        return out

    def broadcast(self, flat: Any, root: int = 0) -> Any:
        """Process ``root``'s ``flat``, on every process's GPU."""
        flat, out, kind, stream = self._call(flat)
        self.comm.broadcast(flat.data.ptr, out.data.ptr, flat.size, kind, root, stream)
        return out


def make(mpi_comm: Any, backend: Backend) -> NcclEngine:
    """The engine of the backends whose adapter names this module (CuPy)."""
    return NcclEngine(mpi_comm, backend)
