"""Checked downloads of the MNIST gz files, failed over across mirrors.

pooch (what SciPy and scikit-image use) does the per-file work: it streams to a temporary
file in the cache folder, shows a tqdm progress bar, checks the digest and renames the file
into place only when it matches (deleting it otherwise), and re-fetches a cached file whose
digest no longer matches. What pooch lacks, and this module adds, is a list of mirrors for
one file (``pooch.retrieve`` takes one URL and has no retries; ``Pooch.retry_if_failed``
sleeps up to 10 s between tries of one base URL): each mirror is tried in turn, with a
short backoff between retries, skipping at once to the next on a 4xx answer.

The mirrors are the ones torchvision and TensorFlow use; ``NNXP_MNIST_MIRRORS`` (base URLs,
comma-separated) replaces them, so tests serve files from 127.0.0.1. pooch, and requests
with it, are imported only when a download is needed.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nnxp.datasets import cache
from nnxp.errors import DatasetError
from nnxp.files import dangling_link, file_kind

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""torchvision's mirror, then TensorFlow's (both serve the original gz files)."""

MNIST_DIGESTS: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": (
        "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}
"""The published digests of the mirrors' gz files, in pooch's ``algorithm:hex`` form.

sha256 where it is known; the mirrors' train-images file is checked by its published md5.
A module-level registry so that tests can serve small files of their own under these names.
"""

TIMEOUT: tuple[float, float] = (5.0, 30.0)
"""Seconds to connect, and to wait for each chunk of a transfer."""
RETRIES = 2
"""Retries per mirror after a failure that may be transient (never after a 4xx answer)."""
BACKOFF = 1.0
"""Seconds before the first retry, growing linearly."""
PROBE_TIMEOUT = 3.0
"""Seconds, in all, that :func:`probe` waits for any mirror to answer."""
PROBE_FILE = "t10k-labels-idx1-ubyte.gz"

_NETWORK_FIX = (
    "check the network (or set NNXP_MNIST_MIRRORS to mirrors you can reach), or put the four "
    "MNIST files in a folder and pass --data-dir or set NNXP_DATA_DIR"
)


def mirrors() -> list[str]:
    """The base URLs to try, in order: ``NNXP_MNIST_MIRRORS`` when set, else MIRRORS."""
    env = os.environ.get("NNXP_MNIST_MIRRORS", "")
    bases = [b.strip() for b in env.split(",") if b.strip()]
    return bases or list(MIRRORS)


def _url(base: str, fname: str) -> str:
    return base.rstrip("/") + "/" + fname


def _one_line(exc: object) -> str:
    """An exception's text on one line (errors and warnings here are one line each)."""
    return " ".join(str(exc).split())


