"""Outputs are regular files or absent, distinct from each other and from every input, written
atomically; checked before training starts. The file system is the attacker here: devices,
FIFOs, symlinks, hard links, /proc, a full disk, a run killed mid-write."""

from __future__ import annotations

import errno
import itertools
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnxp import files
from nnxp.errors import NnxpError
from nnxp.io import read_model_file
from tests.adversarial.conftest import assert_refused, cli, snapshot

TRAIN = ["train", "--iters", "20", "--batch-size", "50", "--quiet"]
OUTPUTS = ("--save", "--metrics", "--plot")
NAMES = {"--save": "m.npz", "--metrics": "m.jsonl", "--plot": "m.png"}


def _refused_before_work(workdir, tiny_data, argv, *needles):
    before = snapshot(workdir)
    assert_refused(cli(argv), *needles)
    assert snapshot(workdir) == before, "an error was reported, yet files changed"
    assert tiny_data == [], "the data was loaded before the outputs were checked"


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(OUTPUTS, 2)))
@pytest.mark.parametrize("spelling", ["same", "dot", "dotdot", "absolute", "symlink", "hardlink"])
def test_two_outputs_naming_one_file_are_refused(workdir, tiny_data, first, second, spelling):
    (workdir / "sub").mkdir()
    target = "m.out"
    (workdir / target).write_bytes(b"precious")
    other = {
        "same": target,
        "dot": f"./{target}",
        "dotdot": f"sub/../{target}",
        "absolute": str(workdir / target),
        "symlink": "link.out",
        "hardlink": "hard.out",
    }[spelling]
    if spelling == "symlink":
        os.symlink(target, workdir / "link.out")
    if spelling == "hardlink":
        os.link(workdir / target, workdir / "hard.out")
    _refused_before_work(workdir, tiny_data, [*TRAIN, first, target, second, other],
                         first, second, "each output needs its own file")


@pytest.mark.parametrize("option", OUTPUTS)
def test_an_output_inside_the_data_folder_or_the_cache_is_refused(workdir, tiny_data, option):
    data = workdir / "mnist"
    data.mkdir()
    (data / "train-images-idx3-ubyte.gz").write_bytes(b"data")
    _refused_before_work(workdir, tiny_data, [*TRAIN, "--data-dir", data, option,
                                              data / "train-images-idx3-ubyte.gz"],
                         "lies inside --data-dir")
    _refused_before_work(workdir, tiny_data, [*TRAIN, "--data-dir", data, option, data / "new"],
                         "lies inside --data-dir")
    cache = Path(os.environ["NNXP_CACHE_DIR"])
    cache.mkdir(exist_ok=True)
    _refused_before_work(workdir, tiny_data, [*TRAIN, option, cache / "x"],
                         "lies inside the data cache")


def _device(workdir) -> Path:
    node = workdir / "null-device"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("os.mknod needs root; /dev/null is tested instead")
    return node


@pytest.mark.parametrize("option", OUTPUTS)
@pytest.mark.parametrize("kind", ["devnull", "mknod", "fifo", "directory", "trailing-slash",
                                  "proc", "missing-dir", "symlink-to-device", "nul-byte",
                                  "empty"])
def test_an_output_that_is_not_a_regular_file_is_refused(workdir, tiny_data, option, kind):
    if kind == "devnull":
        path, needle = os.devnull, "character device"
    elif kind == "mknod":
        path, needle = str(_device(workdir)), "character device"
    elif kind == "fifo":
        os.mkfifo(workdir / "fifo")
        path, needle = "fifo", "FIFO"
    elif kind == "directory":
        (workdir / "d").mkdir()
        path, needle = "d", "is a directory"
    elif kind == "trailing-slash":
        path, needle = "newdir/", "names a directory"
    elif kind == "proc":
        path, needle = "/proc/x.npz", "cannot write"
    elif kind == "missing-dir":
        path, needle = "no/such/m.npz", "does not exist"
    elif kind == "symlink-to-device":
        os.symlink(os.devnull, workdir / "link")
        path, needle = "link", "character device"
    elif kind == "nul-byte":
        path, needle = "m\0.npz", "cannot write"
    else:
        path, needle = "", "empty"
    _refused_before_work(workdir, tiny_data, [*TRAIN, option, path], needle)
    assert not os.path.isfile(os.devnull)
    assert not (workdir / "newdir").exists()


def test_a_symlinked_output_keeps_its_link_and_gets_the_model(workdir, tiny_data):
    (workdir / "models").mkdir()
    os.symlink("models/real.npz", workdir / "m.npz")
    result = cli([*TRAIN, "--save", "m.npz"])
    assert result.code == 0, result.err
    assert (workdir / "m.npz").is_symlink()
    arrays, meta = read_model_file(workdir / "models" / "real.npz")
    assert set(arrays) == {"W1", "b1", "W2", "b2"} and meta["dtype"] == "float32"


