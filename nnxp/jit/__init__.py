"""Numba kernels for the numerical gradient's slow path: C-contiguous float64 NumPy arrays.

Importing this package imports Numba (a second or so), so nothing imports it until a
numerical gradient asks for it; ``import nnxp`` and ``nnxp --help`` never do. Kernels are
compiled with ``cache=True``: the first call on a machine compiles them (seconds), later
processes load them from ``__pycache__``.
"""

from nnxp.jit.network import affine_chain_gradient, thread_count
from nnxp.jit.scalar import numerical_gradient

__all__ = ["affine_chain_gradient", "numerical_gradient", "thread_count"]
