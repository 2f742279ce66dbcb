"""One process of a data-parallel job: its rank, its share of each batch, and the sums.

:func:`init` starts MPI (mpi4py, imported here and nowhere else) and returns a
:class:`Communicator`. Its :meth:`~Communicator.average` packs every gradient (and the loss,
and a net's running statistics) into one flat buffer of the net's dtype, sums it over the
processes in one reduction and divides by their number: the mean of the processes' mean
gradients, which for equal shares of a batch is the gradient of the whole batch. How the
buffer travels is the backend's business (:meth:`nnxp.backends.Adapter.collectives`): MPI on
host memory for NumPy, PyTorch, JAX and array-api-strict; NCCL between GPUs for CuPy.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from nnxp.backends import Backend, backend_of
from nnxp.backends.base import reason
from nnxp.distributed.launch import LAUNCH, Launch, SetupFailed, check_launch
from nnxp.errors import NnxpError

INSTALL = "pip install 'nnxp[mpi]'"
MESSAGE_BYTES = 512
"""The longest error line a process hands the others when a job's setup fails."""


def share(n: int, rank: int, size: int) -> tuple[int, int]:
    """The slice ``[start, stop)`` of ``n`` items that process ``rank`` of ``size`` takes:
    contiguous, in rank order, the first ``n % size`` processes one item more."""
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def _flatten(xp: Any, arrays: list[Any], dtype: Any) -> Any:
    """The arrays, raveled and cast to ``dtype``, one after another in one 1-D array."""
    return xp.concat([xp.reshape(a if a.dtype == dtype else xp.astype(a, dtype), (-1,))
                      for a in arrays])


def _unflatten(xp: Any, flat: Any, like: list[Any]) -> list[Any]:
    """The pieces of ``flat`` shaped as ``like`` (the inverse of :func:`_flatten`)."""
    out, at = [], 0
    for a in like:
        n = math.prod(int(d) for d in a.shape)
        out.append(xp.reshape(flat[at:at + n], tuple(a.shape)))
        at += n
    return out


