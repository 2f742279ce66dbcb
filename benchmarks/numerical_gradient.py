"""The numerical gradient of TwoLayerNet(784, 50, 10), sigmoid, batch 100, float64: the book's
loop against nnxp's generic, Numba and vectorised paths, in one process.

The baseline is the book's own code written plainly in NumPy (its TwoLayerNet.loss and the
nditer loop of numerical_gradient). It and nnxp's generic loop cost the same for every
parameter element (two full forward passes each), so they are timed on a random subset of
elements (stratified over W1, b1, W2, b2 by size) and scaled to all 39,760. Numba's compile
time is measured in a child process with an empty cache directory, its cache-load time in a
child with the cache warm; warm times are medians in this process, paths that are compared
timed in turn, round by round (the machine is shared; its load drifts). Values are checked: every
path against the Numba result (on the subset for the loops). Prints a table, writes JSON to
benchmarks/results/numerical_gradient.json.

Data: a random batch of 100 from the first 10,000 MNIST training images when the IDX file is
found (--data-dir, NNXP_DATA_DIR, or ../shared/data/mnist), else random MNIST-like data
(81% zeros); the output says which.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import ROOT, child_env, interleaved_times, limit_threads, machine, write_json
from nnxp.datasets import load_mnist
from nnxp.datasets.mnist import MNIST_FILES
from nnxp.gradcheck import random_mnist_like
from nnxp.gradient import central_difference
from nnxp.models.two_layer import TwoLayerNet

H = 1e-4
SIZES = (784, 50, 10)


# The book's code (chapter 4), plainly in NumPy: the baseline.

def book_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def book_softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def book_cross_entropy_error(y, t):
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


def book_loss(params, x, t):
    a1 = np.dot(x, params["W1"]) + params["b1"]
    z1 = book_sigmoid(a1)
    a2 = np.dot(z1, params["W2"]) + params["b2"]
    return book_cross_entropy_error(book_softmax(a2), t)


def book_numerical_gradient(f, x, indices):
    """The book's loop over the elements ``indices`` (the book iterates all with nditer)."""
    grad = np.zeros_like(x)
    for idx in indices:
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + H
        fxh1 = f(x)
        x[idx] = tmp_val - H
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * H)
        x[idx] = tmp_val
    return grad


# Data.

