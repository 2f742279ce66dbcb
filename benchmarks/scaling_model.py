"""A scaling model on paper for data-parallel training of the book's nets: how large a batch
each rank needs before the gradient allreduce stops dominating, and where the book's batch of
100 stops scaling.

    python -m benchmarks.scaling_model [--repeats N] [--warmup N] [--threads 1]
                                       [--mlp-batches 1,2,...] [--conv-batches 1,2,...]
                                       [--out FILE.json]

The model (synchronous SGD, as nnxp's data-parallel training does it):

- Each of N ranks computes one training step (forward, backward, optimizer update) on its own
  b samples, taking t_step(b) = t0 + b * t_sample: linear in the per-rank batch, the same
  t0 and t_sample at every N (no cache or contention effects from running more ranks).
- Then one ring allreduce of one flat float32 buffer holding every gradient and the loss,
  M = (parameters + 1) * 4 bytes, taking T_ar(N, M) = 2(N-1) * alpha + 2(N-1)/N * M / B
  (bandwidth-optimal ring: reduce-scatter then allgather, 2(N-1) steps of latency alpha each;
  B the bus bandwidth per rank). No overlap of communication with the backward pass (nnxp
  reduces after the whole backward), no compression, no reduction arithmetic cost, no
  stragglers, no host staging of GPU buffers, links running at their nominal rate.
- Weak scaling, per-rank batch b, global batch N * b:
  E(N, b) = t_step(b) / (t_step(b) + T_ar(N, M)). The smallest integer b with E >= 0.8 is
  reported (capped at BATCH_CAP), with the global batch it implies beside the book's 100.
- Strong scaling of the book's global batch 100: b = 100 / N (real-valued),
  S(N) = t_step(100) / (t_step(100 / N) + T_ar(N, M)), efficiency S / N; the model "stops
  scaling" at the N that maximises S, and the largest N with S / N >= 0.8 is reported.

Two compute models for t_step:

- cpu_measured: measured here, nnxp's ``Trainer.step`` on one CPU thread in float32 (the
  MLP with SGD lr 0.1 as chapter 5, DeepConvNet with Adam lr 0.001 as chapter 8; random data
  of MNIST's shape), medians of interleaved samples at several per-rank batches, then a
  least-squares fit of t0 + b * t_sample weighted by 1 / t (relative errors, since the points
  span two decades; the plain fit is recorded too).
- gpu_model: not measured (no GPU here), assumed: FLOPs per sample (the matrix products and
  convolutions, 2*M*N*K each, forward times TRAIN_FLOP_FACTOR) over GPU_ACHIEVED_FLOPS, plus
  t0 = GPU_LAUNCH_SECONDS per layer per pass (forward, backward, update). Both constants are
  guesses, stated below; the JSON keeps them beside every result.

Networks (NETWORKS): 8 GPUs in one NVLink-class node, and 64 nodes over 10 and 100 Gb/s
Ethernet. Every number this writes is a model number, not a measurement of data-parallel
training; only the CPU step times are measured. Prints a table and writes
benchmarks/results/scaling_model.json and scaling_model.png (efficiency against per-rank batch).
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import (
    RESULTS,
    interleaved_times,
    limit_threads,
    load_average,
    machine,
    print_table,
    write_json,
)

BYTES_PER_VALUE = 4
"""float32: every gradient value and the loss travel as 4 bytes."""
TARGET_EFFICIENCY = 0.80
"""The parallel efficiency a per-rank batch must reach."""
BATCH_CAP = 2**20
"""The largest per-rank batch searched; beyond it the answer is reported as "never"."""
BOOK_BATCH = 100
"""The book's mini-batch (chapters 5 to 8)."""
STRONG_RANKS = (1, 2, 4, 8, 16, 32, 64)
"""Rank counts of the strong-scaling table (each network only up to its own ranks)."""

