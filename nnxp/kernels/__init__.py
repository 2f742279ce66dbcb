"""Fused kernels and Numba numerical-gradient kernels, by library, with the dispatch.

Fused kernels run in place of the Array API reference functions of :mod:`nnxp.ops`,
:mod:`nnxp.functions` and :mod:`nnxp.conv` (decorated with
:func:`nnxp.kernels.dispatch.fusable`): the dispatch runs the kernel of the reference's
name from the modules the input's adapter names for the current mode (``NNXP_FUSED`` or
:func:`nnxp.kernels.dispatch.use_fused`):

- ``numpy`` (mode "auto", the default): NumPy arrays, with NumPy's own calls in place of
  slower or more numerous Array API ones. A small net's step is made of many operations on
  small arrays, each costing NumPy a few microseconds whatever its size.
- ``numba_fused`` (mode "numba"): NumPy arrays, one compiled loop doing the work of several
  calls in one pass; faster still, but Numba takes a while to start in each process. Once
  something has loaded it, ``numpy``'s ReLU and Adam kernels use its loops too.
- ``numba_conv`` (modes "auto" and "numba"): the conv layers' work for NumPy arrays, images
  channels-last in memory, im2col a cache-sized slice at a time beside BLAS products, and
  pooling loops; its compiled loops (``numba_conv_loops``) load at the first convolution.
- ``cupy`` (mode "auto"): CUDA kernels for CuPy arrays, where every operation is a kernel
  launch and the book's small net is bound by launches; and the conv layers' im2col, col2im
  and pooling as gather kernels beside cuBLAS products. NVRTC compiles each kernel at its
  first call from the sources in ``cuda_source`` (pure Python, which tests compile with nvcc
  on machines without a GPU and run as C++ on the CPU); ``cuda_launch`` compiles and
  launches them, and a kernel that fails to build prints one warning line and leaves its
  functions to the reference from then on.

Each kernel takes exactly its reference's arguments and returns the same values (to rounding)
or NotImplemented for inputs it does not handle (a dtype, a layout), which sends the call to
the reference. Each module is imported only when an array of its library first meets a
fusable function in its mode, so importing nnxp stays quick.

The numerical-gradient kernels (``numba_scalar``, ``numba_netgrad`` and its compiled
``numba_netgrad_loops``) are picked by :mod:`nnxp.netgrad` and :mod:`nnxp.gradient`, never by
the dispatch: they import :mod:`nnxp.functions`, which imports the dispatch.
"""
