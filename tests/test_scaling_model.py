"""The formulas of benchmarks/scaling_model.py on numbers worked by hand: ring allreduce
time, efficiency, the smallest per-rank batch for 80%, strong scaling, the fit, the FLOP and
byte counts of the book's nets. Nothing is timed."""

from __future__ import annotations

import math

import pytest

from benchmarks.scaling_model import (
    LinearStep,
    Network,
    build_net,
    efficiency,
    fit_linear,
    forward_flops,
    gpu_step_model,
    layer_products,
    message_bytes,
    nnxp_train_flops,
    param_count,
    ring_allreduce_seconds,
    scaling_stop,
    smallest_batch,
    strong_scaling,
)

pytestmark = pytest.mark.host

MLP_FORWARD = 2 * (784 * 50 + 50 * 10)


def test_ring_allreduce_time_of_known_numbers() -> None:
    # 4 ranks, 1 MB, 1 GB/s, 10 us: 6 steps of latency, 6/4 of the buffer through each link
    assert ring_allreduce_seconds(4, 1e6, 1e9, 1e-5) == pytest.approx(6e-5 + 1.5e-3)
    # 64 ranks over 10 Gb/s Ethernet: 126 * 25 us + 126/64 * 1.25 MB / 1.25 GB/s
    assert ring_allreduce_seconds(64, 1.25e6, 1.25e9, 25e-6) == pytest.approx(
        126 * 25e-6 + 126 / 64 * 1e-3)
    assert ring_allreduce_seconds(1, 1e9, 1.0, 1.0) == 0.0
    with pytest.raises(ValueError):
        ring_allreduce_seconds(0, 1.0, 1.0, 1.0)


def test_efficiency_is_compute_over_compute_and_communication() -> None:
    assert efficiency(3.0, 1.0) == 0.75
    assert efficiency(4.0, 1.0) == pytest.approx(0.8)
    assert efficiency(1.0, 0.0) == 1.0


def test_smallest_batch_for_80_percent_by_hand() -> None:
    # t0 1 ms, 0.07 ms a sample; 2 ranks, 1 MB at 1 GB/s, no latency: T_ar = 1 ms, so
    # t_step must reach 4 ms: 1 + 0.07 b >= 4, b >= 42.86 -> 43 (42 gives 3.94 ms)
    step = LinearStep(1e-3, 7e-5)
    t_comm = ring_allreduce_seconds(2, 1e6, 1e9, 0.0)
    assert t_comm == pytest.approx(1e-3)
    assert smallest_batch(step, t_comm) == 43
    assert efficiency(step(43), t_comm) >= 0.8 > efficiency(step(42), t_comm)
    assert smallest_batch(LinearStep(5e-3, 7e-5), t_comm) == 1  # t0 alone is enough
    assert smallest_batch(LinearStep(1e-3, 0.0), t_comm) is None  # never grows
    assert smallest_batch(LinearStep(1e-3, 1e-12), t_comm) is None  # beyond BATCH_CAP
    assert smallest_batch(step, t_comm, cap=43) == 43
    assert smallest_batch(step, t_comm, cap=42) is None


def test_strong_scaling_and_where_it_stops() -> None:
    step = LinearStep(1e-3, 1e-4)  # 11 ms at batch 100
    net = Network("toy", "toy", 4, 1e9, 0.0)
    rows = strong_scaling(step, net, 1e6, global_batch=100, ranks=(1, 2, 4, 8))
    assert [r["ranks"] for r in rows] == [1, 2, 4]  # no more ranks than the network has
    assert rows[0]["speedup"] == 1.0
    # N = 2: 11 / (1 + 5 + 1) ms; N = 4: 11 / (1 + 2.5 + 1.5) ms
    assert rows[1]["speedup"] == pytest.approx(11 / 7)
    assert rows[2]["speedup"] == pytest.approx(11 / 5)
    assert rows[2]["efficiency"] == pytest.approx(11 / 20)
    stop = scaling_stop(rows)
    assert stop == {"best_ranks": 4, "best_speedup": pytest.approx(11 / 5), "still_rising": True,
                    "largest_ranks_at_target": 1}
    slow = strong_scaling(LinearStep(1e-3, 1e-6), net, 1e7, ranks=(1, 2, 4))
    assert scaling_stop(slow)["best_ranks"] == 1


def test_fit_recovers_a_line() -> None:
    batches = [1, 2, 4, 8, 16]
    seconds = [2e-3 + b * 5e-4 for b in batches]
    for relative in (True, False):
        fit = fit_linear(batches, seconds, relative=relative)
        assert fit.t0 == pytest.approx(2e-3) and fit.t_sample == pytest.approx(5e-4)


def test_flops_and_bytes_of_the_book_nets() -> None:
    assert forward_flops([(1, 784, 50), (1, 50, 10)]) == MLP_FORWARD
    mlp = build_net("mlp")
    assert forward_flops(layer_products(mlp)) == MLP_FORWARD
    assert nnxp_train_flops(layer_products(mlp)) == 3 * MLP_FORWARD - 2 * 784 * 50
    assert param_count(mlp) == 784 * 50 + 50 + 50 * 10 + 10
    assert message_bytes(param_count(mlp)) == 4 * (39760 + 1)
    # DeepConvNet: output pixels x C*3*3 x filters for each conv (conv 4 pads by 2), two affines
    conv = [(28 * 28, 1 * 9, 16), (28 * 28, 16 * 9, 16), (14 * 14, 16 * 9, 32),
            (16 * 16, 32 * 9, 32), (8 * 8, 32 * 9, 64), (8 * 8, 64 * 9, 64)]
    deep = build_net("deep_conv")
    assert layer_products(deep) == [*conv, (1, 64 * 4 * 4, 50), (1, 50, 10)]
    assert forward_flops(layer_products(deep)) == 17_544_680
    assert param_count(deep) == sum(k * n + n for _, k, n in conv) + 1024 * 50 + 50 + 510
    assert math.isclose(param_count(deep), sum(math.prod(v.shape) for v in deep.params.values()))


def test_gpu_step_model() -> None:
    step = gpu_step_model(MLP_FORWARD, layers=4)
    assert step.t0 == pytest.approx(20e-6 * 4 * 3)
    assert step.t_sample == pytest.approx(3 * MLP_FORWARD / 12e12)