GPU_PEAK_FLOPS = 60e12
"""Assumed float32 peak without tensor cores of an H100/H200-class GPU, FLOP/s (~67e12 SXM)."""
GPU_FRACTION_OF_PEAK = 0.20
"""Assumed fraction of that peak such small layers (50-wide affines, 3x3 convs on 28x28
images with 16-64 filters, through im2col and cuBLAS) reach."""
GPU_ACHIEVED_FLOPS = GPU_PEAK_FLOPS * GPU_FRACTION_OF_PEAK
"""Assumed achieved throughput, FLOP/s (12e12)."""
GPU_LAUNCH_SECONDS = 20e-6
"""Assumed fixed cost per layer per pass, seconds: kernel launches and Python dispatch."""
GPU_PASSES = 3
"""Passes over the layers per step that pay GPU_LAUNCH_SECONDS: forward, backward, update."""
TRAIN_FLOP_FACTOR = 3
"""Training FLOPs per forward FLOP: backward ~2x forward (the data's and the weights'
gradients), so 3x in all. nnxp skips the first layer's data gradient; the exact count of its
products is recorded beside this one."""


@dataclass(frozen=True)
class Network:
    """An interconnect: ``ranks`` taking part, bus bandwidth per rank (bytes/s) for a ring
    allreduce, and latency per ring step (seconds)."""

    name: str
    label: str
    ranks: int
    bandwidth: float
    alpha: float


NETWORKS: tuple[Network, ...] = (
    Network("nvlink_8gpu", "8 ranks, NVLink-class node (150 GB/s, 5 us)", 8, 150e9, 5e-6),
    Network("eth10_64node", "64 ranks, 10 Gb/s Ethernet (25 us)", 64, 10e9 / 8, 25e-6),
    Network("eth100_64node", "64 ranks, 100 Gb/s Ethernet (25 us)", 64, 100e9 / 8, 25e-6),
)
"""The assumed networks; Ethernet bandwidth is the line rate in bytes/s, no protocol overhead."""


@dataclass(frozen=True)
class LinearStep:
    """Step time t0 + b * t_sample (seconds) for a per-rank batch b."""

    t0: float
    t_sample: float

    def __call__(self, batch: float) -> float:
        return self.t0 + batch * self.t_sample


def ring_allreduce_seconds(ranks: int, nbytes: float, bandwidth: float, alpha: float) -> float:
    """Time of a bandwidth-optimal ring allreduce of ``nbytes`` on ``ranks`` ranks:
    2(N-1) latency steps and 2(N-1)/N of the buffer through each rank's link. Zero for N = 1."""
    if ranks < 1:
        raise ValueError(f"ranks must be at least 1, got {ranks}")
    steps = 2 * (ranks - 1)
    return steps * alpha + steps / ranks * nbytes / bandwidth


def efficiency(t_step: float, t_comm: float) -> float:
    """Parallel efficiency of a synchronous step: compute over compute plus communication."""
    return t_step / (t_step + t_comm)


def smallest_batch(step: LinearStep, t_comm: float, target: float = TARGET_EFFICIENCY,
                   cap: int = BATCH_CAP) -> int | None:
    """The smallest integer per-rank batch b >= 1 with efficiency(step(b), t_comm) >= target,
    or None when none up to ``cap`` reaches it."""
    def ok(b: int) -> bool:
        return efficiency(step(b), t_comm) >= target

    if ok(1):
        return 1
    if step.t_sample <= 0:
        return None
    need = target / (1 - target) * t_comm  # the step time that reaches the target
    b = max(1, math.ceil((need - step.t0) / step.t_sample))
    if b > cap + 1:
        return None
    while b > 1 and ok(b - 1):  # the closed form's rounding, checked both ways
        b -= 1
    while not ok(b):
        b += 1
    return b if b <= cap else None


def strong_scaling(step: LinearStep, network: Network, nbytes: float,
                   global_batch: float = BOOK_BATCH,
                   ranks: Iterable[int] = STRONG_RANKS) -> list[dict[str, float]]:
    """Speedup and efficiency of splitting ``global_batch`` over N ranks of ``network`` (N up to
    its own ranks): S(N) = t_step(B) / (t_step(B / N) + T_ar(N, M))."""
    rows = []
    for n in ranks:
        if n > network.ranks:
            continue
        t_comm = ring_allreduce_seconds(n, nbytes, network.bandwidth, network.alpha)
        t_step = step(global_batch / n)
        speedup = step(global_batch) / (t_step + t_comm)
        rows.append({"ranks": n, "per_rank_batch": global_batch / n, "t_step_s": t_step,
                     "t_allreduce_s": t_comm, "speedup": speedup, "efficiency": speedup / n})
    return rows


