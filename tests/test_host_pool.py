"""The host pool hands an array out again only when nobody else holds it."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.kernels import host_pool

pytestmark = pytest.mark.host

SHAPE = (300, 301)  # 361 kB of float32: pooled


def test_a_dropped_array_is_reused_and_a_held_one_never() -> None:
    first = host_pool.empty(SHAPE, np.float32)
    first_id = id(first)
    second = host_pool.empty(SHAPE, np.float32)
    assert second is not first, "first is still held by this test"
    del first
    again = host_pool.empty(SHAPE, np.float32)
    assert id(again) == first_id, "the dropped array comes back"
    assert again is not second


def test_views_and_layers_keep_an_array_taken() -> None:
    base = host_pool.empty(SHAPE, np.float32)
    base[:] = 7.0
    view = base.T[::2]
    base_id = id(base)
    del base
    fresh = host_pool.empty(SHAPE, np.float32)
    assert id(fresh) != base_id, "a view still reads the array"
    assert float(view[0, 0]) == 7.0
    cache = {"mask": fresh}
    fresh_id = id(fresh)
    del fresh
    assert id(host_pool.empty(SHAPE, np.float32)) != fresh_id, "a layer's cache holds it"
    assert cache["mask"].shape == SHAPE


def test_zeros_are_zero_even_when_reused() -> None:
    a = host_pool.empty(SHAPE, np.float64)
    a[:] = np.nan
    del a
    z = host_pool.zeros(SHAPE, np.float64)
    assert not z.any()


def test_small_arrays_are_not_pooled_and_the_total_is_bounded(monkeypatch) -> None:
    before = host_pool.held_bytes()
    host_pool.empty((10, 10), np.float32)
    assert host_pool.held_bytes() == before
    monkeypatch.setattr(host_pool, "LIMIT_BYTES", before)
    over = host_pool.empty((512, 513), np.float32)
    assert host_pool.held_bytes() == before and over.shape == (512, 513)
