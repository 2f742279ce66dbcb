"""Distributed training under ``mpiexec -n 2`` (``nox -s tests-mpi``): the same result as one
process, the errors of a job in one line, and a job that loses a process mid-run.

Each test starts a job of two processes (``tests/mpi_worker.py`` on the library API, or
``nnxp train --distributed``) with a time limit, so a hang fails the test instead of the
session. Marked ``mpi`` (tests/conftest.py): other sessions leave this file out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnxp.io import load_model

HERE = Path(__file__).resolve().parent
WORKER = HERE / "mpi_worker.py"
MPIEXEC = Path(sys.executable).parent / "mpiexec"
LIMIT = 120
"""Seconds a job may take before the test calls it a hang."""

pytestmark = pytest.mark.skipif(
    not MPIEXEC.exists(), reason=f"no mpiexec beside {sys.executable}: pip install 'nnxp[mpi]'")


def job(*argv: str, n: int = 2, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess,
                                                                   float]:
    """Run ``argv`` as ``n`` processes under mpiexec (n = 0: one process, no mpiexec);
    returns the finished process and its seconds."""
    command = [str(MPIEXEC), "-n", str(n), *argv] if n else list(argv)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT, cwd=cwd,
                          stdin=subprocess.DEVNULL)
    return done, time.perf_counter() - start


def worker(out: Path, *options: str, n: int = 2) -> subprocess.CompletedProcess:
    """The worker alone (n = 0) or as a job of n processes; its records are out.RANK.json."""
    distributed = ("--distributed",) if n else ()
    done, _ = job(sys.executable, str(WORKER), str(out), *options, *distributed, n=n)
    return done


def records(out: Path, ranks: int) -> list[dict]:
    return [json.loads(Path(f"{out}.{r}.json").read_text()) for r in range(ranks)]


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("model", "backend"), [
    ("mlp", "numpy"), ("mlp", "array_api_strict"), ("conv", "numpy"), ("dropout", "numpy"),
    ("bn", "numpy"), ("bn", "array_api_strict"),
])
def test_two_processes_train_what_one_does(tmp_path: Path, model: str, backend: str) -> None:
    """N = 2 reproduces N = 1 in float64: every step's loss to 1e-6 (it is rounding, about
    1e-15), every accuracy exactly, the same weights on both ranks and as one process's.
    Dropout keeps its share of the whole batch's mask; batch norm sums its statistics over
    the processes (its running averages too come out as one process's)."""
    options = ("--model", model, "--backend", backend)
    one = worker(tmp_path / "one", *options, n=0)
    two = worker(tmp_path / "two", *options)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    (single,), (r0, r1) = records(tmp_path / "one", 1), records(tmp_path / "two", 2)
    assert len(single["loss"]) == len(r0["loss"]) == 100
    np.testing.assert_allclose(r0["loss"], single["loss"], rtol=0, atol=1e-6)
    assert r0["train_acc"] == single["train_acc"] and r0["test_acc"] == single["test_acc"]
    assert single["test_acc"][-1] > single["test_acc"][0] + 0.15  # it learned
    assert r0["params"] == r1["params"]  # bit-identical on every rank
    for key, value in [*single["params"].items(), *single["buffers"].items()]:
        np.testing.assert_allclose({**r0["params"], **r0["buffers"]}[key], value, rtol=0,
                                   atol=1e-6)
    assert bool(single["buffers"]) == (model == "bn")


def test_a_nan_on_one_rank_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    done = worker(tmp_path / "nan", "--fault", "nan", "--rank", "1", "--at", "25",
                  "--save", str(tmp_path / "m.npz"))
    assert done.returncode == 2
    r0, r1 = records(tmp_path / "nan", 2)
    assert r0["diverged_step"] == r1["diverged_step"] == 26  # the loss after the NaN update
    assert len(r0["loss"]) == len(r1["loss"]) == 25
    (line,) = lines(done.stderr)  # said once, by rank 0
    assert "step 26" in line and "keeps the model of epoch 2" in line


@pytest.mark.parametrize("fault", ["raise", "kill"])
def test_a_rank_that_fails_mid_run_ends_the_job_and_keeps_the_last_good_model(
        tmp_path: Path, fault: str) -> None:
    """Rank 1 raises (or is killed with SIGKILL) at step 25, in epoch 3: the job ends within
    seconds, not at the time limit; the model file holds epoch 2 and loads."""
    model = tmp_path / "m.npz"
    start = time.perf_counter()
    done = worker(tmp_path / "f", "--fault", fault, "--rank", "1", "--at", "25",
                  "--save", str(model))
    assert time.perf_counter() - start < 30
    assert done.returncode != 0
    if fault == "raise":  # a rank that raises says so in one line, naming itself
        assert lines(done.stderr) == ["error: rank 1 of 2: RuntimeError: injected fault at "
                                      "step 25"]
    else:  # a killed rank cannot speak: mpiexec reports the signal
        assert "signal 9" in done.stdout + done.stderr
    net, config = load_model(model)
    assert config["training"]["result"]["epochs"] == 2
    assert config["training"]["result"]["steps"] == 20
    assert not list(tmp_path.glob("f.*.json"))  # neither rank finished


def nnxp(*argv: str) -> list[str]:
    return [sys.executable, "-m", "nnxp", *argv]


TRAIN = ("train", "--dataset", "mnist-5k", "--train-size", "600", "--test-size", "300",
         "--iters", "30", "--batch-size", "20", "--dtype", "float64", "--optimizer", "momentum",
         "--lr", "0.05", "--seed", "2")


def test_the_command_line_job_matches_one_process(tmp_path: Path) -> None:
    """``mpiexec -n 2 nnxp train --distributed``: rank 0 alone prints and writes; its
    metrics and model equal one process's (loss to 1e-6, accuracies exactly)."""
    one, _ = job(*nnxp(*TRAIN, "--metrics", "one.jsonl", "--save", "one.npz"), n=0,
                 cwd=tmp_path)
    two, _ = job(*nnxp(*TRAIN, "--distributed", "--metrics", "two.jsonl", "--save", "two.npz",
                       "--quiet"), cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.jsonl", "one.npz", "two.jsonl",
                                                          "two.npz"]
    assert sum(line.startswith("final:") for line in two.stdout.splitlines()) == 1
    assert "allreduces of" in two.stdout  # the reductions' report, once
    a = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]
    b = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert [r["train_acc"] for r in a] == [r["train_acc"] for r in b]
    assert [r["test_acc"] for r in a] == [r["test_acc"] for r in b]
    np.testing.assert_allclose([r["train_loss"] or 0 for r in a], [r["train_loss"] or 0 for r in b],
                               rtol=0, atol=1e-6)
    net_a, _ = load_model(tmp_path / "one.npz")
    net_b, _ = load_model(tmp_path / "two.npz")
    for key in net_a.params:
        np.testing.assert_allclose(net_b.params[key], net_a.params[key], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("argv", "says"), [
    (("--distributed", "--batch-size", "15"),
     "the batch size 15 does not split evenly over 2 processes: use a multiple of 2, e.g. "
     "--batch-size 14 or 16"),
    ((), "started by mpiexec (MPICH, Intel MPI) as 2 processes but without --distributed"),
    (("--distributed", "--lr", "-1"), "learning rate must be a finite number > 0"),
    (("--distributed", "--batch-size", "many"), "argument --batch-size: 'many' is not an integer"),
])
def test_a_wrong_job_is_one_line_from_rank_0(tmp_path: Path, argv: tuple[str, ...],
                                             says: str) -> None:
    done, seconds = job(*nnxp(*TRAIN, *argv), cwd=tmp_path)
    assert done.returncode == 2
    (line,) = lines(done.stderr)
    assert line.startswith("nnxp train: error: ") and says in line, line
    assert "rank" not in line  # every rank met it alike: no rank to name
    assert not list(tmp_path.iterdir())