def scaling_stop(rows: Sequence[dict[str, float]],
                 target: float = TARGET_EFFICIENCY) -> dict[str, Any]:
    """Where strong scaling stops: the N of the largest speedup (``still_rising`` when that is
    the largest N asked) and the largest N whose efficiency reaches ``target``."""
    best = max(rows, key=lambda r: r["speedup"])
    efficient = [r["ranks"] for r in rows if r["efficiency"] >= target]
    return {"best_ranks": best["ranks"], "best_speedup": best["speedup"],
            "still_rising": best["ranks"] == rows[-1]["ranks"],
            "largest_ranks_at_target": max(efficient) if efficient else None}


def fit_linear(batches: Sequence[float], seconds: Sequence[float],
               relative: bool = True) -> LinearStep:
    """Least-squares t0 + b * t_sample through (batch, seconds); ``relative`` weighs each point
    by 1 / seconds (minimises relative errors), else plain least squares."""
    b = np.asarray(batches, dtype=np.float64)
    t = np.asarray(seconds, dtype=np.float64)
    design = np.stack([np.ones_like(b), b], axis=1)
    if relative:
        design, t = design / t[:, None], np.ones_like(t)
    (t0, t_sample), *_ = np.linalg.lstsq(design, t, rcond=None)
    return LinearStep(float(t0), float(t_sample))


def forward_flops(products: Iterable[tuple[int, int, int]]) -> int:
    """FLOPs of the (M, K, N) matrix products of one forward: 2*M*K*N each."""
    return sum(2 * m * k * n for m, k, n in products)


def message_bytes(parameters: int, with_loss: bool = True) -> int:
    """Bytes of the flat allreduce buffer: every gradient value, and the loss when it rides
    along, BYTES_PER_VALUE each."""
    return (parameters + int(with_loss)) * BYTES_PER_VALUE


def gpu_step_model(forward_flops_per_sample: float, layers: int) -> LinearStep:
    """The assumed GPU step: GPU_LAUNCH_SECONDS per layer and pass, and the training FLOPs of
    a sample at GPU_ACHIEVED_FLOPS."""
    return LinearStep(GPU_LAUNCH_SECONDS * layers * GPU_PASSES,
                      TRAIN_FLOP_FACTOR * forward_flops_per_sample / GPU_ACHIEVED_FLOPS)


def assumptions() -> dict[str, Any]:
    """Every assumed constant, with its unit, for the JSON."""
    return {
        "units": "times (t0, t_sample, t_*_s, alpha) in seconds, message sizes in bytes, "
                 "bandwidths in bytes/s, FLOPs per sample, throughputs in FLOP/s",
        "bytes_per_value": BYTES_PER_VALUE,
        "target_efficiency": TARGET_EFFICIENCY,
        "batch_cap": BATCH_CAP,
        "book_batch": BOOK_BATCH,
        "gpu_peak_flops_per_s": GPU_PEAK_FLOPS,
        "gpu_fraction_of_peak": GPU_FRACTION_OF_PEAK,
        "gpu_achieved_flops_per_s": GPU_ACHIEVED_FLOPS,
        "gpu_launch_s_per_layer_per_pass": GPU_LAUNCH_SECONDS,
        "gpu_passes": GPU_PASSES,
        "train_flops_per_forward_flop": TRAIN_FLOP_FACTOR,
        "networks": [{**asdict(n), "bandwidth_unit": "bytes/s", "alpha_unit": "s per ring step"}
                     for n in NETWORKS],
        "allreduce": "ring: T = 2(N-1) alpha + 2(N-1)/N M / B; one flat buffer per step, after "
                     "the whole backward (no overlap), no compression",
        "compute": "t_step(b) = t0 + b t_sample, the same at every N",
    }


# The nets: built, their products counted, their steps timed.

NET_LABELS = {"mlp": "TwoLayerNet(784, 50, 10)", "deep_conv": "DeepConvNet"}


def build_net(name: str, seed: int = 0) -> Any:
    """The book's MLP (ReLU, He weights, as chapter 5's layered net) or DeepConvNet, float32."""
    if name == "mlp":
        from nnxp.models.two_layer import TwoLayerNet

        return TwoLayerNet(784, 50, 10, weight_init_std="he", activation="relu", seed=seed)
    from nnxp.models.conv import DeepConvNet

    return DeepConvNet(seed=seed)


