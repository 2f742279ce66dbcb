"""Fused kernels that the backend may run in place of the Array API reference functions.

Owned by :mod:`nnxp.backend`: a function decorated with :func:`nnxp.backend.fusable` runs
the kernel of its name from the module for its input's library and the current mode
(``NNXP_FUSED`` or ``nnxp.backend.use_fused``), when that module has one:

- ``numpy_kernels`` (mode "auto", the default): NumPy arrays, with NumPy's own calls in
  place of slower or more numerous Array API ones. A small net's step is made of many
  operations on small arrays, each costing NumPy a few microseconds whatever its size.
- ``numba_kernels`` (mode "numba"): NumPy arrays, one compiled loop doing the work of several
  calls in one pass; faster still, but Numba takes a while to start in each process.
- ``cupy_kernels`` (mode "auto"): CUDA kernels for CuPy arrays, where every operation is a
  kernel launch and the book's small net is bound by launches.

Each kernel takes exactly its reference's arguments and returns the same values (to rounding)
or NotImplemented for inputs it does not handle (a dtype, a layout, a label out of range),
which sends the call to the reference. Each module is imported only when an array of its
library first meets a fusable function in its mode, so importing nnxp stays quick.
"""
