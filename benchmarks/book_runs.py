"""The book's full conv-net trainings, run once with ``nnxp train`` and recorded.

    python -m benchmarks.book_runs ch7|ch8 [--data-dir DIR] [--threads 1] [--seed 0]

- ch7: SimpleConvNet, as the book's ch07/train_convnet.py (weight std 0.01).
- ch8: DeepConvNet, as the book's ch08/train_deepnet.py (He weights, dropout 0.5).

Both: Adam lr 0.001, batch 100, 20 epochs over the 60,000 MNIST training images (shuffled
each epoch), float32, NumPy; each epoch evaluated on the first 1,000 training and test
images (the book's evaluate_sample_num_per_epoch), the final accuracy on all 10,000 test
images. ``--dtype float64 --sampling replace`` is the book's own arithmetic and batch
drawing (its Trainer draws each batch with replacement; its weights are float64).

The command runs in a child process; its metrics (JSON lines), plot and summary go to
benchmarks/results/chN_<net>_cpu.{jsonl,png,json} (``_float64_replace`` for the book's
settings, ``_seedS`` for a seed other than 0) with the command, the commit, the machine and
its load. The book reports about 0.99 (chapter 7) and 0.9935 (chapter 8).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import RESULTS, ROOT, child_env, default_data_dir, load_average, machine

RUNS = {
    "ch7": {"model": "simple-conv", "name": "ch7_simple_conv_cpu", "book": 0.989,
            "what": "SimpleConvNet (conv 30x5x5 - relu - pool 2 - affine 100 - relu - "
                    "affine 10, weight std 0.01), the book's ch07/train_convnet.py"},
    "ch8": {"model": "deep-conv", "name": "ch8_deep_conv_cpu", "book": 0.9935,
            "what": "DeepConvNet (six 3x3 convs, three pools, affine 50 - dropout - affine 10 "
                    "- dropout, He weights), the book's ch08/train_deepnet.py"},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", choices=sorted(RUNS))
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                        help="float64: the book's own arithmetic")
    parser.add_argument("--sampling", default="shuffle", choices=["shuffle", "replace"],
                        help="replace: batches drawn with replacement, as the book's Trainer")
    args = parser.parse_args(argv)
    run = RUNS[args.run]
    variant = "" if (args.dtype, args.sampling) == ("float32", "shuffle") else (
        f"_{args.dtype}_{args.sampling}")
    stem = RESULTS / (run["name"] + variant + (f"_seed{args.seed}" if args.seed else ""))
    command = [
        sys.executable, "-m", "nnxp", "train", "--model", run["model"], "--optimizer", "adam",
        "--lr", "0.001", "--batch-size", "100", "--epochs", str(args.epochs),
        "--eval-samples", "1000", "--dtype", args.dtype, "--sampling", args.sampling,
        "--backend", "numpy",
        "--dataset", "mnist", "--data-dir", args.data_dir, "--seed", str(args.seed),
        "--threads", str(args.threads), "--metrics", f"{stem}.jsonl", "--plot", f"{stem}.png",
    ]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    load_start = load_average()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    epochs = [json.loads(line) for line in Path(f"{stem}.jsonl").read_text().splitlines()]
    final = re.search(r"final: test acc ([0-9.]+), train acc ([0-9.]+), loss ([0-9.]+)",
                      done.stdout)
    per_step = re.search(r"([0-9.]+) ms per iteration", done.stdout)
    summary = {
        "what": run["what"] + f"; Adam lr 0.001, batch 100, {args.sampling} sampling, "
                              f"{args.dtype}, NumPy",
        "command": "nnxp " + " ".join(command[3:]).replace(args.data_dir, "DATA_DIR"),
        "commit": commit,
        "seed": args.seed,
        "epochs": sum(1 for e in epochs if e["epoch"]),  # the first record is epoch 0, untrained
        "final": {"test_acc": float(final.group(1)), "train_acc": float(final.group(2)),
                  "train_loss": float(final.group(3))} if final else None,
        "book_test_acc": run["book"],
        "test_acc_per_epoch_first_1000": [e["test_acc"] for e in epochs],
        "epoch_seconds": [e["epoch_seconds"] for e in epochs],
        "ms_per_iteration": float(per_step.group(1)) if per_step else None,
        "seconds_total": round(seconds, 1),
        "output": done.stdout.strip().splitlines()[-4:],
        "load_average": {"start": load_start, "end": load_average()},
        "machine": machine(libraries=("numpy", "numba")),
    }
    Path(f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {stem}.json, .jsonl, .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