def load_batch(data_dir: Path | None, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A random batch of the first 10,000 MNIST training images (pixels / 255, float64) from
    the first folder holding MNIST's files, else random MNIST-like data; and which it is."""
    candidates = [data_dir] if data_dir else []
    if os.environ.get("NNXP_DATA_DIR"):
        candidates.append(Path(os.environ["NNXP_DATA_DIR"]))
    candidates.append(ROOT.parent / "shared" / "data" / "mnist")
    rng = np.random.default_rng(seed)
    for folder in candidates:
        if not all((folder / f"{name}.gz").is_file() for name in MNIST_FILES.values()):
            continue
        count = 10_000
        (x, t), _ = load_mnist(normalize=False, data_dir=folder)
        pick = rng.choice(count, batch, replace=False)
        images = folder / f"{MNIST_FILES['x_train']}.gz"
        return x[pick] / 255.0, t[pick], f"MNIST {images} (random batch of the first 10,000)"
    x, t = random_mnist_like(batch, seed=seed)
    return x, t, "random MNIST-like data (81% zeros): no MNIST IDX files found"


CHILD = """
import time, numpy as np
t0 = time.perf_counter()
from nnxp.models.two_layer import TwoLayerNet
net = TwoLayerNet(784, 50, 10, dtype="float64", seed=0)
rng = np.random.default_rng(0)
x = rng.random((100, 784)) * (rng.random((100, 784)) < 0.19)
t = rng.integers(0, 10, 100)
t1 = time.perf_counter()
net.numerical_gradient(x, t, "jit")
t2 = time.perf_counter()
print(t2 - t1)
"""


def first_call_seconds(cache_dir: str | None) -> float:
    """The first jit call in a fresh process: with an empty cache dir it compiles."""
    env = child_env() if cache_dir is None else child_env(NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env,
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--subset", type=int, default=400,
                        help="parameter elements the loops are timed on (default 400)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed calls of every path, in turn (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--skip-compile", action="store_true",
                        help="do not measure the cold compile in a child process")
    parser.add_argument("--train-steps", type=int, default=30,
                        help="SGD steps timed for the chapter-4 estimate")
    parser.add_argument("--library-threads", type=int, default=1,
                        help="BLAS (via threadpoolctl) and torch threads for every path; "
                             "default 1: on a shared machine a second BLAS thread stalls on a "
                             "core another job holds; 0 leaves the libraries' own settings")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "numerical_gradient.json")
    args = parser.parse_args(argv)

    import numba

    if args.library_threads > 0:
        limits = limit_threads(args.library_threads, user_api="blas")
        if isinstance(limits["blas"], str):
            print(limits["blas"])
    x, t, data = load_batch(args.data_dir, args.batch, args.seed)
    net = TwoLayerNet(*SIZES, dtype="float64", seed=args.seed)
    params = {k: np.array(net.params[k]) for k in net.params}
    total = sum(p.size for p in params.values())
    rng = np.random.default_rng(args.seed + 1)
    subset = {}
    for key, p in params.items():
        k = max(1, round(args.subset * p.size / total))
        flat = rng.choice(p.size, min(k, p.size), replace=False)
        subset[key] = [np.unravel_index(i, p.shape) for i in flat]
    n_subset = sum(len(v) for v in subset.values())
    results: dict = {"data": data, "net": "TwoLayerNet(784, 50, 10), sigmoid, float64",
                     "batch": args.batch, "parameters": total, "subset": n_subset,
                     "rounds": args.rounds, "library_threads": args.library_threads}
    print(f"data: {data}")
    print(f"net: TwoLayerNet(784, 50, 10), sigmoid, float64, batch {args.batch}; "
          f"{total} parameters; loops timed on {n_subset} of them and scaled by "
          f"{total / n_subset:.1f}")

    # Numba's first call: compile (cold cache, child), cache load (child).
    compile_s = None
    if not args.skip_compile:
        with tempfile.TemporaryDirectory() as cache:
            compile_s = first_call_seconds(cache)
    first_call_s = first_call_seconds(None)

    def jit_on(n):
        def run():
            os.environ["NNXP_JIT_THREADS"] = str(n)
            return net.numerical_gradient(x, t, "jit")
        return run

    def baseline():
        """The book's loop over the subset, on its own copies of the parameters."""
        grads = {}
        for key, p in params.items():
            work = p.copy()
            local = dict(params, **{key: work})
            grads[key] = book_numerical_gradient(lambda _w, p=local: book_loss(p, x, t), work,
                                                 subset[key])
        return grads

    def generic():
        """nnxp's generic loop through net.params (netgrad.generic_numerical_gradient), subset."""
        grads = {}
        for key in net.params:
            grads[key] = central_difference(
                lambda _p: net.loss(x, t), net.params[key], indices=subset[key],
                on_change=lambda p, key=key: net.params.__setitem__(key, p))
        return grads

    def vectorized_on(vnet):
        be = vnet.backend
        xv, tv = be.asarray(x), be.asarray(t)
        return lambda: vnet.numerical_gradient(xv, tv, "vectorized")

    paths = {"baseline": baseline, "generic": generic, "jit": jit_on(1)}
    paths["vectorized_numpy"] = vectorized_on(net)
    try:
        import torch

        from nnxp.backends import get_backend

        tnet = TwoLayerNet(*SIZES, backend=get_backend("torch", dtype="float64"),
                           dtype="float64", seed=args.seed)
        paths["vectorized_torch"] = vectorized_on(tnet)
        results["torch_threads"] = torch.get_num_threads()
    except Exception as exc:  # torch missing: say so, measure the rest
        print(f"torch: skipped ({type(exc).__name__}: {exc})")
    # Every path once per round, rounds repeated: load changes fall on all paths alike.
    last: dict[str, Any] = {}
    times = interleaved_times(paths, args.rounds, results=last)
    median = {name: statistics.median(ts) for name, ts in times.items()}
    base_sub_s, base_grads = median["baseline"], last["baseline"]
    gen_sub_s, gen_grads = median["generic"], last["generic"]
    baseline_s = base_sub_s * total / n_subset
    generic_s = gen_sub_s * total / n_subset
    numba_s, numba_times = median["jit"], times["jit"]
    numba_grads = {k: np.asarray(v) for k, v in last["jit"].items()}
    vectorized = {}
    for name in ("numpy", "torch"):
        if f"vectorized_{name}" in last:
            vectorized[name] = (median[f"vectorized_{name}"],
                                {k: np.asarray(net.backend.to_numpy(v))
                                 for k, v in last[f"vectorized_{name}"].items()})

    # Agreement.
    def max_diff_subset(grads):
        return max(abs(float(grads[k][i]) - float(numba_grads[k][i]))
                   for k in subset for i in subset[k])

    agree = {
        "baseline_vs_numba_subset": max_diff_subset(base_grads),
        "generic_vs_numba_subset": max_diff_subset(gen_grads),
        **{f"vectorized_{name}_vs_numba": max(float(np.abs(g[k] - numba_grads[k]).max())
                                              for k in g)
           for name, (_, g) in vectorized.items()},
    }

    # Chapter 4 with numerical gradients: time SGD steps on fresh batches, scale to 10,000.
    train_net = TwoLayerNet(*SIZES, dtype="float64", seed=args.seed)
    steps = []
    pool_x, pool_t, _ = load_batch(args.data_dir, min(1000, 10 * args.batch), args.seed + 2)
    for s in range(args.train_steps):
        pick = np.random.default_rng(s).choice(pool_x.shape[0], args.batch, replace=False)
        start = time.perf_counter()
        grads = train_net.numerical_gradient(pool_x[pick], pool_t[pick])
        for key in train_net.params:
            train_net.params[key] = train_net.params[key] - 0.1 * grads[key]
        steps.append(time.perf_counter() - start)
    step_s = statistics.median(steps)

    # Numba threads, last: the thread pool, once started, slows torch in this process.
    counts = sorted({1, numba.config.NUMBA_NUM_THREADS})
    by_threads = interleaved_times({str(n): jit_on(n) for n in counts}, 3 * args.rounds)
    threads = {int(n): statistics.median(ts) for n, ts in by_threads.items()}
    os.environ.pop("NNXP_JIT_THREADS")

    rows = [
        ("book loop (NumPy), scaled", baseline_s, f"{n_subset} elements, scaled"),
        ("nnxp generic loop, scaled", generic_s, f"{n_subset} elements, scaled"),
        *[(f"nnxp vectorized ({name})", med, "full gradient")
          for name, (med, _) in vectorized.items()],
        ("nnxp jit (default: 1 thread)", numba_s, "full gradient"),
        *[(f"nnxp jit, {n} thread{'s' if n > 1 else ''}", threads[n],
           f"full gradient, {3 * args.rounds} rounds, measured last")
          for n in sorted(threads)],
    ]
    print()
    print(f"medians of {args.rounds} rounds, each path once per round, after a warm-up call; "
          f"BLAS and torch on {args.library_threads or 'their default'} thread(s)")
    print(f"{'path':<30} {'seconds':>10} {'vs book':>10}  what")
    for name, seconds, how in rows:
        print(f"{name:<30} {seconds:>10.4f} {baseline_s / seconds:>9.3g}x  {how}")
    if compile_s is not None:
        print(f"{'nnxp jit, first call, compile':<30} {compile_s:>10.2f}{'':>12}"
              "fresh process, empty Numba cache")
    print(f"{'nnxp jit, first call, cached':<30} {first_call_s:>10.2f}{'':>12}"
          "fresh process, cache on disk")
    print()
    print("max |difference| from the Numba result: "
          + ", ".join(f"{k} {v:.1e}" for k, v in agree.items()))
    estimate_min = 10_000 * step_s / 60
    print(f"chapter 4 (10,000 SGD steps with numerical gradients, lr 0.1, jit on 1 thread): "
          f"{step_s * 1e3:.1f} ms per step (median of {args.train_steps}) -> about "
          f"{estimate_min:.1f} minutes")

    results.update({
        "machine": {
            **machine(libraries=("numpy", "numba", "torch")),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "numba_threading_layer": numba.config.THREADING_LAYER,
        },
        "seconds": {
            "baseline_book_loop_scaled": baseline_s,
            "baseline_subset": base_sub_s,
            "generic_scaled": generic_s,
            "generic_subset": gen_sub_s,
            "numba_warm": numba_s,
            "numba_warm_by_threads": {str(n): v for n, v in threads.items()},
            "numba_warm_times": numba_times,
            "numba_compile_first_call": compile_s,
            "numba_cached_first_call": first_call_s,
            **{f"vectorized_{name}": med for name, (med, _) in vectorized.items()},
        },
        "speedup_vs_baseline": {name: baseline_s / seconds for name, seconds, _ in rows},
        "max_abs_difference": agree,
        "chapter4_estimate": {"step_seconds": step_s, "steps": 10_000,
                              "minutes": estimate_min, "steps_timed": args.train_steps},
    })
    write_json("numerical_gradient", results, out=args.out)
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
