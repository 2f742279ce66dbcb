"""What several subcommands share: the one-line argparse error, the backend with a hint,
the thread limit, data loading, and the small words of their reports.

Heavy modules (datasets, threadpoolctl) are imported inside the functions so that building
the parser (``nnxp --help``) stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

THREADS_HELP = ("CPU threads for the matrix products (default: 1, the fastest for the book's "
                "small nets on a busy machine; 0: the libraries' own choice)")

EVAL_BATCH_IMAGES = 1000
"""Images per evaluation chunk for conv nets: im2col of 10,000 MNIST images needs ~1 GB."""

class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (problem and where to look) and exit 2."""

    def error(self, message: str) -> NoReturn:
        from nnxp.distributed.launch import speaks

        if speaks():  # under mpiexec every process parses the same line: rank 0 says it
            print(f"{self.prog}: error: {message}; see `{self.prog} --help`", file=sys.stderr)
        sys.exit(2)


def flag(key: str) -> str:
    """The command-line flag of an argparse dest: weight_decay -> --weight-decay."""
    return "--" + key.replace("_", "-")


@contextlib.contextmanager
def backend_hint() -> Iterator[None]:
    """Add where to look next to the one line of a BackendUnavailable raised inside."""
    from nnxp.errors import BackendUnavailable

    try:
        yield
    except BackendUnavailable as exc:
        raise BackendUnavailable(f"{exc}; `nnxp info` lists the backends usable here") from None


def open_backend(name: str, device: str | None, dtype: str) -> Any:
    """The backend, or BackendUnavailable whose one line also says where to look next."""
    from nnxp.backends import get_backend

    with backend_hint():
        return get_backend(name, device, dtype)


def limit_threads(n: int) -> contextlib.AbstractContextManager[Any]:
    """Limit the CPU thread pools (BLAS, OpenMP) to ``n`` threads; 0 leaves them alone
    (:func:`nnxp.threads.limit_threads`, which the Trainer uses too)."""
    from nnxp.threads import limit_threads

    return limit_threads(n)


def plural(n: int, word: str) -> str:
    """"1 epoch", "2 epochs"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def where(backend: Any) -> str:
    """"numpy cpu", "torch cuda:0", "array_api_strict CPU_DEVICE": backend and device."""
    return f"{backend.name} {backend.device_name}"


def load_data(
    name: str, data_dir: str | None, quiet: bool, normalize: bool = True, flatten: bool = True
) -> Any:
    """(((x_train, t_train), (x_test, t_test)), resolved name) from nnxp.datasets."""
    from nnxp import datasets

    return datasets.load_dataset(
        name, data_dir=data_dir, normalize=normalize, flatten=flatten, one_hot_label=False,
        progress=not quiet,
    )


def data_inputs(data_dir: str | None) -> dict[str, str | None]:
    """The folders a data-reading command reads (an output may lie in none of them)."""
    from nnxp.datasets.cache import cache_dir

    return {"--data-dir": data_dir, "NNXP_DATA_DIR": os.environ.get("NNXP_DATA_DIR") or None,
            "the data cache": str(cache_dir())}


def error_line(command: str, exc: BaseException, where: str = "") -> tuple[str | None, int]:
    """The one line a failed command prints for ``exc`` (None: nothing, the error was said
    elsewhere) and its exit code: 2 for bad input, the environment and memory, 130 for an
    interrupt, 1 for anything else. ``where`` goes before the message ("rank 1 of 2: ")."""
    from nnxp.errors import NnxpError

    head = f"nnxp {command}: "
    if isinstance(exc, NnxpError):
        return (None if getattr(exc, "quiet", False) else f"{head}error: {where}{exc}"), 2
    if isinstance(exc, MemoryError):
        return (f"{head}error: {where}out of memory; use smaller sizes (--hidden, --batch-size) "
                "or free memory"), 2
    if isinstance(exc, OSError):
        at = f" ({exc.filename})" if exc.filename else ""
        return (f"{head}error: {where}{exc.strerror or exc}{at}; check the paths and the free "
                "space"), 2
    if isinstance(exc, KeyboardInterrupt):
        return f"{head}interrupted{' (' + where.rstrip(': ') + ')' if where else ''}", 130
    from nnxp.backends.base import reason

    return f"{head}error: {where}{reason(exc)}", 1
