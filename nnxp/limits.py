"""How much memory nnxp lets one request take: checked before allocating, refused in one line.

A small input can ask for a huge allocation (a model config claiming a hidden size of 10^12,
``--hidden 100000000``, an array header claiming 10^10 elements). Every such size is estimated
first and compared with :func:`memory_budget`, so the answer is one NnxpError line naming the
size and the fix, never a MemoryError traceback or a machine driven into swap.
"""

from __future__ import annotations

import os

from nnxp.errors import NnxpError

BUDGET_FRACTION = 0.5
"""The share of this machine's memory (or of the process's address-space limit) one request
may take."""


def memory_limit() -> int:
    """Bytes this process may use: the smaller of physical memory, RLIMIT_AS and RLIMIT_DATA,
    or NNXP_MAX_MEMORY (bytes) when set."""
    override = os.environ.get("NNXP_MAX_MEMORY")
    if override:
        try:
            return max(int(float(override)), 0)
        except ValueError:
            raise NnxpError(
                f"NNXP_MAX_MEMORY={override!r} is not a number of bytes; unset it or give one"
            ) from None
    limits = []
    try:
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import resource

        for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
            soft, _ = resource.getrlimit(which)
            if soft != resource.RLIM_INFINITY and soft > 0:
                limits.append(soft)
    except (ImportError, ValueError, OSError):
        pass
    return min(limits) if limits else 1 << 34


def memory_budget() -> int:
    """Bytes one request (a net's parameters, an array read from a file) may take."""
    return int(memory_limit() * BUDGET_FRACTION)


def human(nbytes: float) -> str:
    """A byte count as people write it: 12.5 GB, 640.0 MB, 3 bytes."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{int(nbytes)} bytes"


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse (NnxpError) a request of ``nbytes`` larger than :func:`memory_budget`.

    ``what`` says what needs the memory ("the net's parameters"), ``fix`` what to change.
    """
    budget = memory_budget()
    if nbytes > budget:
        raise NnxpError(
            f"{what} would need {human(nbytes)}, more than the {human(budget)} nnxp allows "
            f"itself here (half of this machine's memory); {fix}"
        )
