"""Shim: the Numba numerical-gradient kernels moved to :mod:`nnxp.kernels` (removed at merge)."""

from nnxp.kernels.numba_netgrad import affine_chain_gradient, thread_count
from nnxp.kernels.numba_scalar import numerical_gradient

__all__ = ["affine_chain_gradient", "numerical_gradient", "thread_count"]
