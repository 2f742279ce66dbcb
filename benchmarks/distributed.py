"""Data-parallel training steps: time per step with N = 1 and 2 processes, and the share of
it the gradient reduction takes.

    python -m benchmarks.distributed [--nets mlp,conv,deep] [--steps 50] [--repeats 7]
                                     [--backend numpy] [--ranks 1,2]

For each net the driver starts ``mpiexec -n N python -m benchmarks.distributed --worker``
for each N. A worker builds the net (float32, seed 0) and a Trainer with
:class:`nnxp.train.distributed.DataParallel` on MNIST (or random images of MNIST's shape when
the files are absent), warms up, then times ``Trainer.step`` — the method the training loop
calls: gather, forward, backward, the one flat allreduce, the update — ``--steps`` steps a
sample, ``--repeats`` samples, with the communicator timing each reduction (waiting for the
device before and after). The N = 1 worker also times the same step without DataParallel,
the baseline in the same process: what the callback costs where there is nothing to reduce.

Two runs at N = 2: the book's global batch split in two (strong scaling: each process computes
half; ideal time is half of N = 1's) and twice the batch, the same per process (weak scaling:
ideal time equals N = 1's). Both processes run on this machine's cores with one BLAS thread
each, so they also share memory bandwidth and caches: the efficiency measured here is a floor
for separate machines, and the reduction runs through shared memory, not a network. Prints a
table and writes benchmarks/results/distributed.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import (
    child_env,
    default_data_dir,
    limit_threads,
    machine,
    print_table,
    write_json,
)

NETS = {
    "mlp": ("the book's MLP, 784-50-10 ReLU", 100),
    "conv": ("the book's SimpleConvNet (ch07)", 100),
    "deep": ("the book's DeepConvNet (ch08)", 100),
}
"""Net -> (what it is, the book's global batch)."""


def build(net: str) -> Any:
    """The net, float32, seed 0, on NumPy."""
    kw = {"dtype": "float32", "seed": 0}
    if net == "mlp":
        from nnxp.models.two_layer import TwoLayerNet

        return TwoLayerNet(784, 50, 10, activation="relu", **kw)
    from nnxp.models.conv import DeepConvNet, SimpleConvNet

    return SimpleConvNet(**kw) if net == "conv" else DeepConvNet(**kw)


def data(images: bool) -> tuple[np.ndarray, np.ndarray]:
    """10,000 training images of MNIST (random ones of its shape when it is absent)."""
    if Path(default_data_dir(), "train-images-idx3-ubyte.gz").is_file():
        from nnxp.datasets import load_mnist

        (x, t), _ = load_mnist(flatten=not images, data_dir=default_data_dir())
        return x[:10_000], t[:10_000]
    rng = np.random.default_rng(0)  # no MNIST here: the same shapes, random
    shape = (1, 28, 28) if images else (784,)
    return rng.random((10_000, *shape), dtype=np.float32), rng.integers(0, 10, 10_000)


def worker(args: argparse.Namespace) -> None:
    """One process of a timed job: rank 0 prints one JSON line."""
    from nnxp.distributed import init
    from nnxp.train import Trainer
    from nnxp.train.distributed import DataParallel

    comm = init()
    limit_threads(1)
    x, t = data(args.net != "mlp")

    def trainer(parallel: bool) -> Trainer:
        net = build(args.net)
        return Trainer(net, x, t, x[:100], t[:100], mini_batch_size=args.batch,
                       optimizer="sgd", optimizer_param={"lr": 0.01}, seed=0, verbose=False,
                       iters=10 ** 6, callbacks=[DataParallel(comm)] if parallel else [])

    def time_steps(tr: Trainer, parallel: bool) -> tuple[list[float], list[float]]:
        if parallel:
            tr._call("on_train_begin")
        indices = tr._batch_indices(tr.iter_per_epoch)
        steps, shares = [], []
        bs = tr.batch_size
        for repeat in range(args.repeats + 1):  # the first is the warm-up
            comm.mpi.Barrier()
            reduced = comm.seconds
            start = time.perf_counter()
            for i in range(args.steps):
                j = (repeat * args.steps + i) % tr.iter_per_epoch
                tr.step(indices[j * bs:(j + 1) * bs])
            tr._flush(1)
            elapsed = (time.perf_counter() - start) / args.steps
            if repeat:
                steps.append(elapsed)
                shares.append((comm.seconds - reduced) / args.steps)
        return steps, shares

    comm.timing = True
    result: dict[str, Any] = {"ranks": comm.size, "batch": args.batch,
                              "per_process": args.batch // comm.size}
    if comm.size == 1:
        plain, _ = time_steps(trainer(False), False)
        result["plain_step_s"] = statistics.median(plain)
    steps, reduce = time_steps(trainer(True), True)
    result.update(step_s=statistics.median(steps), allreduce_s=statistics.median(reduce),
                  step_samples_s=steps, message_bytes=comm.bytes // max(comm.calls, 1))
    if comm.rank == 0:
        print(json.dumps(result), flush=True)


def run_job(net: str, ranks: int, batch: int, args: argparse.Namespace) -> dict[str, Any]:
    """Start one timed job and return rank 0's result."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    command = [str(mpiexec), "-n", str(ranks), sys.executable, "-m", "benchmarks.distributed",
               "--worker", "--net", net, "--batch", str(batch), "--steps", str(args.steps),
               "--repeats", str(args.repeats)]
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(),
                          timeout=1800, stdin=subprocess.DEVNULL)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="mlp,conv,deep")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--net", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--out", help="write the JSON here instead of benchmarks/results/")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows, results = [], {}
    for net in args.nets.split(","):
        what, batch = NETS[net]
        one = run_job(net, 1, batch, args)
        strong = run_job(net, 2, batch, args)
        weak = run_job(net, 2, 2 * batch, args)
        results[net] = {"net": what, "n1": one, "n2_strong": strong, "n2_weak": weak}
        for label, r, ideal in (("N=1", one, one["step_s"]),
                                (f"N=2, batch {batch} split", strong, one["step_s"] / 2),
                                (f"N=2, batch {2 * batch}", weak, one["step_s"])):
            rows.append({
                "net": net, "job": label, "per process": r["per_process"],
                "step ms": 1e3 * r["step_s"], "allreduce ms": 1e3 * r["allreduce_s"],
                "allreduce share": f"{100 * r['allreduce_s'] / r['step_s']:.1f}%",
                "message kB": r["message_bytes"] / 1e3,
                "efficiency": f"{100 * ideal / r['step_s']:.0f}%",
                "vs no DataParallel": (f"{r['step_s'] / one['plain_step_s']:.3f}x"
                                       if r is one else ""),
            })
    print_table(rows, ["net", "job", "per process", "step ms", "allreduce ms", "allreduce share",
                       "message kB", "efficiency", "vs no DataParallel"])
    payload = {"machine": machine(libraries=("numpy", "mpi4py", "mpich")),
               "settings": {"steps": args.steps, "repeats": args.repeats, "dtype": "float32",
                            "threads_per_process": 1, "engine": "MPI (host buffers)"},
               "results": results, "table": rows}
    print(f"wrote {write_json('distributed', payload, args.out)}")


if __name__ == "__main__":
    main()
