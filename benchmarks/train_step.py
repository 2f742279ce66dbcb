"""One training step: nnxp's Trainer.step against a hand-written NumPy loop and PyTorch eager.

    python -m benchmarks.train_step [--backend numpy|torch|cupy] [--device D] [--threads 1]
                                    [--repeats N] [--number N] [--nets book,wide]
                                    [--modes auto,numba,off]

Each case runs the same step on the same shapes in float32, from the same initial weights on
the same mini-batches: gather the batch from the whole training set kept on the device by a
slice of device-side indices, forward, softmax cross-entropy, backward, SGD update (lr 0.1),
keep the loss on the device and bring the pending losses to the host every 50 steps. The
first steps' losses of every case are checked against nnxp's before timing.

- nnxp: ``Trainer.step``, the very method the Trainer's loop calls, on a real Trainer, in
  each fused-kernel mode of --modes (auto: the default, NumPy's or CuPy's own kernels;
  numba: Numba loops, NumPy only; off: the Array API reference functions alone).
- hand loop: the step written plainly and tightly in NumPy (CuPy on a GPU): in-place bias,
  ReLU, softmax and update, no input gradient for the first layer.
- torch eager: nn.Linear/nn.ReLU, F.cross_entropy, autograd and torch.optim.SGD (PyTorch
  CUDA with --backend cupy).

Nets: the book's MLP (784-50-10 ReLU, batch 100) and a wide one (784-1000-1000-10, batch
1000). Cases are timed in turn, ``--number`` steps a sample, ``--repeats`` samples after a
warm-up; medians, quartiles and ratios to the hand loop and to nnxp. On the CPU every library
runs on --threads threads, set explicitly (threadpoolctl for BLAS, torch.set_num_threads);
with --backend cupy the whole data set lives on the GPU and samples are timed with CUDA
events after synchronising. Data: MNIST from --data-dir when it is there, else random
float32 (60000, 784). With MNIST and the NumPy backend it also runs the default ``nnxp train``
(10,000 iterations and the per-epoch evaluations) --full-runs times in each mode, each in a
fresh process so that what a mode costs to start counts, and records the command's own report
of its training time. Prints a table and writes benchmarks/results/train_step.json
(train_step_<backend>.json for other backends) with the machine and its load.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import (
    Clock,
    CudaEventClock,
    child_env,
    interleaved_times,
    limit_threads,
    load_average,
    machine,
    print_table,
    write_json,
)
from nnxp.backends import Backend, get_backend
from nnxp.kernels.dispatch import fused_mode, set_fused_mode
from nnxp.models.multi_layer import MultiLayerNet
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import FLUSH_EVERY, Trainer

NETS: dict[str, dict[str, Any]] = {
    "book": {"sizes": [784, 50, 10], "batch": 100, "repeats": 40, "number": 50},
    "wide": {"sizes": [784, 1000, 1000, 10], "batch": 1000, "repeats": 15, "number": 2},
}
"""The nets, with the default samples (--repeats) and steps per sample (--number) of each."""
LR = 0.1
DEFAULT_DATA = Path("/work/shared/data/mnist")
CHECK_STEPS = 3
MODE_LABELS = {"auto": "", "numba": ", Numba kernels", "off": ", Array API reference"}
VERSIONS = ("numpy", "numba", "torch", "cupy-cuda12x", "cupy-cuda13x")


def load_data(data_dir: str | None, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST's training set when data_dir holds it, else random float32 (60000, 784)."""
    if data_dir and Path(data_dir).is_dir():
        from nnxp.datasets import load_mnist

        (x, t), _ = load_mnist(data_dir=data_dir)
        return x.astype(np.float32), t.astype(np.int64), f"mnist ({data_dir})"
    rng = np.random.default_rng(seed)
    x = rng.random((60_000, 784), dtype=np.float32)
    t = rng.integers(0, 10, size=60_000, dtype=np.int64)
    return x, t, "random float32 (60000, 784)"


class Case:
    """A training loop of one library: ``step()`` runs the next iteration; host losses."""

    name = ""

    def step(self) -> None:
        raise NotImplementedError

    def losses(self) -> list[float]:
        """Losses of the steps run so far (pending ones brought to the host)."""
        raise NotImplementedError


