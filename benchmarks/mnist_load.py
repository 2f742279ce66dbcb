"""How long load_mnist takes: first load (parse the gz files, write the processed cache)
against a cached load, beside the book's plain NumPy parse (gzip + frombuffer, no checks).

Reads the four MNIST files from --data-dir (default: NNXP_DATA_DIR, else ../shared/data/mnist
next to the repository), with a fresh temporary cache folder for every first load. Prints a
table of medians and writes JSON to benchmarks/results/mnist_load.json with the machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.harness import ROOT, child_env, default_data_dir, machine, median_time, write_json
from nnxp.datasets import load_mnist
from nnxp.datasets.mnist import MNIST_FILES


def book_parse(folder: Path) -> tuple:
    """The book's dataset/mnist.py on the gz files: gzip, frombuffer at fixed offsets, then
    normalize to float32 (what it does on a first run, before pickling)."""
    arrays = {}
    for key, name in MNIST_FILES.items():
        with gzip.open(folder / f"{name}.gz", "rb") as f:
            data = np.frombuffer(f.read(), np.uint8, offset=16 if key.startswith("x") else 8)
        arrays[key] = data.reshape(-1, 784) if key.startswith("x") else data
    x_train = arrays["x_train"].astype(np.float32) / 255.0
    x_test = arrays["x_test"].astype(np.float32) / 255.0
    return (x_train, arrays["t_train"]), (x_test, arrays["t_test"])


def fresh_process_load(folder: Path) -> None:
    """A new Python process importing nnxp and loading MNIST (a second run of a script)."""
    code = f"import nnxp; nnxp.load_mnist(data_dir={str(folder)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=default_data_dir(),
                        help="folder holding the 4 MNIST files")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each case")
    parser.add_argument("--out", default=None,
                        help="JSON file to write (default: benchmarks/results/mnist_load.json)")
    args = parser.parse_args(argv)
    folder = Path(args.data_dir).resolve()
    if not all((folder / f"{n}.gz").is_file() for n in MNIST_FILES.values()):
        print(f"mnist_load: skipped, the MNIST gz files are not in {folder}")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NNXP_CACHE_DIR"] = tmp

        def clear() -> None:
            for npz in Path(tmp).glob("processed/*.npz"):
                npz.unlink()

        load_mnist(data_dir=folder)
        book_parse(folder)
        cases = {
            "book plain parse (gzip + frombuffer, float32)": median_time(
                lambda: book_parse(folder), args.repeat
            ),
            "nnxp first load (checked parse, write cache)": median_time(
                lambda: load_mnist(data_dir=folder), args.repeat, setup=clear
            ),
        }
        load_mnist(data_dir=folder)
        cases["nnxp cached load, normalize=True (float32)"] = median_time(
            lambda: load_mnist(data_dir=folder), args.repeat
        )
        cases["nnxp cached load, normalize=False (uint8)"] = median_time(
            lambda: load_mnist(normalize=False, data_dir=folder), args.repeat
        )
        cases["new process: import nnxp + cached load"] = median_time(
            lambda: fresh_process_load(folder), args.repeat
        )

    first = cases["nnxp first load (checked parse, write cache)"][0]
    print(f"MNIST load times, median of {args.repeat} (data in {folder})")
    print(f"{'case':<48} {'median s':>9} {'vs first':>9}")
    for name, (median, _) in cases.items():
        print(f"{name:<48} {median:>9.3f} {first / median:>8.1f}x")
    info = machine()
    print(f"machine: {info['cpu']}, {info['logical_cpus']} threads, "
          f"numpy {info['versions']['numpy']}")
    report = {
        "benchmark": "mnist_load",
        "machine": info,
        "data_dir": str(folder),
        "repeat": args.repeat,
        "seconds": {name: {"median": m, "all": t} for name, (m, t) in cases.items()},
        "speedup_cached_vs_first": first / cases["nnxp cached load, normalize=True (float32)"][0],
    }
    path = write_json("mnist_load", report, out=args.out)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