def _check_target(path: Path) -> None:
    """Refuse, in one line, a non-regular file where a download lands: pooch would hash a
    FIFO there (blocking forever) or fail on a folder with a traceback."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        link = dangling_link(path)
        if link:
            raise DatasetError(f"{path} {link}; delete the link so that nnxp can download the "
                               "file there") from None
        return
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"cannot use {path} ({getattr(exc, 'strerror', None) or exc}); delete it or set "
            "NNXP_CACHE_DIR to a writable folder"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise DatasetError(
            f"{path} is {file_kind(st.st_mode)}, where nnxp keeps a downloaded file; delete it "
            "(or set NNXP_CACHE_DIR to another folder) so that nnxp can download it again"
        )


def fetch(
    fname: str,
    folder: Path,
    *,
    bases: Sequence[str] | None = None,
    digests: Mapping[str, str] | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    timeout: float | tuple[float, float] | None = None,
    progress: bool = True,
) -> Path:
    """``folder/fname``, downloaded unless already there with the right digest.

    Tries each mirror of ``bases`` (default :func:`mirrors`) in turn; the file is checked
    against ``digests[fname]`` (default MNIST_DIGESTS) and only a match lands in ``folder``.
    Download parts that killed runs left in ``folder`` are removed first (pooch names them
    as :mod:`tempfile` does: see :func:`~nnxp.datasets.cache.remove_stale_tempfiles`).
    Raises DatasetError listing what each mirror answered when none gave a good file.
    """
    import pooch
    import requests

    bases = mirrors() if bases is None else list(bases)
    known_hash = (MNIST_DIGESTS if digests is None else digests).get(fname)
    if known_hash is None:
        raise DatasetError(f"no known digest for {fname}; add it to the digest registry")
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF if backoff is None else backoff
    downloader = pooch.HTTPDownloader(
        progressbar=progress, timeout=TIMEOUT if timeout is None else timeout, chunk_size=1 << 16
    )
    _check_target(folder / fname)
    cache.remove_stale_tempfiles(folder)
    failures: list[str] = []
    for base in bases:
        url = _url(base, fname)
        answers: list[str] = []
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * attempt)
            try:
                path = pooch.retrieve(
                    url, known_hash, fname=fname, path=folder, downloader=downloader
                )
                return Path(path)
            except requests.HTTPError as exc:
                status = getattr(exc.response, "status_code", None)
                answers.append(f"HTTP {status}")
                if status is not None and 400 <= status < 500 and status not in (408, 429):
                    break
            except (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
            ) as exc:
                answers.append(f"bad URL ({_one_line(exc)})")
                break
            except requests.RequestException as exc:
                answers.append(type(exc).__name__)
            except ValueError as exc:
                if "does not match" not in str(exc):
                    raise DatasetError(f"{fname}: {_one_line(exc)}; fix the registry") from None
                answers.append("digest mismatch")
            except OSError as exc:
                raise DatasetError(
                    f"cannot write {folder / fname} ({_one_line(exc.strerror or exc)}); "
                    "set NNXP_CACHE_DIR to a writable folder"
                ) from None
        tries = f" ({len(answers)} tries)" if len(answers) > 1 else ""
        failures.append(f"{url}: {', '.join(dict.fromkeys(answers))}{tries}")
    tried = "; ".join(failures) or "no mirrors configured"
    raise DatasetError(f"could not download {fname} ({tried}); {_NETWORK_FIX}")


def download_mnist(
    folder: Path,
    files: Sequence[str] | None = None,
    **kwargs: Any,
) -> dict[str, Path]:
    """The MNIST gz files (default: every file of MNIST_DIGESTS) in ``folder``, each
    fetched as :func:`fetch` does (``kwargs`` are passed on)."""
    names = list(MNIST_DIGESTS) if files is None else list(files)
    return {name: fetch(name, folder, **kwargs) for name in names}


def probe(
    bases: Sequence[str] | None = None, *, timeout: float | None = None
) -> tuple[str | None, str]:
    """The first mirror that answers a HEAD request for a small MNIST file within
    ``timeout`` seconds in all (default PROBE_TIMEOUT), and a one-line reason when none does.

    Mirrors are asked at once, each from a daemon thread, and the answer is awaited with one
    deadline: name resolution has no timeout of its own, so a machine without network is
    never kept waiting longer than ``timeout``.
    """
    bases = mirrors() if bases is None else list(bases)
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    answers: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def ask(base: str) -> None:
        request = urllib.request.Request(_url(base, PROBE_FILE), method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answers.put(
                    (base, None if 200 <= response.status < 300 else f"HTTP {response.status}")
                )
        except Exception as exc:  # any failure means "not reachable", never a crash
            reason = getattr(exc, "reason", None) or exc
            answers.put((base, f"{type(exc).__name__}: {_one_line(reason)}"))

    for base in bases:
        threading.Thread(target=ask, args=(base,), daemon=True).start()
    deadline = time.monotonic() + timeout
    reasons: list[str] = []
    for _ in bases:
        try:
            base, reason = answers.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            reasons.append(f"no answer within {timeout:g} s")
            break
        if reason is None:
            return base, ""
        reasons.append(f"{urllib.parse.urlsplit(base).netloc or base}: {reason}")
    return None, "; ".join(reasons) or "no mirrors configured"
