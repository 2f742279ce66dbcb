"""The one harness every benchmark uses: the machine's description, the thread limit, the
timers (interleaved samples of several cases in one process, medians), tables and JSON output.

Scripts run as modules from the repository root (``python -m benchmarks.train_step``), so
``benchmarks`` and ``nnxp`` import without any ``sys.path`` edit; child processes that import
nnxp get the repository on PYTHONPATH through :func:`child_env`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def default_data_dir() -> str:
    """Where MNIST's files are looked for by default: NNXP_DATA_DIR, else ../shared/data/mnist
    next to the repository."""
    return os.environ.get("NNXP_DATA_DIR") or str(ROOT.parent / "shared" / "data" / "mnist")


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child Python that imports nnxp from this checkout:
    the repository first on PYTHONPATH, then ``extra`` variables."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the platform has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def usable_cpus() -> int | None:
    """The CPUs this process may run on (its affinity mask), or None where it cannot say."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return None


def blas_pools() -> list[dict[str, Any]] | str:
    """The BLAS/OpenMP thread pools loaded now (threadpoolctl), or why they are unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return [
        {k: pool.get(k) for k in ("internal_api", "num_threads", "version")}
        for pool in threadpool_info()
    ]


def machine(gpu: str | None = None, libraries: tuple[str, ...] = ("numpy",)) -> dict[str, Any]:
    """The machine a result was measured on: CPU, thread pools, ``libraries``' versions and
    its load when it was asked."""
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu": gpu,
        "load_average": load_average(),
        "blas": blas_pools(),
        "versions": library_versions(*libraries),
    }


def library_versions(*names: str) -> dict[str, str | None]:
    """The installed version of each named package (None where it is not installed)."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


_THREAD_LIMITS: list[Any] = []


def limit_threads(threads: int, user_api: str | None = None) -> dict[str, Any]:
    """Run BLAS/OpenMP pools (threadpoolctl) and torch on ``threads`` threads; say what was set.

    ``user_api`` ("blas" or "openmp") limits only those pools; None limits both. Benchmarks
    compare libraries at one explicit thread count: on a shared 2-core machine a second BLAS
    thread waiting on a busy core made small matrix products swing tenfold.
    """
    info: dict[str, Any] = {"requested": threads, "blas": None, "torch": None}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        info["blas"] = "threadpoolctl not installed: BLAS threads not limited"
    else:
        _THREAD_LIMITS.append(threadpool_limits(limits=threads, user_api=user_api))
        info["blas"] = blas_pools()
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(threads)
        info["torch"] = torch.get_num_threads()
    return info


def median_time(
    fn: Callable[[], Any],
    repeats: int,
    number: int = 1,
    setup: Callable[[], None] | None = None,
    sync: Callable[[], None] | None = None,
) -> tuple[float, list[float]]:
    """Median and all ``repeats`` samples of the mean seconds of ``number`` calls of fn;
    ``setup`` runs untimed before each sample, ``sync`` on both sides of its timing."""
    samples = []
    for _ in range(repeats):
        if setup:
            setup()
        if sync:
            sync()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if sync:
            sync()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples), samples


class Clock:
    """Wall-clock seconds between start() and stop(), after ``sync`` on both sides."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.sync = sync
        self._start = 0.0

    def start(self) -> None:
        if self.sync:
            self.sync()
        self._start = time.perf_counter()

    def stop(self) -> float:
        if self.sync:
            self.sync()
        return time.perf_counter() - self._start


class CudaEventClock(Clock):
    """Seconds between two CUDA events of ``library`` ("cupy" or "torch"), recorded on the
    current stream after synchronising: the device's own time for the queued work."""

    def __init__(self, library: str, sync: Callable[[], None] | None = None) -> None:
        super().__init__(sync)
        self.library = library
        if library == "cupy":
            import cupy

            self._events = (cupy.cuda.Event(), cupy.cuda.Event())
        elif library == "torch":
            import torch

            self._events = (torch.cuda.Event(enable_timing=True),
                            torch.cuda.Event(enable_timing=True))
        else:
            raise ValueError(f"no CUDA events for {library!r}")

    def start(self) -> None:
        if self.sync:
            self.sync()
        self._events[0].record()

    def stop(self) -> float:
        begin, end = self._events
        end.record()
        end.synchronize()
        if self.library == "cupy":
            import cupy

            return cupy.cuda.get_elapsed_time(begin, end) / 1e3
        return begin.elapsed_time(end) / 1e3


def interleaved_times(
    cases: dict[str, Callable[[], Any]],
    repeats: int,
    number: int = 1,
    warmup: int = 1,
    clocks: dict[str, Clock] | None = None,
    results: dict[str, Any] | None = None,
) -> dict[str, list[float]]:
    """Mean seconds per call of each case, ``repeats`` samples of ``number`` calls each.

    Cases are timed in turn (A, B, C, A, B, C, ...) after ``warmup`` untimed rounds of
    ``number`` calls, so a load that comes and goes on a shared machine weighs on every case
    alike; take medians of the samples. ``clocks`` gives a case its own clock (CUDA events,
    a synchronising wall clock); the default is the plain wall clock. ``results``, when
    given, receives each case's last return value.
    """
    clocks = clocks or {}
    for _ in range(warmup):
        for fn in cases.values():
            for _ in range(number):
                fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            clock = clocks.get(name) or Clock()
            value = None
            clock.start()
            for _ in range(number):
                value = fn()
            times[name].append(clock.stop() / number)
            if results is not None:
                results[name] = value
    return times


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned table on stdout."""
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_json(name: str, payload: dict[str, Any], out: str | Path | None = None) -> Path:
    """Write benchmarks/results/NAME.json (``out`` instead when given) and return its path."""
    path = Path(out) if out is not None else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path