class NnxpCase(Case):
    """nnxp's Trainer on ``be``: each step is ``trainer.step(indices[i*bs:(i+1)*bs])``, with
    the fused kernels in ``mode`` (switched, when another case left another, before a step)."""

    def __init__(self, be: Backend, sizes: list[int], batch: int, x: np.ndarray,
                 t: np.ndarray, seed: int, mode: str = "auto") -> None:
        self.name = f"nnxp Trainer.step ({be.name}{MODE_LABELS[mode]})"
        self.mode = mode
        if len(sizes) == 3:
            net = TwoLayerNet(sizes[0], sizes[1], sizes[2], weight_init_std="he",
                              activation="relu", backend=be, seed=seed)
        else:
            net = MultiLayerNet(sizes[0], sizes[1:-1], sizes[-1], activation="relu",
                                weight_init_std="he", backend=be, seed=seed)
        self.trainer = Trainer(net, x, t, x[:batch], t[:batch], mini_batch_size=batch,
                               optimizer_param={"lr": LR}, iters=10**9, seed=seed,
                               verbose=False)
        self.batch = batch
        self.indices = self.trainer._batch_indices(self.trainer.iter_per_epoch)
        self.steps = self.trainer.iter_per_epoch
        self.i = 0
        n = len(sizes) - 1
        self.initial = [
            (be.to_numpy(net.params[f"W{k}"]).copy(), be.to_numpy(net.params[f"b{k}"]).copy())
            for k in range(1, n + 1)
        ]
        self.host_indices = be.to_numpy(self.indices).copy()

    def step(self) -> None:
        if fused_mode() != self.mode:
            set_fused_mode(self.mode)
        bs, i = self.batch, self.i
        self.trainer.step(self.indices[i * bs : (i + 1) * bs])
        self.i = (i + 1) % self.steps

    def losses(self) -> list[float]:
        set_fused_mode(self.mode)
        self.trainer._flush(1)
        return list(self.trainer.train_loss_list)


class PendingLossCase(Case):
    """A baseline loop that keeps its losses on the device in ``pending`` and brings them to
    ``host`` every FLUSH_EVERY steps, as the Trainer does."""

    def __init__(self, batch: int, steps: int) -> None:
        self.batch, self.steps = batch, steps
        self.i = 0
        self.pending: list[Any] = []
        self.host: list[float] = []

    def _pending_on_host(self) -> np.ndarray:
        """The pending losses stacked on the device and brought to the host."""
        raise NotImplementedError

    def _flush(self) -> None:
        values = self._pending_on_host().astype(np.float64)
        self.pending = []
        if not np.isfinite(values).all():
            raise FloatingPointError(f"{self.name}'s loss is not finite")
        self.host.extend(values.tolist())

    def losses(self) -> list[float]:
        self._flush()
        return list(self.host)


