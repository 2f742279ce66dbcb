"""Compiling and launching the CUDA kernels of :mod:`nnxp.kernels.cuda_source`, with a way out.

A kernel that fails to compile, to load or to launch the first time (an NVRTC that refuses
it, a driver too old for the code, too many registers for the block) must not stop training:
the function it serves returns NotImplemented and the dispatch runs the Array API reference.
:class:`CudaKernels` does this for any compiler it is handed, so the logic is tested here
without CuPy or a GPU; :mod:`nnxp.kernels.cupy` hands it ``cupy.RawKernel``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from nnxp.kernels.cuda_source import KERNELS, source

Compile = Callable[[str, str, tuple[str, ...]], Any]
"""(code, function name, options) -> a launchable kernel: kernel(grid, block, args)."""


def warn_on_stderr(message: str) -> None:
    """Print one warning line, as nnxp's other warnings."""
    print(f"nnxp: warning: {message}", file=sys.stderr)


class CudaKernels:
    """Each kernel variant compiled at its first launch; a failure disables the kernel.

    The first launch of each variant runs under ``except Exception``: a compiler error
    (CuPy's ``CompileException``), a load or launch error all count. The kernel's name is then
    marked failed, ``warn`` is called with one line, once per name, and :meth:`launch` answers
    False for every variant of that name from then on; nothing is raised. Later launches of
    a variant that once worked are not guarded: an error then is a real one.
    """

    def __init__(self, compile: Compile, warn: Callable[[str], None] = warn_on_stderr) -> None:
        self._compile = compile
        self._warn = warn
        self._ready: dict[tuple[str, str, str | None], Any] = {}
        self.failed: dict[str, str] = {}
        """Kernel name -> the one-line reason it is disabled."""

    def launch(self, name: str, float_type: str, int_type: str | None,
               grid: tuple[int, ...], block: tuple[int, ...], args: tuple[Any, ...]) -> bool:
        """Run a variant of kernel ``name`` on args; False (and nothing run) if it is disabled."""
        key = (name, float_type, int_type)
        kernel = self._ready.get(key)
        if kernel is not None:
            kernel(grid, block, args)
            return True
        if name in self.failed:
            return False
        try:
            code, fn = source(name, float_type, int_type)
            kernel = self._compile(code, fn, KERNELS[name].options)
            kernel(grid, block, args)
        except Exception as exc:  # any failure to build or start it: fall back, never crash
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            self.failed[name] = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
            self._warn(f"CUDA kernel {name} unavailable ({self.failed[name]}); "
                       "its functions run the Array API reference instead")
            return False
        self._ready[key] = kernel
        return True