class Communicator:
    """This process's place in the job (``rank`` of ``size``, ``local_rank`` on its node)
    and the job-wide sums a data-parallel training step needs.

    ``seconds``, ``calls`` and ``bytes`` count the reductions of :meth:`average` (for the
    benchmarks; ``timing = True`` waits for the device before and after each, so a GPU's
    time is its own)."""

    def __init__(self, mpi_comm: Any, launch: Launch) -> None:
        self.mpi = mpi_comm
        self.rank, self.size = int(mpi_comm.Get_rank()), int(mpi_comm.Get_size())
        self.local_rank = launch.local_rank
        self.launcher = launch.launcher
        self._engines: dict[tuple[str, str], Any] = {}
        self.timing = False
        self.seconds, self.calls, self.bytes = 0.0, 0, 0

    def __repr__(self) -> str:
        return f"<Communicator rank {self.rank} of {self.size}>"

    def share(self, n: int) -> tuple[int, int]:
        """This process's slice of ``n`` items (evaluation: uneven shares are fine)."""
        return share(n, self.rank, self.size)

    def batch_share(self, batch_size: int) -> tuple[int, int]:
        """This process's slice of a global mini-batch, which must split evenly (the mean of
        the processes' mean gradients is the batch's gradient only for equal shares)."""
        if batch_size % self.size:
            below = batch_size - batch_size % self.size
            sizes = f"{below} or {below + self.size}" if below else str(self.size)
            raise NnxpError(
                f"the batch size {batch_size} does not split evenly over {self.size} "
                f"processes: use a multiple of {self.size}, e.g. --batch-size {sizes}")
        return self.share(batch_size)

    def device(self, backend: str) -> str | None:
        """The device of ``backend`` this process uses when none is named (the node's GPUs
        dealt out by node-local rank: GPU r mod the count); None: the library's default, and
        where the library cannot say (opening the backend then says why)."""
        from nnxp.backends import adapter

        try:
            return adapter(backend).job_device(self.local_rank)
        except Exception:  # no driver, no device: get_backend gives the one-line reason
            return None

    def engine(self, backend: Backend) -> Any:
        """The reduction engine of ``backend``'s arrays (made once per library and device)."""
        key = (backend.name, str(backend.device))
        if key not in self._engines:
            module = importlib.import_module(backend.adapter.collectives())
            self._engines[key] = module.make(self.mpi, backend)
        return self._engines[key]

    def _sum(self, backend: Backend, flat: Any) -> Any:
        """``flat`` summed over every process, timed and counted."""
        engine = self.engine(backend)
        if self.timing:
            backend.synchronize()
        start = time.perf_counter()
        flat = engine.allreduce_sum(flat)
        if self.timing:
            backend.synchronize()
        self.seconds += time.perf_counter() - start
        self.calls += 1
        self.bytes += int(flat.shape[0]) * int(np.dtype(str(flat.dtype).rsplit(".", 1)[-1])
                                               .itemsize)
        return flat

    def average(self, grads: Mapping[str, Any], loss: Any = None,
                buffers: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Any,
                                                                      dict[str, Any]]:
        """The mean over the processes of ``grads``, ``loss`` (a 0-d array, or None) and
        ``buffers`` (running statistics), in one reduction of one flat buffer of the
        gradients' dtype; returns them in the same shapes and order.

        A NaN anywhere becomes a NaN on every process, so every process stops at the same
        step."""
        keys, arrays = list(grads), list(grads.values())
        extra = {} if buffers is None else dict(buffers)
        parts = [*arrays, *extra.values()]
        if loss is not None:
            parts.append(loss)
        be = backend_of(arrays[0])
        xp = be.xp
        flat = self._sum(be, _flatten(xp, parts, arrays[0].dtype))
        if self.size > 1:
            flat = flat * (1.0 / self.size)
        pieces = _unflatten(xp, flat, parts)
        mean_grads = dict(zip(keys, pieces[:len(keys)], strict=True))
        mean_buffers = {key: xp.astype(p, extra[key].dtype) if p.dtype != extra[key].dtype else p
                        for key, p in zip(extra, pieces[len(keys):len(keys) + len(extra)],
                                          strict=True)}
        mean_loss = None if loss is None else xp.reshape(pieces[-1], ())
        return mean_grads, mean_loss, mean_buffers

    def sum(self, array: Any) -> Any:
        """``array`` added up over every process, in its shape and on its device (the batch
        statistics of a synchronised batch norm: small, a few per layer and step)."""
        be = backend_of(array)
        flat = self.engine(be).allreduce_sum(be.xp.reshape(array, (-1,)))
        return be.xp.reshape(flat, tuple(array.shape))

    def broadcast_params(self, network: Any) -> None:
        """Rank 0's parameters (and running statistics) on every process, in one broadcast:
        every process starts from the same net, whatever its own seed drew."""
        params = network.params
        buffers = getattr(network, "buffers", None) or {}
        keys, arrays = [*params, *buffers], [*params.values(), *buffers.values()]
        be = network.backend
        flat = self.engine(be).broadcast(_flatten(be.xp, arrays, arrays[0].dtype), 0)
        for key, piece in zip(keys, _unflatten(be.xp, flat, arrays), strict=True):
            target = params if key in params else buffers
            target[key] = piece

    def sum_int(self, value: int) -> int:
        """An integer summed over every process (hits of an evaluation split by rank)."""
        from mpi4py import MPI

        buf = np.array([value], dtype=np.int64)
        self.mpi.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        return int(buf[0])

    def agree(self, error: BaseException | None) -> None:
        """Collective: raise :class:`SetupFailed` on every process if any passed an error
        (rank 0 words it, naming the failing rank when it is not rank 0). Each process must
        call it once, failed or not, so none is left waiting in a later reduction."""
        line = np.zeros(MESSAGE_BYTES, dtype=np.uint8)  # [failed, length (2 bytes), text]
        if error is not None:
            text = ((str(error).strip().splitlines() or [""])[0] or type(error).__name__)
            data = text.encode("utf-8")[:MESSAGE_BYTES - 3]
            line[:3] = (1, len(data) // 256, len(data) % 256)
            line[3:3 + len(data)] = np.frombuffer(data, dtype=np.uint8)
        every = np.zeros((self.size, MESSAGE_BYTES), dtype=np.uint8)
        self.mpi.Allgather(line, every)
        failed = [r for r in range(self.size) if every[r, 0]]
        if not failed:
            return
        first = failed[0]
        length = 256 * int(every[first, 1]) + int(every[first, 2])
        text = bytes(every[first, 3:3 + length]).decode("utf-8", "replace")
        where = "" if first == 0 else f"rank {first} of {self.size}: "
        raise SetupFailed(f"{where}{text}", quiet=self.rank != 0)

    @contextmanager
    def setup(self) -> Iterator[None]:
        """Run a job's setup (options, data, net) on every process; if it fails on any,
        every process raises :class:`SetupFailed` (see :meth:`agree`) instead of some
        waiting forever for the others."""
        try:
            yield
        except Exception as exc:
            self.agree(exc)
            raise  # not reached: agree raised
        except BaseException as exc:  # an interrupt: the others may be anywhere
            where = f"rank {self.rank} of {self.size}"
            self.abort(f"interrupted ({where})" if isinstance(exc, KeyboardInterrupt)
                       else _describe(exc, f"{where}: ")[0], 130)
            raise
        self.agree(None)

    @contextmanager
    def guard(self, describe: Callable[[BaseException, str], tuple[str | None, int]] | None = None
              ) -> Iterator[None]:
        """Run a job's collective work (training): an error raised inside on one process ends
        the whole job at once (:meth:`abort`) with one line naming the rank and the cause,
        instead of leaving the others waiting in their next reduction. An error every process
        raises at the same step (``collective = True``: a divergence, which the reduced loss
        shows everywhere at once) propagates, ``quiet`` on all but rank 0.

        ``describe(error, "rank R of N: ")`` gives the line and the exit code (default: the
        error's type and first line, exit 2 for NnxpError, else 1)."""
        try:
            yield
        except BaseException as exc:
            if getattr(exc, "collective", False):
                exc.quiet = self.rank != 0
                raise
            line, code = (describe or _describe)(exc, f"rank {self.rank} of {self.size}: ")
            self.abort(line, code)
            raise

    def abort(self, line: str | None, code: int) -> None:
        """End the whole job now: print ``line`` (one line on stderr), then MPI_Abort, which
        makes the launcher stop every process. MPI's own abort banner is silenced."""
        if line:
            print(line, file=sys.stderr, flush=True)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        self.mpi.Abort(code)


def _describe(exc: BaseException, where: str) -> tuple[str, int]:
    """An error as one line and an exit code (2 for NnxpError, else 1)."""
    if isinstance(exc, NnxpError):
        return f"error: {where}{(str(exc).strip().splitlines() or [''])[0]}", 2
    return f"error: {where}{reason(exc)}", 1


def init(distributed: bool = True) -> Communicator:
    """Start MPI for this process of an ``mpiexec`` launch and return its Communicator.

    NnxpError in one line when no launcher started the process, when mpi4py is missing, or
    when the launcher and mpi4py's MPI library disagree on the job's size (an ``mpiexec``
    of another MPI: each process would see a job of one)."""
    launch = check_launch(distributed)
    assert launch is not None
    try:
        from mpi4py import MPI
    except ImportError:
        raise SetupFailed(f"distributed training needs mpi4py and an MPI library: {INSTALL}",
                          launch.rank != 0) from None
    comm = MPI.COMM_WORLD
    if comm.Get_size() != launch.size:
        raise NnxpError(
            f"{launch.launcher} started {launch.size} processes but mpi4py's MPI sees "
            f"{comm.Get_size()}: the mpiexec is not the one of mpi4py's MPI library; use the "
            f"mpiexec that {INSTALL} puts beside python ({LAUNCH})")
    return Communicator(comm, launch)