def test_stale_temporaries_of_killed_runs_are_removed_and_live_ones_kept(workdir, tiny_data):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = workdir / f"m.npz.tmp{dead.stdout.strip()}.abcd1234"
    old_style = workdir / "m.npz.tmpq8z_x1"
    live = workdir / f"m.npz.tmp{os.getpid()}.feedbeef"
    for path in (stale, old_style, live):
        path.write_bytes(b"x" * 1000)
    old = time.time() - 2 * files.STALE_SECONDS
    os.utime(old_style, (old, old))
    assert cli([*TRAIN, "--save", "m.npz"]).code == 0
    assert not stale.exists() and not old_style.exists()
    assert live.exists(), "a temporary file of a running writer was removed"
    read_model_file(workdir / "m.npz")


def _fail_fsync(monkeypatch, code=errno.ENOSPC):
    def fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "fsync", fsync)


@pytest.mark.parametrize("option", OUTPUTS)
def test_a_full_disk_is_one_line_and_keeps_the_old_file(workdir, tiny_data, monkeypatch, option):
    path = workdir / NAMES[option]
    path.write_bytes(b"the previous run's file")
    _fail_fsync(monkeypatch)
    before = snapshot(workdir)
    assert_refused(cli([*TRAIN, option, path.name]), "No space left on device",
                   "free some space")
    assert snapshot(workdir) == before


def test_a_full_disk_in_plot_and_convert_is_one_line(workdir, monkeypatch):
    rng = np.random.default_rng(0)
    shapes = {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10),
              "b3": (10,)}
    arrays = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    (workdir / "book.pkl").write_bytes(pickle.dumps(arrays, protocol=2))
    before = snapshot(workdir)
    _fail_fsync(monkeypatch)
    assert_refused(cli(["plot", "activations", "-o", "a.png"]), "No space left on device")
    assert_refused(cli(["convert", "book.pkl", "--arch", "ch03", "-o", "m.npz"]),
                   "No space left on device")
    assert snapshot(workdir) == before


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 200 kB tmpfs (root only): a real full disk for the model file."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); injected ENOSPC "
                    "covers the same path")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_real_full_disk_is_one_line(workdir, tiny_data, small_tmpfs):
    (small_tmpfs / "filler").write_bytes(b"\0" * 150_000)
    result = cli(["train", "--iters", "20", "--batch-size", "50", "--quiet", "--model",
                  "multi-layer", "--hidden", "200", "200", "--save", small_tmpfs / "m.npz"])
    assert_refused(result, "No space left on device")
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["filler"]


def test_kill_9_mid_write_leaves_the_model_absent_or_whole(workdir):
    """Kill a training run at several moments; the model file is absent or complete, and the
    next run clears what the killed one left."""
    code = ("import sys, numpy as np; from nnxp import datasets; from tests.blobs import blobs\n"
            "def load(name='auto', **kw):\n"
            "    (x, t), (xt, tt) = blobs(n_train=2000, n_test=200, features=400, classes=10)\n"
            "    return ((x, t), (xt, tt)), 'mnist-5k'\n"
            "datasets.load_dataset = load\n"
            "from nnxp.cli import main\n"
            "sys.exit(main(['train', '--epochs', '400', '--batch-size', '100', '--quiet',"
            " '--model', 'multi-layer', '--hidden', '300', '300', '--save', 'm.npz']))\n")
    root = Path(__file__).parents[2]
    rng = np.random.default_rng(20261202)
    for delay in rng.uniform(1.5, 4.0, size=3):
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=workdir,
                                env={**os.environ, "PYTHONPATH": str(root)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        model = workdir / "m.npz"
        if model.exists():
            arrays, _ = read_model_file(model)
            assert arrays["W1"].shape == (400, 300)
    leftovers = [p for p in workdir.iterdir() if p.name.startswith("m.npz.tmp")]
    files.remove_stale_temps(workdir / "m.npz")
    assert not [p for p in leftovers if p.exists()]


def test_output_path_checks_in_the_library(tmp_path):
    with pytest.raises(NnxpError, match="names a directory"):
        files.output_path(f"{tmp_path}/new/")
    with pytest.raises(NnxpError, match="character device"):
        files.atomic_write_text(os.devnull, "x")
    assert files.output_path(tmp_path / "ok") == tmp_path / "ok"
    assert list(tmp_path.iterdir()) == []


def test_the_trainer_refuses_two_outputs_on_one_file(tmp_path):
    from nnxp.models.two_layer import TwoLayerNet
    from nnxp.train import Trainer
    from tests.blobs import blobs

    (x, t), (xt, tt) = blobs(n_train=100, n_test=20, features=8, classes=3)
    net = TwoLayerNet(8, 5, 3, backend="numpy", seed=0)
    with pytest.raises(NnxpError, match="save_path and metrics_path both name"):
        Trainer(net, x, t, xt, tt, save_path=tmp_path / "m", metrics_path=tmp_path / "m")
    with pytest.raises(NnxpError, match="character device"):
        Trainer(net, x, t, xt, tt, plot_path=os.devnull)
    assert list(tmp_path.iterdir()) == []
