"""Running the book-companion scripts of ``examples/`` as a reader does, for the tests.

Each script runs in a child Python from its own folder (``cd examples/ch05 && python
buy_apple.py --quick --out DIR``), with this checkout first on PYTHONPATH and NNXP_BOOK_DIR
naming a folder laid out like the book's repository: the user's (``$NNXP_BOOK_DIR``), else
``../shared/data/book`` beside the project, else one :func:`make_book_dir` builds of random
weights in the book's shapes, so the scripts run on a machine without the book's files.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED_BOOK_DIR = ROOT.parent / "shared" / "data" / "book"
BOOK_FILES = ("ch03/sample_weight.pkl", "ch07/params.pkl", "ch08/deep_convnet_params.pkl",
              "dataset/lena_gray.png")
"""The book's data files the examples read (through NNXP_BOOK_DIR)."""
BOOK_WEIGHTS = {"ch03/sample_weight.pkl": ("ch03", np.float32),
                "ch07/params.pkl": ("ch07", np.float64),
                "ch08/deep_convnet_params.pkl": ("ch08", np.float64)}
"""Each pickle's architecture (nnxp.book_weights) and the dtype the book saved it in."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT = 60
"""Seconds one quick run may take."""


def example_scripts() -> list[Path]:
    """Every ``examples/chNN/NAME.py``, sorted."""
    return sorted(EXAMPLES.glob("ch*/*.py"))


def example_id(script: Path) -> str:
    """``chNN/NAME`` for ``examples/chNN/NAME.py``."""
    return f"{script.parent.name}/{script.stem}"


def holds_book_files(folder: str | os.PathLike[str] | None) -> bool:
    """Whether ``folder`` holds every file of :data:`BOOK_FILES`."""
    return bool(folder) and all((Path(folder) / name).is_file() for name in BOOK_FILES)


def find_book_dir() -> Path | None:
    """``$NNXP_BOOK_DIR`` when it holds the book's files, else ``../shared/data/book`` beside
    the project when that does, else None."""
    for folder in (os.environ.get("NNXP_BOOK_DIR"), SHARED_BOOK_DIR):
        if holds_book_files(folder):
            return Path(folder)
    return None


def png_bytes(pixels: np.ndarray) -> bytes:
    """An 8-bit PNG of ``pixels``: (H, W) grayscale or (H, W, 3) RGB, uint8."""
    height, width = pixels.shape[:2]
    color_type = 0 if pixels.ndim == 2 else 2
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def make_book_dir(folder: Path, seed: int = 0) -> Path:
    """A folder laid out like the book's repository: its three weight pickles (dicts of
    NumPy arrays in the book's shapes, written with the standard pickle module, random
    values at He scale) and 64x64 stand-ins for dataset/lena_gray.png and lena.png."""
    from nnxp.book_weights import book_network

    rng = np.random.default_rng(seed)
    for name, (arch, dtype) in BOOK_WEIGHTS.items():
        params = {}
        for key, value in book_network(arch).params.items():
            shape = tuple(value.shape)
            fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
            scale = np.sqrt(2.0 / fan_in) if len(shape) > 1 else 0.01
            params[key] = (scale * rng.standard_normal(shape)).astype(dtype)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(params, protocol=4))
    y, x = np.mgrid[0:64, 0:64]
    gray = np.where((x - 32) ** 2 + (y - 28) ** 2 < 300, 220, 4 * x).astype(np.uint8)
    (folder / "dataset").mkdir(exist_ok=True)
    (folder / "dataset" / "lena_gray.png").write_bytes(png_bytes(gray))
    rgb = np.stack([gray, 255 - gray, (4 * y).astype(np.uint8)], axis=-1)
    (folder / "dataset" / "lena.png").write_bytes(png_bytes(rgb))
    return folder


def listing(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, as paths relative to it."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@dataclass
class Run:
    """What a script did: its exit code, output and the figures it named."""

    returncode: int
    stdout: str
    stderr: str
    figures: list[Path]


def run_example(script: Path, out: Path, book_dir: Path, *args: str, quick: bool = True,
                timeout: float = TIMEOUT) -> Run:
    """Run ``script`` from its folder with ``[--quick] --out out *args``, as a reader would;
    ``figures`` are the paths of its ``figure: PATH`` lines (relative ones taken from the
    script's folder). Raises subprocess.TimeoutExpired after ``timeout`` seconds."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "NNXP_BOOK_DIR": str(book_dir), "MPLBACKEND": "Agg"}
    command = [sys.executable, script.name, *(["--quick"] if quick else []), "--out", str(out),
               *args]
    done = subprocess.run(command, cwd=script.parent, env=env, capture_output=True, text=True,
                          timeout=timeout)
    figures = [script.parent / line.removeprefix("figure: ").strip()
               for line in done.stdout.splitlines() if line.startswith("figure: ")]
    return Run(done.returncode, done.stdout, done.stderr, figures)


def is_png(path: Path) -> bool:
    """Whether ``path`` is a file that starts with the PNG signature."""
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
