"""nnxp.companion.cpu_threads: the examples' one-thread block, as nnxp train --threads 1."""

from __future__ import annotations

import pytest

from nnxp import companion

pytestmark = pytest.mark.host


def test_cpu_threads_limits_the_blas_pools_inside_the_block_only():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy as np

    np.ones(2) @ np.ones(2)  # BLAS loaded
    before = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()]
    with companion.cpu_threads(1):
        assert all(pool["num_threads"] == 1 for pool in threadpoolctl.threadpool_info())
    assert [pool["num_threads"] for pool in threadpoolctl.threadpool_info()] == before
    with companion.cpu_threads(0):
        assert [pool["num_threads"] for pool in threadpoolctl.threadpool_info()] == before
