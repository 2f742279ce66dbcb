"""The chapter-5 net on every usable CPU backend from one seed: its initial weights and its
float64 loss curve over the first steps, each against NumPy's.

    python benchmarks/backend_agreement.py [--data-dir DIR] [--dataset NAME] [--steps 100]

Prints one line per backend and writes benchmarks/results/backend_agreement.json with the
machine. (Times per iteration are what ``nnxp train`` prints at the end of a run.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np

from nnxp.backend import available_backends, to_numpy
from nnxp.datasets import load_dataset
from nnxp.nets import TwoLayerNet
from nnxp.train import Trainer

RESULTS = Path(__file__).parent / "results"
BACKENDS = ("numpy", "torch", "array_api_strict")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(backend: str, data, steps: int, seed: int) -> dict:
    """Train the default net in float64 for ``steps`` iterations: initial weights, losses."""
    (x, t), (xt, tt) = data
    net = TwoLayerNet(784, 50, 10, activation="relu", backend=backend, dtype="float64",
                      seed=seed)
    initial = {key: to_numpy(net.params[key]).copy() for key in net.params}
    trainer = Trainer(net, x, t, xt, tt, mini_batch_size=100, optimizer_param={"lr": 0.1},
                      iters=steps, seed=seed, verbose=False, evaluate_sample_num_per_epoch=1000)
    trainer.train()
    return {"initial": initial, "losses": np.asarray(trainer.train_loss_list)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--dataset", default="auto")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data, name = load_dataset(args.dataset, data_dir=args.data_dir, progress=False)
    backends = [b for b in BACKENDS if b in available_backends()]
    runs = {b: run(b, data, args.steps, args.seed) for b in backends}
    reference = runs["numpy"]
    rows = []
    for b in backends:
        weights = max(float(np.max(np.abs(runs[b]["initial"][k] - reference["initial"][k])))
                      for k in reference["initial"])
        curve = float(np.max(np.abs(runs[b]["losses"] - reference["losses"])))
        rows.append({"backend": b, "initial_weights_max_abs_diff": weights,
                     "loss_max_abs_diff": curve})
    for row in rows:
        print("  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row.items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "dataset": name, "dtype": "float64", "steps": args.steps, "seed": args.seed,
        "rows": rows,
        "first_losses_float64": reference["losses"][:5].tolist(),
        "machine": {"cpu": cpu_model(), "logical_cpus": os.cpu_count(),
                    "python": platform.python_version(), "platform": platform.platform()},
    }
    path = RESULTS / "backend_agreement.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
