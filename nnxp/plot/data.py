"""What a figure reads, kept apart from what it writes: the MNIST splits through
:func:`nnxp.datasets.load_dataset` (``--dataset``, ``--data-dir``) and the files a user names
(``--weights``, ``--image``), each checked against the figure's output before work starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from nnxp.files import distinct_outputs

Report = Callable[[str], None] | None
"""The progress callable a figure may take: one line per call (None: silent)."""


def data_folders(data_dir: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The folders MNIST may be read from (``--data-dir``, ``NNXP_DATA_DIR``, the cache):
    no output may lie inside one of them."""
    from nnxp.datasets.cache import cache_dir

    return {"--data-dir": data_dir, "NNXP_DATA_DIR": os.environ.get("NNXP_DATA_DIR") or None,
            "the data cache": str(cache_dir())}


def check_output(path: str | os.PathLike[str], inputs: Mapping[str, Any] = {}) -> None:  # noqa: B006
    """Refuse, in one line, an output ``path`` that cannot be written, that is one of the
    ``inputs`` (option -> path, None for absent) or that lies inside an input folder."""
    distinct_outputs({"-o": path}, inputs)


def load_splits(
    path: str | os.PathLike[str],
    dataset: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    normalize: bool = True,
    flatten: bool = True,
    inputs: Mapping[str, Any] = {},  # noqa: B006
    report: Report = None,
) -> tuple[Any, str]:
    """``(((x_train, t_train), (x_test, t_test)), dataset name)`` for a figure that writes
    ``path``: the output is checked against the data folders and ``inputs`` first, then the
    dataset is loaded (integer labels; a progress bar when ``report`` is given)."""
    from nnxp import datasets

    check_output(path, {**inputs, **data_folders(data_dir)})
    return datasets.load_dataset(dataset, data_dir=data_dir, normalize=normalize,
                                 flatten=flatten, one_hot_label=False,
                                 progress=report is not None)