def net_layers(net: Any) -> list[Any]:
    """The net's layers in order (the book keeps some in an OrderedDict), its loss layer last."""
    layers = net.layers.values() if hasattr(net.layers, "values") else net.layers
    return [*layers, net.last_layer]


def layer_products(net: Any) -> list[tuple[int, int, int]]:
    """The (M, K, N) products of one sample's forward through ``net``: each affine, and each
    convolution as its im2col product (output pixels x C*FH*FW x filters); shapes are walked
    from the input, nothing is computed."""
    from nnxp.conv import Convolution, Pooling, conv_output_size
    from nnxp.layers import Affine

    shape: tuple[int, ...] = tuple(getattr(net, "input_dim", (net.input_features,)))
    products = []
    for layer in net_layers(net):
        if isinstance(layer, Convolution):
            filters, channels, fh, fw = (int(d) for d in layer.W.shape)
            oh = conv_output_size(shape[1], fh, layer.stride, layer.pad)
            ow = conv_output_size(shape[2], fw, layer.stride, layer.pad)
            products.append((oh * ow, channels * fh * fw, filters))
            shape = (filters, oh, ow)
        elif isinstance(layer, Pooling):
            shape = (shape[0], conv_output_size(shape[1], layer.pool_h, layer.stride, layer.pad),
                     conv_output_size(shape[2], layer.pool_w, layer.stride, layer.pad))
        elif isinstance(layer, Affine):
            k, n = (int(d) for d in layer.W.shape)
            if k != math.prod(shape):
                raise ValueError(f"affine of {k} inputs after a layer of shape {shape}")
            products.append((1, k, n))
            shape = (n,)
    return products


def nnxp_train_flops(products: Sequence[tuple[int, int, int]]) -> int:
    """The FLOPs of nnxp's products in one sample's step: forward, the weights' gradient of
    every layer, the data's gradient of every layer but the first."""
    fwd = forward_flops(products)
    return 3 * fwd - forward_flops(products[:1])


def param_count(net: Any) -> int:
    """The parameters of ``net``, from its config's shapes (nnxp.models.registry)."""
    from nnxp.models.registry import param_shapes

    shapes, _ = param_shapes(net.config)
    return sum(math.prod(s) for s in shapes.values())


def step_cases(name: str, batches: Sequence[int], seed: int) -> dict[str, Callable[[], Any]]:
    """One nnxp Trainer per per-rank batch, on random data of MNIST's shape; each case runs
    ``Trainer.step`` on that batch's next slice of an epoch's indices."""
    from nnxp.train import Trainer

    rng = np.random.default_rng(seed)
    train_size = max(2048, 8 * max(batches))
    shape = (train_size, 784) if name == "mlp" else (train_size, 1, 28, 28)
    x = rng.random(shape, dtype=np.float32)
    t = rng.integers(0, 10, size=train_size, dtype=np.int64)
    optimizer, lr = ("sgd", 0.1) if name == "mlp" else ("adam", 0.001)
    cases = {}
    for b in batches:
        trainer = Trainer(build_net(name, seed), x, t, x[:b], t[:b], mini_batch_size=b,
                          optimizer=optimizer, optimizer_param={"lr": lr}, iters=10**9,
                          seed=seed, verbose=False)
        cases[f"b={b}"] = _stepper(trainer, b)
    return cases


def _stepper(trainer: Any, batch: int) -> Callable[[], Any]:
    """A call running the trainer's next step, cycling through one epoch's indices."""
    steps = trainer.iter_per_epoch
    indices = trainer._batch_indices(steps)
    state = {"i": 0}

    def step() -> Any:
        i = state["i"]
        state["i"] = (i + 1) % steps
        return trainer.step(indices[i * batch : (i + 1) * batch])

    return step


