"""``nnxp eval``: a saved model's accuracy and confusion matrix on the test set."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from nnxp.argtypes import count
from nnxp.backends import BACKEND_NAMES, INFERENCE_DTYPES
from nnxp.cli.common import (
    EVAL_BATCH_IMAGES,
    THREADS_HELP,
    backend_hint,
    limit_threads,
    load_data,
    where,
)
from nnxp.errors import NnxpError
from nnxp.models.options import takes_images


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp eval`` to the subparsers."""
    parser = subparsers.add_parser("eval", help="score a saved model on the test set")
    parser.add_argument("--weights", required=True, type=Path, metavar="FILE")
    parser.add_argument("--backend", choices=BACKEND_NAMES, default="numpy")
    parser.add_argument("--device")
    parser.add_argument("--dtype", choices=INFERENCE_DTYPES,
                        help="cast the parameters and the data to this dtype and score in it "
                        "(default: the dtype the model was saved in); float16 halves memory "
                        "and is for evaluation and inference only")
    parser.add_argument("--dataset",
                        help="auto, mnist or mnist-5k (default: the one the model was "
                        "trained on)")
    parser.add_argument("--data-dir")
    parser.add_argument("--threads", type=count, default=1, metavar="N", help=THREADS_HELP)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Score a saved model on the test set: accuracy and confusion matrix."""
    import numpy as np

    from nnxp.io import load_model, output_size
    from nnxp.train import confusion_matrix, predict_labels

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with backend_hint():
            net, meta = load_model(args.weights, backend=args.backend, device=args.device,
                                   dtype=args.dtype)
    for warning in caught:
        print(f"nnxp eval: warning: {warning.message}", file=sys.stderr)
    data = meta.get("dataset", {})
    name = args.dataset or data.get("name", "auto")
    images = takes_images(net.model)
    (_, (x_test, t_test)), dataset = load_data(
        name, args.data_dir, quiet=args.json, normalize=bool(data.get("normalize", True)),
        flatten=not images,
    )
    expected = tuple(net.config["input_dim"]) if images else (int(net.config["input_size"]),)
    if tuple(x_test.shape[1:]) != expected:
        raise NnxpError(
            f"the model takes samples of shape {expected} but {dataset} has "
            f"{tuple(x_test.shape[1:])}; pick the dataset it was trained on with --dataset"
        )
    nonfinite: list[int] = []
    with limit_threads(args.threads), np.errstate(over="ignore", invalid="ignore"):
        predicted = predict_labels(net, x_test, EVAL_BATCH_IMAGES if images else 10_000,
                                   nonfinite=nonfinite)
    if sum(nonfinite):
        hint = "; evaluate in float32 (--dtype float32)" if net.dtype == "float16" else ""
        print(f"nnxp eval: warning: {sum(nonfinite)} of {len(x_test)} samples got scores that "
              f"are NaN or infinite in {net.dtype} (an overflow?){hint}", file=sys.stderr)
    labels = np.asarray(t_test).astype(np.int64).reshape(-1)
    classes = output_size(meta)
    if labels.size and int(labels.max()) >= classes:
        raise NnxpError(
            f"the model has {classes} classes but {dataset}'s labels go up to "
            f"{int(labels.max())}; score it on the data it was trained for"
        )
    confusion = confusion_matrix(labels, predicted, classes)
    correct = int(np.trace(confusion))
    accuracy = correct / max(labels.size, 1)
    if args.json:
        print(json.dumps({
            "accuracy": accuracy, "correct": correct, "total": int(labels.size),
            "confusion": confusion.tolist(), "dataset": dataset, "weights": str(args.weights),
            "backend": net.backend.name, "dtype": net.dtype,
        }))
        return 0
    print(f"{args.weights}: test accuracy {accuracy:.4f} ({correct} of {labels.size}) on "
          f"{dataset} with {where(net.backend)} {net.dtype}")
    width = max(5, len(str(int(confusion.max()))) + 1)
    print("confusion matrix (rows: true label, columns: predicted)")
    print("true" + "".join(f"{j:>{width}}" for j in range(classes)))
    for i, row in enumerate(confusion):
        print(f"{i:>4}" + "".join(f"{int(v):>{width}}" for v in row))
    return 0
