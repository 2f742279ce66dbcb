"""Hostile data folders, MNIST files and caches: each one DatasetError line (exit 2 at the
CLI), never another exception, a hang or a flood of memory; a bad processed cache is rebuilt
with one warning, an unwritable one only costs time; nothing is changed where an error was
reported. Everything is seeded and small: the whole module takes a few seconds."""

from __future__ import annotations

import gzip
import os
import signal
import stat
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from nnxp.datasets import cache, download, load_dataset, load_mnist, mnist, subset
from nnxp.errors import DatasetError
from tests.adversarial.conftest import SEED, assert_refused, cli, cli_process, snapshot
from tests.test_datasets_idx import idx_bytes

NAMES = mnist.MNIST_FILES
KEYS = list(NAMES)
TRAIN = ["train", "--dataset", "mnist", "--iters", "1", "--quiet"]
LOAD_SECONDS = 20
"""No load of a hostile folder may take longer (an alarm turns a hang into a failure)."""
PEAK = 256 * 2**20


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh cache, no data folder from the environment, mirrors that refuse at once."""
    monkeypatch.setenv("NNXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NNXP_DATA_DIR", raising=False)
    monkeypatch.setenv("NNXP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setattr(download, "RETRIES", 0)


def synthetic(seed: int = SEED) -> dict[str, np.ndarray]:
    """Tiny MNIST-shaped arrays: 12 training and 6 test images, labels 0-9."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "t_train": (np.arange(12) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "t_test": (np.arange(6) % 10).astype(np.uint8),
    }