def measure(name: str, batches: Sequence[int], repeats: int, warmup: int, number: int,
            seed: int, threads: int) -> dict[str, Any]:
    """Seconds per step of ``name`` at each per-rank batch (interleaved samples), their
    medians and both fits. One untimed step of each batch first, then the thread limit set
    again: a first step may load a library with its own BLAS pool (Numba brings SciPy's)."""
    cases = step_cases(name, batches, seed)
    for step in cases.values():
        step()
    limit_threads(threads)
    load_before = load_average()
    times = interleaved_times(cases, repeats, number, warmup)
    medians = [statistics.median(times[f"b={b}"]) for b in batches]
    fit = fit_linear(batches, medians)
    plain = fit_linear(batches, medians, relative=False)
    return {
        "batches": list(batches), "repeats": repeats, "warmup": warmup,
        "steps_per_sample": number,
        "median_s": medians,
        "samples_s": {str(b): times[f"b={b}"] for b in batches},
        "fit": asdict(fit),
        "fit_plain_least_squares": asdict(plain),
        "fit_relative_residuals": [fit(b) / m - 1 for b, m in zip(batches, medians, strict=True)],
        "load_average_before": load_before, "load_average_after": load_average(),
    }


# The analysis: every net x compute model x network.

def analyse(nets: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Weak-scaling rows (smallest per-rank batch for the target, efficiency at 1 and 100) and
    strong-scaling rows (the book's batch 100 split) for every net, compute model, network."""
    weak, strong = [], []
    for net_name, net in nets.items():
        for model_name, fit in net["compute_models"].items():
            step = LinearStep(**fit)
            for network in NETWORKS:
                t_comm = ring_allreduce_seconds(network.ranks, net["message_bytes"],
                                                network.bandwidth, network.alpha)
                b = smallest_batch(step, t_comm)
                weak.append({
                    "net": net_name, "compute": model_name, "network": network.name,
                    "ranks": network.ranks, "t_allreduce_s": t_comm,
                    "t_step_b1_s": step(1), "t_step_b100_s": step(BOOK_BATCH),
                    "efficiency_b1": efficiency(step(1), t_comm),
                    "efficiency_b100": efficiency(step(BOOK_BATCH), t_comm),
                    "per_rank_batch_for_target": b,
                    "global_batch_for_target": None if b is None else b * network.ranks,
                    "global_over_book_batch": None if b is None
                    else b * network.ranks / BOOK_BATCH,
                })
                rows = strong_scaling(step, network, net["message_bytes"])
                strong.append({"net": net_name, "compute": model_name, "network": network.name,
                               "rows": rows, **scaling_stop(rows)})
    return weak, strong


def plot(nets: dict[str, dict[str, Any]], path: Path) -> Path:
    """Efficiency against per-rank batch: one panel per compute model and net, one line per
    network, log x, the target dashed, the book's batch dotted, the CPU's measured range
    shaded."""
    from nnxp.plot.canvas import new_figure, save_figure

    models = list(next(iter(nets.values()))["compute_models"])
    fig, axes = new_figure(ncols=len(nets), nrows=len(models), width=5.2 * len(nets),
                           height=3.6 * len(models))
    batches = np.unique(np.round(np.logspace(0, math.log10(BATCH_CAP), 400)))
    for row, model_name in enumerate(models):
        for col, (net_name, net) in enumerate(nets.items()):
            ax = axes[row * len(nets) + col]
            step = LinearStep(**net["compute_models"][model_name])
            for network in NETWORKS:
                t_comm = ring_allreduce_seconds(network.ranks, net["message_bytes"],
                                                network.bandwidth, network.alpha)
                ax.plot(batches, [efficiency(step(b), t_comm) for b in batches],
                        label=network.label)
            ax.axhline(TARGET_EFFICIENCY, color="k", linestyle="--", linewidth=1)
            ax.axvline(BOOK_BATCH, color="grey", linestyle=":", linewidth=1)
            if model_name == "cpu_measured":
                measured = net["measured"]["batches"]
                ax.axvspan(min(measured), max(measured), color="grey", alpha=0.12,
                           label="batches measured here")
            ax.set_xscale("log")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("per-rank batch b")
            ax.set_ylabel("efficiency E(N, b)")
            ax.set_title(f"{NET_LABELS[net_name]}, {model_name} (model)", fontsize=10)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def _batch_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"want positive batch sizes, got {text!r}")
    return values


def _fmt_batch(b: int | None) -> str:
    return "never" if b is None else str(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed samples per batch")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds before timing")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--mlp-batches", type=_batch_list,
                        default=[2**k for k in range(9)], help="per-rank batches of the MLP")
    parser.add_argument("--conv-batches", type=_batch_list,
                        default=[2**k for k in range(7)], help="per-rank batches of DeepConvNet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling_model.json",
                        help="JSON file to write; the PNG goes beside it")
    args = parser.parse_args(argv)
    limits = limit_threads(args.threads)

    nets: dict[str, dict[str, Any]] = {}
    for name, batches, number in (("mlp", args.mlp_batches, 20),
                                  ("deep_conv", args.conv_batches, 2)):
        net = build_net(name, args.seed)
        products = layer_products(net)
        params = param_count(net)
        fwd = forward_flops(products)
        layers = len(net_layers(net))
        measured = measure(name, batches, args.repeats, args.warmup, number, args.seed,
                           args.threads)
        gpu = gpu_step_model(fwd, layers)
        nets[name] = {
            "label": NET_LABELS[name],
            "parameters": params,
            "message_bytes": message_bytes(params),
            "layers": layers,
            "forward_products_per_sample": [list(p) for p in products],
            "forward_flops_per_sample": fwd,
            "train_flops_per_sample_model": TRAIN_FLOP_FACTOR * fwd,
            "train_flops_per_sample_nnxp_products": nnxp_train_flops(products),
            "measured": measured,
            "compute_models": {"gpu_model": asdict(gpu), "cpu_measured": measured["fit"]},
        }
        fit = measured["fit"]
        print(f"{NET_LABELS[name]}: {params} parameters, {message_bytes(params)} bytes, "
              f"{fwd} forward FLOPs/sample; CPU fit t0 {1e6 * fit['t0']:.1f} us + "
              f"{1e6 * fit['t_sample']:.2f} us/sample; GPU model t0 {1e6 * gpu.t0:.0f} us + "
              f"{1e9 * gpu.t_sample:.2f} ns/sample")
        print_table([{"b": b, "median ms": 1e3 * m, "fit ms": 1e3 * LinearStep(**fit)(b),
                      "fit/measured-1": r}
                     for b, m, r in zip(batches, measured["median_s"],
                                        measured["fit_relative_residuals"], strict=True)],
                    ["b", "median ms", "fit ms", "fit/measured-1"])
        print()

    weak, strong = analyse(nets)
    print(f"Weak scaling (model): smallest per-rank batch b with E >= {TARGET_EFFICIENCY}")
    print_table([{**r, "T_ar us": 1e6 * r["t_allreduce_s"], "E(b=1)": r["efficiency_b1"],
                  "E(b=100)": r["efficiency_b100"],
                  "b for 80%": _fmt_batch(r["per_rank_batch_for_target"]),
                  "global batch": _fmt_batch(r["global_batch_for_target"]),
                  "x book 100": r["global_over_book_batch"] or "-"} for r in weak],
                ["net", "compute", "network", "ranks", "T_ar us", "E(b=1)", "E(b=100)",
                 "b for 80%", "global batch", "x book 100"])
    print(f"\nStrong scaling of the global batch {BOOK_BATCH} (model)")
    print_table([{**s, "S(N) by N": " ".join(f"{r['ranks']}:{r['speedup']:.2f}" for r in s["rows"]),
                  "best N": f"{s['best_ranks']}{'+' if s['still_rising'] else ''}",
                  "N at 80%": s["largest_ranks_at_target"]} for s in strong],
                ["net", "compute", "network", "best N", "best_speedup", "N at 80%", "S(N) by N"])

    result = {
        "benchmark": "scaling_model",
        "what": "a scaling model on paper for synchronous data-parallel SGD with one ring "
                "allreduce per step; only the CPU step times are measured, everything else "
                "is modelled",
        "model": __doc__,
        "assumptions": assumptions(),
        "threads": args.threads,
        "machine": {**machine(libraries=("numpy", "threadpoolctl", "numba", "scipy")),
                    "thread_limits": limits},
        "nets": nets,
        "weak_scaling": weak,
        "strong_scaling": strong,
    }
    out = args.out
    print(f"\nwrote {write_json('scaling_model', result, out=out)}")
    print(f"wrote {plot(nets, out.with_suffix('.png'))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