class HandCase(PendingLossCase):
    """The step written by hand in NumPy (or CuPy, whose API is NumPy's), updating in place."""

    def __init__(self, lib: Any, initial: list[tuple[np.ndarray, np.ndarray]],
                 x: np.ndarray, t: np.ndarray, indices: np.ndarray, batch: int) -> None:
        self.name = f"hand-written loop ({lib.__name__})"
        self.lib = lib
        self.W = [lib.asarray(W.copy()) for W, _ in initial]
        self.b = [lib.asarray(b.copy()) for _, b in initial]
        self.x, self.t = lib.asarray(x), lib.asarray(t)
        self.indices = lib.asarray(indices)
        super().__init__(batch, len(indices) // batch)
        self.rows = lib.arange(batch)

    def step(self) -> None:
        lib, bs, i = self.lib, self.batch, self.i
        idx = self.indices[i * bs : (i + 1) * bs]
        x = lib.take(self.x, idx, axis=0)
        t = lib.take(self.t, idx)
        acts = [x]
        h = x
        for W, b in zip(self.W[:-1], self.b[:-1], strict=True):
            h = h @ W
            h += b
            lib.maximum(h, 0.0, out=h)
            acts.append(h)
        s = h @ self.W[-1]
        s += self.b[-1]
        s -= s.max(axis=1, keepdims=True)
        picked = s[self.rows, t]
        lib.exp(s, out=s)
        total = s.sum(axis=1, keepdims=True)
        self.pending.append((lib.log(total).sum() - picked.sum()) / bs)
        s /= total
        s[self.rows, t] -= 1.0
        s *= 1.0 / bs
        d = s
        for k in range(len(self.W) - 1, -1, -1):
            a = acts[k]
            dW = a.T @ d
            db = d.sum(axis=0)
            if k:
                d = d @ self.W[k].T
                d *= a > 0
            self.W[k] -= LR * dW
            self.b[k] -= LR * db
        if len(self.pending) >= FLUSH_EVERY:
            self._flush()
        self.i = (i + 1) % self.steps

    def _pending_on_host(self) -> np.ndarray:
        values = self.lib.stack(self.pending)
        return values.get() if hasattr(values, "get") else values


class TorchCase(PendingLossCase):
    """PyTorch eager: nn.Linear/nn.ReLU, F.cross_entropy, autograd, torch.optim.SGD."""

    def __init__(self, device: str, initial: list[tuple[np.ndarray, np.ndarray]],
                 x: np.ndarray, t: np.ndarray, indices: np.ndarray, batch: int) -> None:
        import torch

        self.torch = torch
        self.name = f"torch eager ({device})"
        layers: list[Any] = []
        for k, (W, b) in enumerate(initial):
            linear = torch.nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if k < len(initial) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers).to(device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.x = torch.from_numpy(x).to(device)
        self.t = torch.from_numpy(t).to(device)
        self.indices = torch.from_numpy(indices).to(device)
        super().__init__(batch, len(indices) // batch)

    def step(self) -> None:
        torch, bs, i = self.torch, self.batch, self.i
        idx = self.indices[i * bs : (i + 1) * bs]
        x = torch.index_select(self.x, 0, idx)
        t = torch.index_select(self.t, 0, idx)
        loss = torch.nn.functional.cross_entropy(self.model(x), t)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.pending.append(loss.detach())
        if len(self.pending) >= FLUSH_EVERY:
            self._flush()
        self.i = (i + 1) % self.steps

    def _pending_on_host(self) -> np.ndarray:
        return self.torch.stack(self.pending).cpu().numpy()


def torch_or_none() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def check_agreement(cases: list[Case]) -> dict[str, float]:
    """Run CHECK_STEPS steps of each case and compare its losses with the first case's."""
    for case in cases:
        for _ in range(CHECK_STEPS):
            case.step()
    ref = np.asarray(cases[0].losses()[:CHECK_STEPS])
    worst = {}
    for case in cases[1:]:
        got = np.asarray(case.losses()[:CHECK_STEPS])
        worst[case.name] = float(np.max(np.abs(got - ref) / np.abs(ref)))
        if not np.allclose(got, ref, rtol=1e-3, atol=1e-4):
            raise AssertionError(f"{case.name} disagrees with {cases[0].name}: {got} vs {ref}")
    return worst


def run_net(label: str, spec: dict[str, Any], be: Backend, x: np.ndarray, t: np.ndarray,
            args: argparse.Namespace) -> dict[str, Any]:
    """Time every case on one net; their medians, ratios and agreement."""
    sizes, batch = spec["sizes"], spec["batch"]
    modes = [m for m in args.modes.split(",") if m == "auto" or be.name in ("numpy", "cupy")]
    modes = [m for m in modes if m != "numba" or be.name == "numpy"]
    nnxp_cases = [NnxpCase(be, sizes, batch, x, t, args.seed, mode) for mode in modes]
    nnxp_case = nnxp_cases[0]
    init, idx = nnxp_case.initial, nnxp_case.host_indices
    gpu = be.name == "cupy"
    if gpu:
        import cupy

        hand_lib = cupy
    else:
        hand_lib = np
    hand_case = HandCase(hand_lib, init, x, t, idx, batch)
    cases: list[Case] = [nnxp_case, hand_case, *nnxp_cases[1:]]
    torch, torch_missing = torch_or_none(), None
    if torch is None:
        torch_missing = "torch is not installed"
    elif gpu and not torch.cuda.is_available():
        torch_missing = "this torch build has no usable CUDA"
    else:
        cases.append(TorchCase("cuda" if gpu else "cpu", init, x, t, idx, batch))
    agreement = check_agreement(cases)

    clocks: dict[str, Clock] = {}
    if gpu:
        for case in cases:
            if isinstance(case, TorchCase):
                clocks[case.name] = CudaEventClock("torch", torch.cuda.synchronize)
            else:
                clocks[case.name] = CudaEventClock("cupy", be.synchronize)
    steps: dict[str, Callable[[], None]] = {case.name: case.step for case in cases}
    load_before = load_average()
    repeats, number = args.repeats or spec["repeats"], args.number or spec["number"]
    times = interleaved_times(steps, repeats, number, args.warmup, clocks)
    hand = statistics.median(times[hand_case.name])
    rows = []
    for case in cases:
        med = statistics.median(times[case.name])
        rows.append({
            "net": label, "case": case.name, "ms_per_step": 1e3 * med,
            "x_hand_loop": med / hand,
            "q1_ms": 1e3 * statistics.quantiles(times[case.name], n=4)[0],
            "q3_ms": 1e3 * statistics.quantiles(times[case.name], n=4)[2],
        })
    nnxp_med = rows[0]["ms_per_step"]
    for row in rows:
        row["x_nnxp"] = row["ms_per_step"] / nnxp_med
    return {
        "sizes": sizes, "batch": batch, "repeats": repeats, "number": number, "rows": rows,
        "seconds": {name: samples for name, samples in times.items()},
        "loss_agreement_rel": agreement, "torch_missing": torch_missing,
        "load_average_before": load_before, "load_average_after": load_average(),
    }


FULL_RUN_TIME = re.compile(r"([\d.]+) s training and evaluating\), ([\d.]+) ms per iteration")


def full_runs(data_dir: str, modes: list[str], runs: int, threads: int) -> dict[str, Any]:
    """The default ``nnxp train`` on MNIST in a fresh process per run and mode (modes in
    turn): its own report of the seconds spent training and evaluating, and per iteration."""
    results: dict[str, Any] = {mode: {"seconds": [], "ms_per_iteration": [], "lines": []}
                               for mode in modes}
    command = [sys.executable, "-m", "nnxp", "train", "--data-dir", data_dir, "--quiet",
               "--threads", str(threads)]
    for _ in range(runs):
        for mode in modes:
            done = subprocess.run(command, env=child_env(NNXP_FUSED=mode), capture_output=True,
                                  text=True, check=True)
            line = next((ln for ln in done.stdout.splitlines() if ln.startswith("time:")), "")
            found = FULL_RUN_TIME.search(line)
            results[mode]["lines"].append(line)
            if found:
                results[mode]["seconds"].append(float(found.group(1)))
                results[mode]["ms_per_iteration"].append(float(found.group(2)))
    for entry in results.values():
        for key in ("seconds", "ms_per_iteration"):
            entry[f"median_{key}"] = statistics.median(entry[key]) if entry[key] else None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="nnxp backend: numpy, cupy, torch")
    parser.add_argument("--device", default=None, help="the backend's device (cupy: cuda:0)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed samples of each case (default: 40 book, 15 wide)")
    parser.add_argument("--number", type=int, default=None,
                        help="steps in one timed sample (default: 50 book, 2 wide)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds before timing")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch CPU threads")
    parser.add_argument("--nets", default="book,wide", help="comma-separated: book, wide")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA) if DEFAULT_DATA.is_dir() else None,
                        help="MNIST directory (default: random data when absent)")
    parser.add_argument("--modes", default="auto,numba,off",
                        help="fused-kernel modes nnxp runs in, the first the headline "
                             "(auto: the default; numba: NumPy only; off: Array API reference)")
    parser.add_argument("--full-runs", type=int, default=3,
                        help="runs of the default `nnxp train` on MNIST per mode (auto, numba), "
                             "each in a fresh process (numpy only; 0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="results name (default: by backend)")
    args = parser.parse_args(argv)

    threads = limit_threads(args.threads)
    be = get_backend(args.backend, args.device, dtype="float32")
    if be.name == "torch" and str(be.device).startswith("cuda"):
        parser.error("on a GPU, time nnxp with --backend cupy (the hand loop is CuPy there)")
    if be.name == "array_api_strict":
        parser.error("array_api_strict checks the standard and is not made to be fast: "
                     "time numpy, torch or cupy")
    x, t, data = load_data(args.data_dir, args.seed)
    gpu_name = None
    if be.name == "cupy":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(be.device.id)
        gpu_name = props["name"].decode()
    print(f"threads: BLAS {threads['blas'] if isinstance(threads['blas'], str) else args.threads}"
          f", torch {threads['torch']}; backend {be.name} {be.device}; data {data}")
    host = machine(gpu_name, libraries=VERSIONS)
    results = {}
    table = []
    for label in args.nets.split(","):
        results[label] = run_net(label, NETS[label], be, x, t, args)
        table += results[label]["rows"]
    print_table(table, ["net", "case", "ms_per_step", "x_hand_loop", "x_nnxp", "q1_ms", "q3_ms"])
    full = None
    if args.full_runs and be.name == "numpy" and data.startswith("mnist"):
        full = full_runs(args.data_dir, ["auto", "numba"], args.full_runs, args.threads)
        for mode, entry in full.items():
            print(f"nnxp train, default run on MNIST, fused {mode}: "
                  f"{entry['median_seconds']} s training and evaluating, "
                  f"{entry['median_ms_per_iteration']} ms per iteration "
                  f"(median of {len(entry['seconds'])})")
    name = args.out or ("train_step" if be.name == "numpy" else f"train_step_{be.name}")
    path = write_json(name, {
        "benchmark": "train_step",
        "what": "one SGD training step (gather, forward, softmax loss, backward, update), "
                "float32, lr 0.1; ratios to the hand-written loop",
        "backend": be.name, "device": str(be.device), "data": data,
        "warmup": args.warmup, "modes": args.modes,
        "threads": threads, "machine": host, "load_average_end": load_average(),
        "nets": results, "full_run": full,
    })
    print(f"load average {host['load_average']} -> {load_average()}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
