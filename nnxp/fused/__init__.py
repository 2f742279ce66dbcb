"""Fused kernels that the backend may run in place of the Array API reference functions.

Owned by :mod:`nnxp.backend`: a function decorated with :func:`nnxp.backend.fusable` runs
the kernel of its name from the module for its input's library, when that module has one:

- ``numpy_kernels``: Numba loops for NumPy arrays on the CPU. A small net's step is made of
  many operations on small arrays, each costing NumPy a few microseconds of dispatch; one
  compiled loop does the work of several of them in one call and one pass over memory.
- ``cupy_kernels``: CUDA elementwise kernels for CuPy arrays, where every operation is a
  kernel launch and the book's small net is bound by launches.

Each kernel takes exactly its reference's arguments and returns the same values (to rounding)
or NotImplemented for inputs it does not handle (a dtype, a layout, a label out of range),
which sends the call to the reference. Both modules are imported only when an array of their
library first meets a fusable function, so importing nnxp stays quick.
"""
