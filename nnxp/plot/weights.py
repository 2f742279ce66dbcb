"""A trained net for a figure (``--weights``): an nnxp model file (``nnxp train --save``) or
one of the book's pickles, told apart by the file's first bytes; the book's architecture is
recognised from the pickle's parameter shapes. Without ``--weights``, the book's own file
under ``$NNXP_BOOK_DIR`` (see :func:`nnxp.companion.book_file`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnxp.errors import ModelFileError, NnxpError

ZIP_MAGIC = b"PK"
CLASS_NAMES = {"ch03": "the chapter-3 sample network", "ch07": "SimpleConvNet",
               "ch08": "DeepConvNet"}


def _shapes(arrays: dict[str, Any]) -> str:
    return ", ".join(f"{key} {tuple(a.shape)}" for key, a in sorted(arrays.items())[:3])


def weights_path(weights: str | os.PathLike[str] | None, default: str,
                 option: str = "--weights") -> Path:
    """``weights`` when given, else the book's file ``default`` (such as "ch07/params.pkl")
    under ``$NNXP_BOOK_DIR``, or a one-line NnxpError saying how to get it."""
    from nnxp import companion

    return Path(weights) if weights is not None else companion.book_file(default, None, option)


def load_trained_net(
    path: str | os.PathLike[str],
    archs: Sequence[str],
    *,
    backend: Any = "numpy",
    dtype: str = "float32",
    option: str = "--weights",
) -> tuple[Any, str]:
    """``(net, words)``: the net in the file ``path``, a model file or a book pickle of one
    of ``archs`` ("ch03", "ch07", "ch08"); ``words`` says what was loaded, for a report.
    Anything else is a one-line NnxpError naming ``option``."""
    from nnxp import book_weights
    from nnxp.files import open_input
    from nnxp.io import MAX_FILE_BYTES, load_model

    path = Path(path)
    with open_input(path, f"{option} file", MAX_FILE_BYTES, "", ModelFileError) as f:
        head = f.read(4)
    if head.startswith(ZIP_MAGIC):
        net, meta = load_model(path, backend=backend, dtype=dtype)
        return net, f"{meta['model']['model']} model file {path}"
    arrays = book_weights.load_pickled_arrays(path)
    for arch in archs:
        params = book_weights.book_network(arch).params
        if set(arrays) == set(params) and all(
                tuple(arrays[k].shape) == tuple(params[k].shape) for k in params):
            net = book_weights.load_book_weights(path, arch, backend=backend, dtype=dtype)
            return net, f"{CLASS_NAMES.get(arch, arch)} from the book's {path}"
    wanted = " or ".join(f"{CLASS_NAMES.get(a, a)} ({book_weights.BOOK_ARCHS[a].split('(')[-1]}"
                         for a in archs)
    raise ModelFileError(f"{option} {path} holds {_shapes(arrays)}..., not the weights of "
                         f"{wanted}: name the right file")


def conv_filters(net: Any, where: str, option: str = "--weights") -> Any:
    """The first-layer filters W1 (FN, C, FH, FW) of a conv net, host NumPy; a one-line
    NnxpError for a net without them."""
    from nnxp.backends import to_numpy

    if "W1" not in net.params or net.params["W1"].ndim != 4:
        shape = tuple(net.params["W1"].shape) if "W1" in net.params else None
        raise NnxpError(f"{option}: {where} has no convolution filters (its W1 is {shape}); "
                        "name a conv net: `nnxp train --model simple-conv --save FILE` or "
                        "the book's ch07/params.pkl")
    return to_numpy(net.params["W1"])