def write_folder(folder: Path, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """The four gz files of ``arrays`` (default :func:`synthetic`) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in (arrays or synthetic()).items():
        (folder / f"{NAMES[key]}.gz").write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    return folder


def _zeros_gz(megabytes: int) -> bytes:
    """A gz stream of ``megabytes`` MiB of zeros, about 1 kB per MiB (gzip members join)."""
    return gzip.compress(bytes(2**20), mtime=0) * megabytes


def _bomb(key: str) -> bytes:
    """A small gz whose header claims, and whose data would decompress to, more than an MNIST
    file can hold: 1.5 GB of images (from 1.6 MB), 2 MB of labels (from 2 kB)."""
    if key.startswith("x"):
        head = b"\x00\x00\x08\x03" + struct.pack(">3I", 2_000_000, 28, 28)
        return gzip.compress(head, mtime=0) + _zeros_gz(1500)
    head = b"\x00\x00\x08\x01" + struct.pack(">I", 2_000_000)
    return gzip.compress(head, mtime=0) + _zeros_gz(2)


def _tail_bomb(key: str) -> bytes:
    """A gz whose header claims the right little data, followed by 900 MiB of zeros."""
    return gzip.compress(idx_bytes(synthetic()[key]), mtime=0) + _zeros_gz(900)


def _need_root_for_mknod() -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a character device needs root")


def make(kind: str, path: Path, key: str) -> None:
    """Put the hostile thing ``kind`` where the MNIST file ``key`` should be."""
    good = gzip.compress(idx_bytes(synthetic()[key]), mtime=0)
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        _need_root_for_mknod()
        try:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        except PermissionError as exc:
            pytest.skip(f"mknod refused here: {exc}")
    elif kind == "dangling":
        os.symlink(path.parent / "nowhere.gz", path)
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "bomb":
        path.write_bytes(_bomb(key))
    elif kind == "tail-bomb":
        path.write_bytes(_tail_bomb(key))
    elif kind == "magic":
        path.write_bytes(gzip.compress(b"PK\x03\x04" + idx_bytes(synthetic()[key])[4:]))
    elif kind == "zero":
        empty = np.zeros((0, 28, 28) if key.startswith("x") else 0, np.uint8)
        path.write_bytes(gzip.compress(idx_bytes(empty), mtime=0))
    elif kind == "count":
        more = np.concatenate([synthetic()[key]] * 2)
        path.write_bytes(gzip.compress(idx_bytes(more), mtime=0))
    elif kind == "dims":
        flat = synthetic()[key].reshape(len(synthetic()[key]), -1)
        path.write_bytes(gzip.compress(idx_bytes(flat[:, :100].copy()), mtime=0))
    else:
        raise AssertionError(kind)


PROBLEMS = {
    "fifo": "is a FIFO",
    "chardev": "is a character device",
    "dangling": "does not exist",
    "loop": "symbolic links",
    "directory": "is a directory",
    "empty": "shorter than the 4-byte IDX magic",
    "truncated": "damaged gzip data",
    "bomb": "allowed",
    "tail-bomb": "more data follows",
    "magic": "is not IDX",
    "zero": "0 images",
    "count": "labels for",
    "dims": "not the Nx28x28 expected",
}
"""Each hostile kind and the words its one-line error must hold."""


class _Hang(BaseException):
    pass


def _load(**kwargs: object) -> tuple[object, int]:
    """load_mnist's result or the exception it raised, and its peak traced memory; an alarm
    turns a hang into a failure."""

    def alarm(signum, frame):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(LOAD_SECONDS)
    tracemalloc.start()
    try:
        result: object = load_mnist(normalize=False, **kwargs)
    except _Hang:
        pytest.fail(f"load_mnist({kwargs}) ran past {LOAD_SECONDS} s")
    except Exception as exc:  # every one is checked by the caller
        result = exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


def _assert_dataset_error(result: object, *needles: str) -> str:
    assert isinstance(result, DatasetError), repr(result)
    message = str(result)
    assert "\n" not in message and "Traceback" not in message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


# Hostile MNIST files, through the library ---------------------------------------------------


def _expected_problem(kind: str, key: str) -> str:
    if kind == "count" and key.startswith("x"):
        return "labels for"
    if kind == "dims" and key.startswith("t"):
        return "not the N expected"
    if kind == "zero" and key.startswith("t"):
        return "labels for"
    return PROBLEMS[kind]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("kind", list(PROBLEMS))
def test_hostile_mnist_file_is_one_dataset_error(tmp_path, kind, key):
    folder = write_folder(tmp_path / "data")
    path = folder / f"{NAMES[key]}.gz"
    make(kind, path, key)
    before = snapshot(folder)
    result, peak = _load(data_dir=folder)
    _assert_dataset_error(result, _expected_problem(kind, key))
    assert peak < PEAK, f"{kind} {key}: peak {peak / 2**20:.0f} MiB"
    if kind == "count" or (kind == "zero" and key.startswith("t")):
        return  # a mismatch is named on the label file: the pair is at fault
    assert NAMES[key] in str(result)
    assert snapshot(folder) == before


def test_uncompressed_name_is_preferred_so_a_fifo_there_is_named(tmp_path):
    """A FIFO under the raw name beside a good gz is reported, not skipped silently."""
    folder = write_folder(tmp_path / "data")
    os.mkfifo(folder / NAMES["t_test"])
    result, _ = _load(data_dir=folder)
    _assert_dataset_error(result, "is a FIFO", NAMES["t_test"])


@pytest.mark.parametrize("key", ["x_train", "t_test"])
def test_fifo_never_hangs_the_cli(workdir, key):
    folder = write_folder(workdir / "data")
    make("fifo", folder / f"{NAMES[key]}.gz", key)
    before = snapshot(folder)
    result = cli_process([*TRAIN, "--data-dir", folder], timeout=60)
    assert_refused(result, "is a FIFO", NAMES[key])
    assert snapshot(folder) == before


# The data folder itself ----------------------------------------------------------------------


def _folder(kind: str, path: Path) -> None:
    if kind == "missing":
        return
    if kind == "file":
        path.write_text("not a folder")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling":
        os.symlink(path.parent / "nowhere", path)
    elif kind == "empty":
        path.mkdir()
    elif kind == "three":
        write_folder(path)
        (path / f"{NAMES['t_test']}.gz").unlink()
    elif kind == "other-files":
        path.mkdir()
        (path / "README").write_text("no MNIST here")


FOLDERS = {
    "missing": "does not exist; fix the path",
    "file": "is a file, not a folder",
    "fifo": "is a FIFO (named pipe), not a folder",
    "dangling": "symbolic link to",
    "empty": "holds none of the four MNIST files",
    "three": "holds only 3 of the four MNIST files (missing t10k-labels-idx1-ubyte[.gz])",
    "other-files": "holds none of the four MNIST files",
}


@pytest.mark.parametrize("dataset", ["mnist", "auto"])
@pytest.mark.parametrize("kind", list(FOLDERS))
def test_bad_data_folder_is_one_line_and_never_a_download(
    tmp_path, monkeypatch, kind, dataset
):
    folder = tmp_path / "data"
    _folder(kind, folder)
    monkeypatch.setattr(download, "probe", lambda *a, **k: pytest.fail("probed the network"))
    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("downloaded"))
    with pytest.raises(DatasetError) as info:
        load_dataset(dataset, data_dir=folder, progress=False,
                     warn=lambda m: pytest.fail(f"fell back: {m}"))
    _assert_dataset_error(info.value, FOLDERS[kind], str(folder), "(from --data-dir)")


def test_junk_data_dir_from_the_environment_is_named(tmp_path, monkeypatch):
    junk = tmp_path / "a-file"
    junk.write_text("x")
    for value, problem in ((str(junk), "is a file, not a folder"), ("\x01\x7f~junk", "does not exist")):
        monkeypatch.setenv("NNXP_DATA_DIR", value)
        with pytest.raises(DatasetError) as info:
            load_dataset("auto", warn=lambda m: pytest.fail(f"fell back: {m}"))
        _assert_dataset_error(info.value, problem, "(from NNXP_DATA_DIR)")


def test_unreadable_data_folder_is_named(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any folder: no unreadable folder to test with")
    folder = write_folder(tmp_path / "data")
    folder.chmod(0)
    try:
        result, _ = _load(data_dir=folder)
    finally:
        folder.chmod(0o700)
    _assert_dataset_error(result, "cannot read data directory", "Permission denied")


def test_data_dir_with_the_offline_subset_is_refused(tmp_path):
    folder = write_folder(tmp_path / "data")
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist-5k", data_dir=folder)
    _assert_dataset_error(info.value, "does not apply to --dataset mnist-5k", "drop --data-dir")


# A sample through the CLI ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "argv", "needles"),
    [
        ("dangling", TRAIN, ("does not exist", NAMES["x_test"])),
        ("magic", TRAIN, ("is not IDX", NAMES["x_test"])),
        ("zero", TRAIN, ("0 images",)),
        ("chardev", TRAIN, ("is a character device",)),
        ("empty-folder", TRAIN, ("holds none of the four MNIST files", "drop --data-dir")),
        ("empty-folder", ["train", "--iters", "1", "--quiet"], ("holds none",)),
        ("good", ["train", "--dataset", "mnist-5k", "--iters", "1", "--quiet"],
         ("does not apply to --dataset mnist-5k",)),
    ],
)
def test_cli_refuses_in_one_line_and_changes_nothing(workdir, setup, argv, needles):
    folder = workdir / "data"
    if setup == "empty-folder":
        folder.mkdir()
    else:
        write_folder(folder)
        if setup != "good":
            make(setup, folder / f"{NAMES['x_test']}.gz", "x_test")
    before = snapshot(workdir)
    assert_refused(cli([*argv, "--data-dir", folder]), *needles)
    assert snapshot(workdir) == before


# The processed cache --------------------------------------------------------------------------


def _npz(**arrays: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _huge_claim() -> bytes:
    """An npz whose x_train header claims 10^12 bytes, in a file of a few kB."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for key, array in synthetic().items():
            member = io.BytesIO()
            if key == "x_train":
                header = {"descr": "|u1", "fortran_order": False, "shape": (10**12,)}
                np.lib.format.write_array_header_1_0(member, header)
                member.write(bytes(100))
            else:
                np.save(member, array)
            archive.writestr(f"{key}.npy", member.getvalue())
    return buf.getvalue()


def _hostile_cache(kind: str, path: Path) -> None:
    good = synthetic()
    path.unlink(missing_ok=True)
    if kind == "labels-10":
        path.write_bytes(_npz(**dict(good, t_train=np.full(12, 10, np.uint8))))
    elif kind == "negative-labels":
        path.write_bytes(_npz(**dict(good, t_test=-np.ones(6, np.int8))))
    elif kind == "10x10":
        path.write_bytes(_npz(**dict(good, x_train=np.zeros((12, 10, 10), np.uint8))))
    elif kind == "float-images":
        path.write_bytes(_npz(**dict(good, x_test=np.full((6, 28, 28), 300.0))))
    elif kind == "counts":
        path.write_bytes(_npz(**dict(good, t_train=good["t_train"][:11])))
    elif kind == "zero":
        path.write_bytes(_npz(**dict(good, x_test=good["x_test"][:0], t_test=good["t_test"][:0])))
    elif kind == "object":
        objects = np.empty(12, dtype=object)
        objects[:] = [[i] for i in range(12)]
        path.write_bytes(_npz(**dict(good, t_train=objects)))
    elif kind == "truncated":
        path.write_bytes(_npz(**good)[:1000])
    elif kind == "wrong-keys":
        path.write_bytes(_npz(**{f"a{i}": a for i, a in enumerate(good.values())}))
    elif kind == "extra-key":
        path.write_bytes(_npz(**good, extra=np.zeros(3, np.uint8)))
    elif kind == "pickle":
        import pickle

        path.write_bytes(pickle.dumps(good))
    elif kind == "huge-claim":
        path.write_bytes(_huge_claim())
    elif kind == "encrypted":
        data = bytearray(_npz(**good))
        for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at >= 0:
                data[at + flags] |= 1  # the "encrypted" bit of each header
                at = data.find(signature, at + 4)
        path.write_bytes(bytes(data))
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling":
        os.symlink(path.parent / "nowhere.npz", path)
    else:
        raise AssertionError(kind)


CACHES = ["labels-10", "negative-labels", "10x10", "float-images", "counts", "zero", "object",
          "truncated", "wrong-keys", "extra-key", "pickle", "huge-claim", "encrypted", "fifo",
          "dangling"]


def _processed(folder: Path) -> Path:
    files = mnist.find_local(folder)[0]
    return cache.processed_path("mnist", cache.source_key("mnist", files.values()))


@pytest.mark.parametrize("kind", CACHES)
def test_hostile_cache_is_rebuilt_with_one_warning(tmp_path, capsys, kind):
    folder = write_folder(tmp_path / "data")
    good = synthetic()
    load_mnist(data_dir=folder)
    capsys.readouterr()
    path = _processed(folder)
    _hostile_cache(kind, path)
    result, peak = _load(data_dir=folder)
    assert not isinstance(result, BaseException), repr(result)
    (x, t), (x_test, t_test) = result
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), good["x_train"])
    np.testing.assert_array_equal(t, good["t_train"])
    np.testing.assert_array_equal(t_test, good["t_test"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nnxp: warning: the processed cache file")
    assert "invalid" in err and "rebuilding" in err and "Traceback" not in err
    assert peak < PEAK
    assert path.is_file() and not path.is_symlink()
    with np.load(path, allow_pickle=False) as rebuilt:
        np.testing.assert_array_equal(rebuilt["t_train"], good["t_train"])
    _, _ = _load(data_dir=folder)
    assert capsys.readouterr().err == ""


def test_directory_in_place_of_the_cache_costs_only_time(tmp_path, capsys):
    folder = write_folder(tmp_path / "data")
    load_mnist(data_dir=folder)
    path = _processed(folder)
    path.unlink()
    path.mkdir()
    capsys.readouterr()
    result, _ = _load(data_dir=folder)
    assert not isinstance(result, BaseException), repr(result)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and "invalid" in lines[0] and "cannot write" in lines[1]


@pytest.mark.parametrize("where", ["a-file", "/proc/nnxp-cache"])
def test_cache_dir_that_cannot_be_written_is_a_warning(tmp_path, monkeypatch, capsys, where):
    if where == "a-file":
        (tmp_path / "a-file").write_text("not a folder")
        where = str(tmp_path / "a-file")
    monkeypatch.setenv("NNXP_CACHE_DIR", where)
    folder = write_folder(tmp_path / "data")
    result, _ = _load(data_dir=folder)
    assert not isinstance(result, BaseException), repr(result)
    np.testing.assert_array_equal(result[1][1], synthetic()["t_test"])
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("nnxp: warning: cannot write the processed cache") and where in line


def test_cache_dir_a_file_through_the_cli(workdir, monkeypatch):
    """Training goes on (exit 0) with one warning line; the file is left as it was."""
    blocker = workdir / "cache-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NNXP_CACHE_DIR", str(blocker))
    folder = write_folder(workdir / "data")
    result = cli([*TRAIN, "--data-dir", folder, "--batch-size", "4"])
    assert result.code == 0, result.err
    assert result.err.count("nnxp: warning: cannot write the processed cache") == 1
    assert blocker.read_text() == "not a folder"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_cache_parts_are_removed_live_ones_kept(tmp_path):
    folder = write_folder(tmp_path / "data")
    target = _processed(folder)
    target.parent.mkdir(parents=True)
    stale = Path(f"{target}.tmp{_dead_pid()}.deadbeef")
    live = Path(f"{target}.tmp{os.getpid()}.cafef00d")
    old_style = target.parent / "tmpab12cd34.tmp"
    for part in (stale, live, old_style):
        part.write_bytes(b"\0" * 12_000)
    os.utime(old_style, (1, 1))
    load_mnist(data_dir=folder)
    assert not stale.exists() and not old_style.exists()
    assert live.exists() and target.is_file()


def test_stale_download_parts_are_removed_fresh_ones_kept(tmp_path):
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    stale, fresh = folder / "tmpq1w2e3r4", folder / "tmpz9x8c7v6"
    for part in (stale, fresh):
        part.write_bytes(b"\0" * 1000)
    os.utime(stale, (1, 1))
    with pytest.raises(DatasetError, match="could not download"):
        download.fetch("t10k-labels-idx1-ubyte.gz", folder, progress=False)
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling"])
def test_non_regular_file_where_a_download_lands_is_named(tmp_path, kind):
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    path = folder / "t10k-labels-idx1-ubyte.gz"
    make(kind, path, "t_test")
    with pytest.raises(DatasetError) as info:
        download.fetch(path.name, folder, progress=False)
    _assert_dataset_error(info.value, str(path), "delete")


# The offline subset's data file -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("fifo", "is a FIFO"),
        ("dangling", "does not exist"),
        ("directory", "is a directory"),
        ("bomb", "decompresses to more than"),
        ("large", "more than the 8.0 MB"),
        ("truncated", "not a readable CSV"),
    ],
)
def test_hostile_subset_file_is_one_dataset_error(tmp_path, monkeypatch, kind, problem):
    path = tmp_path / "mnist_5k.csv.gz"
    row = b"0," * 784 + b"3\n"
    if kind == "bomb":
        path.write_bytes(_zeros_gz(80))
    elif kind == "large":
        path.write_bytes(np.random.default_rng(SEED).bytes(9_000_000))
    elif kind == "truncated":
        path.write_bytes(gzip.compress(row * 50)[:-20])
    else:
        make(kind, path, "t_test")
    monkeypatch.setattr(subset, "subset_file", lambda: path)
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist-5k")
    _assert_dataset_error(info.value, problem, str(path))
