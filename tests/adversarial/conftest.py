"""The adversarial suite's harness: run an entry point as a hostile user would, and check the
contract: exit code 2 and exactly one line on stderr (NnxpError in the library), no
traceback, no death by signal, bounded time and memory, nothing changed where an error was
reported.

``cli(argv)`` runs ``nnxp`` in this process (fast: most cases), under an alarm and with
tracemalloc measuring the peak of Python and NumPy allocations; ``cli_process(argv)`` runs it
in a child with hard limits (address space, CPU time, file size) for the cases that could
hang, crash or eat the machine. Everything here is seeded: a failure reproduces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from nnxp.cli import main

pytestmark = pytest.mark.host

SEED = 20261202
"""One seed for every generated case."""

MAX_SECONDS = 30
"""No refused input may take longer than this."""

REFUSAL_PEAK = 256 * 2**20
"""Peak memory (tracemalloc) a refused input may cost: 256 MiB."""

CHILD_MEMORY = 3 * 2**30
"""Address-space limit of a child run (numpy, threads and all)."""


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str
    peak: int = 0
    seconds: float = 0.0
    signal: int | None = None


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def cli(argv, *, timeout: int = MAX_SECONDS, stdin: str | None = None) -> Result:
    """Run ``nnxp argv`` in this process; stdout/stderr captured, peak memory traced."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
    except _Timeout:
        pytest.fail(f"nnxp {' '.join(map(str, argv))} ran past {timeout} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Result(code, out.getvalue(), err.getvalue(), peak, time.perf_counter() - start)


LAUNCHER = """
import os, resource, sys
memory, cpu, fsize = (int(v) for v in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
if fsize >= 0:
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.executable, [sys.executable, "-m", "nnxp", *sys.argv[4:]])
"""
"""Sets the child's limits, then becomes ``python -m nnxp``: no preexec_fn, which would run
Python in a forked copy of this (possibly multithreaded) process."""


def cli_process(
    argv, *, cwd: str | os.PathLike | None = None, timeout: int = MAX_SECONDS,
    memory: int = CHILD_MEMORY, env: dict[str, str] | None = None, fsize: int | None = None,
) -> Result:
    """Run ``python -m nnxp argv`` in a child with address-space, CPU and file-size limits."""
    full_env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                **(env or {})}
    start = time.perf_counter()
    limits = [str(memory), str(timeout), str(-1 if fsize is None else fsize)]
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *limits, *map(str, argv)], cwd=cwd, env=full_env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"nnxp {' '.join(map(str, argv))} ran past {timeout} s")
    code = proc.returncode
    return Result(code, out, err, 0, time.perf_counter() - start,
                  -code if code is not None and code < 0 else None)


def assert_refused(result: Result, *needles: str, peak: int = REFUSAL_PEAK) -> None:
    """Exit code 2, one line on stderr naming the problem (every needle), no traceback."""
    assert result.signal is None, f"killed by signal {result.signal}: {result.err[-500:]}"
    assert "Traceback" not in result.err, result.err[-2000:]
    lines = result.err.strip().splitlines()
    assert result.code == 2, (result.code, result.err[-1000:])
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in result.err, (needle, result.err)
    assert "allow_pickle" not in result.err, result.err
    assert result.peak <= peak, f"peak {result.peak / 2**20:.0f} MiB for a refused input"
    assert result.seconds <= MAX_SECONDS


def snapshot(*roots: str | os.PathLike) -> dict[str, tuple]:
    """Every entry under ``roots``: its kind, size, mode, link target and content digest."""
    state: dict[str, tuple] = {}
    for root in roots:
        root = Path(root)
        paths = [root, *root.rglob("*")] if root.is_dir() and not root.is_symlink() else [root]
        for path in paths:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if path.is_symlink():
                state[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                state[str(path)] = ("file", st.st_size, st.st_mode,
                                    hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                state[str(path)] = ("other", st.st_mode, st.st_rdev)
    return state


