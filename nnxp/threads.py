"""How many CPU threads the matrix products run on: one decision, which the Trainer and the
command line (``--threads``) share.

The book's nets multiply small matrices (a batch of 100 by 784 by 50): there, BLAS threads
cost more in waiting for each other than they save, and on a machine whose cores are busy
with other work (two cores, here) two OpenBLAS threads made each iteration 3 to 15 times
slower than one, and a 50-epoch run of a small net many times slower (see the README's
"Speed"). So nnxp trains on one thread unless told otherwise; 0 leaves the libraries their
own choice (all cores), the better one for wide nets on a quiet machine. threadpoolctl is
imported only when a limit is set.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Any

from nnxp.errors import NnxpError

DEFAULT_THREADS = 1
"""Threads the Trainer and ``nnxp train`` use unless told otherwise."""


def check_threads(threads: Any) -> int:
    """threads as an int if it is an integer >= 0 (bools refused), else a one-line NnxpError."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
        raise NnxpError(f"threads must be an integer >= 0 (0: the libraries' own choice), got "
                        f"{threads!r:.40}")
    return int(threads)


def limit_threads(threads: int) -> contextlib.AbstractContextManager[Any]:
    """A context that runs the CPU thread pools (BLAS, OpenMP) on ``threads`` threads and
    restores them on leaving; 0 leaves them alone, and so does a machine without
    threadpoolctl."""
    threads = check_threads(threads)
    if threads == 0:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)