def test_a_setup_failing_on_one_rank_names_it_and_ends_every_rank(tmp_path: Path) -> None:
    """Rank 1 alone is given a data folder that does not exist (MPMD: a command per rank):
    rank 0, which loaded its data, does not wait forever for rank 1."""
    good = [*TRAIN, "--distributed", "--save", "m.npz"]
    command = [str(MPIEXEC), "-n", "1", *nnxp(*good), ":", "-n", "1",
               *nnxp(*good, "--dataset", "mnist", "--data-dir", str(tmp_path / "absent"))]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert time.perf_counter() - start < 60
    assert done.returncode == 2
    (line,) = lines(done.stderr)
    assert line.startswith("nnxp train: error: rank 1 of 2: "), line
    assert not (tmp_path / "m.npz").exists()


def test_a_launcher_environment_without_its_mpiexec_is_one_line_not_a_hang(tmp_path: Path) -> None:
    """PMI variables that no mpiexec of this MPI set (another MPI's launcher, a copied
    environment): each process would be a job of one; refused in one line."""
    import os

    env = {**os.environ, "PMI_SIZE": "2", "PMI_RANK": "0"}
    done = subprocess.run(nnxp(*TRAIN, "--distributed"), capture_output=True, text=True,
                          timeout=LIMIT, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    (line,) = lines(done.stderr)
    assert "started 2 processes but mpi4py's MPI sees 1" in line


def test_the_documented_loop_of_ones_own_gives_one_process_result(tmp_path: Path) -> None:
    """nnxp.distributed's docstring loop: init, broadcast_params (rank 1's own seed is
    overwritten), batch_share, average, the update; N = 2 equals N = 1."""
    script = str(HERE / "mpi_loop.py")
    for n in (1, 2):
        done, _ = job(sys.executable, script, str(tmp_path / f"n{n}.npy"), n=n)
        assert done.returncode == 0, done.stderr
    one, two = np.load(tmp_path / "n1.npy"), np.load(tmp_path / "n2.npy")
    assert one.shape == two.shape == (30 + 12 * 8 + 8 + 8 * 3 + 3,)
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-12)
    assert one[-1] != 0 and one[29] < one[0]  # trained: the loss fell
