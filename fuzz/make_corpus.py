"""Write the seed corpora: a few small valid inputs of each fuzzed format, one file each,
under fuzz/corpus/<target>/. Run from anywhere; deterministic (fixed seed)."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))


def _write(target: str, data: bytes) -> None:
    folder = ROOT / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def pickles() -> None:
    """Dicts of small arrays in every protocol: C, F, 0-d, empty, big-endian, OrderedDict."""
    from collections import OrderedDict

    rng = np.random.default_rng(0)
    arrays = {"W1": rng.standard_normal((3, 4)), "b1": np.zeros(4, np.float32),
              "F": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "s": np.array(1.5),
              "e": np.zeros((0, 2)), "big": np.arange(3, dtype=">i4"),
              "u": np.arange(4, dtype=np.uint8)}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        _write("pickle", pickle.dumps(arrays, protocol=protocol))
    _write("pickle", pickle.dumps(OrderedDict(W1=np.ones(2)), protocol=2))
    _write("pickle", pickle.dumps({"W1": np.ones((2, 3, 4)).transpose(1, 0, 2)}, protocol=5))


def model_files() -> None:
    """Model files of two tiny nets, as `nnxp train --save` writes them."""
    from nnxp.io import save_model
    from nnxp.models.multi_layer import MultiLayerNet

    with tempfile.TemporaryDirectory() as folder:
        for hidden in ([3], [2, 2]):
            path = Path(folder) / "m.npz"
            save_model(path, MultiLayerNet(4, hidden, 2, seed=0), {"dataset": {"name": "x"}})
            _write("model_file", path.read_bytes())


def idx_files() -> None:
    """IDX images and labels of each data type, raw and gzip-compressed."""
    codes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    for code, dtype in codes.items():
        shape = (2, 3, 3) if code == 0x08 else (4,)
        body = np.arange(int(np.prod(shape))).astype(dtype).tobytes()
        data = struct.pack(">BBBB", 0, 0, code, len(shape)) + struct.pack(
            f">{len(shape)}I", *shape) + body
        _write("idx", data)
        if code == 0x08:
            _write("idx", gzip.compress(data, mtime=0))


if __name__ == "__main__":
    pickles()
    model_files()
    idx_files()
    for target in sorted((ROOT / "corpus").iterdir()):
        files = list(target.iterdir())
        print(f"{target.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
