"""Shim: the backend module moved to :mod:`nnxp.backends` and :mod:`nnxp.kernels.dispatch`."""

from nnxp.backends import *  # noqa: F403
from nnxp.backends import __all__ as _all
from nnxp.kernels.dispatch import FUSED_MODES, fusable, fused_kernel, fused_mode, set_fused_mode, use_fused

__all__ = [*_all, "FUSED_MODES", "fusable", "fused_kernel", "fused_mode", "set_fused_mode", "use_fused"]
