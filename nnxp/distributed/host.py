"""Sums across processes through host memory: MPI on NumPy buffers (NumPy, PyTorch on the
CPU, JAX, array-api-strict; any library whose arrays the adapter can copy to the host).

Where the library's arrays already are NumPy arrays the buffer is reduced in place, with no
copy; otherwise it is copied to the host, reduced, and copied back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnxp.backends import Backend


class HostEngine:
    """``allreduce_sum`` and ``broadcast`` of one flat array through ``mpi_comm`` (mpi4py)."""

    name = "MPI (host buffers)"

    def __init__(self, mpi_comm: Any, backend: Backend) -> None:
        self.comm, self.backend = mpi_comm, backend

    def _host(self, flat: Any) -> np.ndarray:
        """The flat array as a writable C-contiguous NumPy buffer (a view where possible)."""
        return np.require(self.backend.to_numpy(flat), requirements=("C", "W"))

    def allreduce_sum(self, flat: Any) -> Any:
        """The element-wise sum of ``flat`` over every process, on this backend."""
        from mpi4py import MPI

        host = self._host(flat)
        self.comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
        return self.backend.asarray(host)

    def broadcast(self, flat: Any, root: int = 0) -> Any:
        """Process ``root``'s ``flat``, on every process."""
        host = self._host(flat)
        self.comm.Bcast(host, root=root)
        return self.backend.asarray(host)


def make(mpi_comm: Any, backend: Backend) -> HostEngine:
    """The engine of the backends whose adapter names this module."""
    return HostEngine(mpi_comm, backend)
