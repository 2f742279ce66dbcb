"""The chapter-5 net on every usable CPU backend from one seed: its initial weights and its
float64 loss curve over the first steps, each against NumPy's.

    python -m benchmarks.backend_agreement [--data-dir DIR] [--dataset NAME] [--steps 100]
                                          [--out FILE]

Prints one line per backend and writes benchmarks/results/backend_agreement.json with the
machine. (Times per iteration are what ``nnxp train`` prints at the end of a run.)
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.harness import machine, write_json
from nnxp.backends import available_backends, to_numpy
from nnxp.datasets import load_dataset
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import Trainer

BACKENDS = ("numpy", "torch", "array_api_strict")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--dataset", default="auto")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None,
                        help="JSON file to write (default: benchmarks/results/backend_agreement.json)")
    args = parser.parse_args(argv)
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
    payload = {
        "dataset": name, "dtype": "float64", "steps": args.steps, "seed": args.seed,
        "rows": rows,
        "first_losses_float64": reference["losses"][:5].tolist(),
        "machine": machine(libraries=BACKENDS),
    }
    path = write_json("backend_agreement", payload, out=args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
