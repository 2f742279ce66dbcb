"""What distributed training does without MPI: the launcher read from the environment, the
shares of a batch, the one flat reduction's packing (on every backend), Dropout's share of
a whole batch's mask, and ``nnxp train`` refusing a job that is half distributed. The jobs
themselves run under mpiexec in tests/test_mpi.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nnxp.distributed import Communicator, Launch, check_launch, launched, share, speaks
from nnxp.errors import NnxpError
from nnxp.layers import Dropout
from nnxp.models.multi_layer import MultiLayerNetExtend
from nnxp.models.two_layer import TwoLayerNet

HYDRA = {"PMI_SIZE": "2", "PMI_RANK": "1", "MPI_LOCALRANKID": "1"}


@pytest.mark.host
@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    (HYDRA, Launch("mpiexec (MPICH, Intel MPI)", 2, 1, 1)),
    ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3",
      "OMPI_COMM_WORLD_LOCAL_RANK": "1"}, Launch("Open MPI's mpirun", 4, 3, 1)),
    ({"SLURM_NTASKS": "8", "SLURM_PROCID": "5"}, Launch("Slurm's srun", 8, 5, 5)),
    ({"SLURM_NTASKS": "8"}, None),  # a batch script, not a task srun started
    ({"PMI_SIZE": "two", "PMI_RANK": "0"}, None),
    ({"PMI_SIZE": "-2", "PMI_RANK": "0"}, None),
    ({"PMI_SIZE": "0", "PMI_RANK": "0"}, None),
])
def test_the_launch_is_read_from_the_environment(env: dict, expected: Launch | None) -> None:
    assert launched(env) == expected


@pytest.mark.host
def test_a_job_must_be_distributed_and_distributed_needs_a_job() -> None:
    with pytest.raises(NnxpError, match=r"--distributed needs an MPI launcher: start the job "
                       r"with `mpiexec -n N nnxp train --distributed \.\.\.`"):
        check_launch(True, {})
    with pytest.raises(NnxpError, match="as 2 processes but without --distributed") as caught:
        check_launch(False, HYDRA)
    assert caught.value.quiet  # rank 1: rank 0 says it
    with pytest.raises(NnxpError) as caught:
        check_launch(False, {**HYDRA, "PMI_RANK": "0"})
    assert not caught.value.quiet
    assert check_launch(False, {"PMI_SIZE": "1", "PMI_RANK": "0"}) is not None  # mpiexec -n 1
    assert check_launch(False, {}) is None
    assert speaks({}) and speaks({**HYDRA, "PMI_RANK": "0"}) and not speaks(HYDRA)


@pytest.mark.host
@pytest.mark.parametrize("n", [0, 1, 5, 99, 100, 10_000])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_shares_cover_every_item_once_in_rank_order(n: int, size: int) -> None:
    slices = [share(n, rank, size) for rank in range(size)]
    assert slices[0][0] == 0 and slices[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
    lengths = [stop - start for start, stop in slices]
    assert max(lengths) - min(lengths) <= 1


class Doubling:
    """A stand-in for the reduction of a job of two processes that hold the same values."""

    name = "test"

    def allreduce_sum(self, flat):  # noqa: ANN001, ANN201
        self.seen = flat
        return flat * 2.0

    def broadcast(self, flat, root=0):  # noqa: ANN001, ANN201
        return flat


class FakeMPI:
    def Get_rank(self) -> int:  # noqa: N802 (mpi4py's name)
        return 0

    def Get_size(self) -> int:  # noqa: N802
        return 2


def communicator(backend) -> tuple[Communicator, Doubling]:  # noqa: ANN001
    comm = Communicator(FakeMPI(), Launch("test", 2, 0, 0))
    engine = Doubling()
    comm._engines[(backend.name, str(backend.device))] = engine
    return comm, engine


def test_average_packs_everything_in_one_buffer_of_the_nets_dtype(backend, xp) -> None:  # noqa: ANN001
    """Gradients, loss and running statistics travel in one flat buffer of the gradients'
    dtype and come back in their shapes, dtypes and order, averaged over the processes."""
    net = MultiLayerNetExtend(6, [5], 3, use_batchnorm=True, backend=backend, dtype="float32",
                              seed=0)
    x = backend.asarray(np.random.default_rng(0).standard_normal((4, 6)), "float32")
    t = backend.asarray(np.array([0, 1, 2, 1]))
    grads = net.gradient(x, t)
    loss = net.last_layer.loss
    comm, engine = communicator(backend)
    mean, mean_loss, buffers = comm.average(grads, loss, net.buffers)
    sizes = sum(int(np.prod(g.shape)) for g in grads.values())
    sizes += sum(int(np.prod(net.buffers[k].shape)) for k in net.buffers) + 1
    assert tuple(engine.seen.shape) == (sizes,) and engine.seen.dtype == xp.float32
    assert list(mean) == list(grads) and list(buffers) == list(net.buffers)
    for key in grads:
        assert mean[key].shape == grads[key].shape and mean[key].dtype == grads[key].dtype
        np.testing.assert_array_equal(backend.to_numpy(mean[key]), backend.to_numpy(grads[key]))
    for key in buffers:
        np.testing.assert_array_equal(backend.to_numpy(buffers[key]),
                                      backend.to_numpy(net.buffers[key]))
    assert tuple(mean_loss.shape) == ()
    assert float(mean_loss) == pytest.approx(float(loss), rel=1e-6)
    assert comm.calls == 1 and comm.bytes == 4 * sizes


@pytest.mark.host
def test_the_batch_must_split_evenly() -> None:
    comm = Communicator(FakeMPI(), Launch("test", 2, 0, 0))
    assert comm.batch_share(100) == (0, 50)
    with pytest.raises(NnxpError, match="the batch size 7 does not split evenly over 2 processes:"
                       " use a multiple of 2, e.g. --batch-size 6 or 8"):
        comm.batch_share(7)
    with pytest.raises(NnxpError, match="e.g. --batch-size 2 or 4"):
        Communicator(FakeMPI(), Launch("test", 2, 0, 0)).batch_share(3)
    with pytest.raises(NnxpError, match=r"over 2 processes: use a multiple of 2, e.g. "
                       r"--batch-size 2\Z"):
        comm.batch_share(1)  # fewer samples than processes


def test_dropout_keeps_its_share_of_the_whole_batchs_mask(backend) -> None:  # noqa: ANN001
    """Two processes' halves of a batch are dropped as one process drops the whole batch."""
    x = backend.asarray(np.arange(1.0, 41.0).reshape(8, 5), "float64")
    whole = backend.to_numpy(Dropout(0.5, seed=3).forward(x))
    halves = []
    for start in (0, 4):
        layer = Dropout(0.5, seed=3)
        layer.batch_share = (start, 8)
        halves.append(backend.to_numpy(layer.forward(x[start:start + 4, ...])))
    np.testing.assert_array_equal(np.concatenate(halves), whole)
    assert (whole == 0).any() and (whole != 0).any()


def test_hits_of_shares_add_up_to_the_accuracy(backend) -> None:  # noqa: ANN001
    net = TwoLayerNet(6, 4, 3, backend=backend, dtype="float64", seed=1)
    rng = np.random.default_rng(2)
    x = backend.asarray(rng.standard_normal((11, 6)), "float64")
    t = backend.asarray(rng.integers(0, 3, 11))
    hits = [net.hits(x[a:b, ...], t[a:b]) for a, b in (share(11, r, 3) for r in range(3))]
    assert all(isinstance(h, int) for h in hits)
    assert sum(hits) / 11 == net.accuracy(x, t)


def _cli(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "SLURM_",
                                                                       "PMIX_", "MV2_"))}
    return subprocess.run([sys.executable, "-m", "nnxp", *argv], capture_output=True, text=True,
                          env={**clean, **(env or {})}, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.host
def test_nnxp_train_refuses_a_half_distributed_job_in_one_line(tmp_path) -> None:  # noqa: ANN001
    done = _cli("train", "--distributed", "--iters", "1", "--save", str(tmp_path / "m.npz"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("nnxp train: error: --distributed needs an MPI launcher")
    assert len(done.stderr.splitlines()) == 1
    rank1 = _cli("train", "--iters", "1", env=HYDRA)  # rank 1 of 2, no --distributed: silent
    rank0 = _cli("train", "--iters", "1", env={**HYDRA, "PMI_RANK": "0"})
    assert rank1.returncode == rank0.returncode == 2
    assert rank1.stderr == "" and len(rank0.stderr.splitlines()) == 1
    assert "as 2 processes but without --distributed" in rank0.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.host
def test_training_without_distributed_imports_nothing_of_mpi(tmp_path) -> None:  # noqa: ANN001
    code = ("import sys; from nnxp.cli import main; "
            "code = main(['train', '--dataset', 'mnist-5k', '--iters', '2', '--quiet']); "
            "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('mpi4py', 'mpich')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 []"


@pytest.mark.host
def test_distributed_without_mpi4py_says_which_extra_to_install(tmp_path) -> None:  # noqa: ANN001
    shim = tmp_path / "shim" / "mpi4py"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('no mpi4py here')\n")
    import os

    path = os.pathsep.join([str(tmp_path / "shim"), os.environ.get("PYTHONPATH", "")])
    done = _cli("train", "--distributed", "--iters", "1",
                env={"PMI_SIZE": "1", "PMI_RANK": "0", "PYTHONPATH": path})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("nnxp train: error: distributed training needs mpi4py and an MPI "
                           "library: pip install 'nnxp[mpi]'\n")


class _Buffer:
    """A stand-in CuPy array: a NumPy array with a device pointer NCCL can be handed."""

    live: dict[int, np.ndarray] = {}

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.data = type("Memory", (), {"ptr": id(values)})()
        self.size, self.dtype = values.size, values.dtype
        _Buffer.live[id(values)] = values


class _FakeNccl:
    """CuPy's NCCL module as far as nnxp uses it; a job of two ranks holding equal values."""

    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_INT64, NCCL_SUM = 6, 7, 8, 4, 0
    calls: list[tuple] = []

    @staticmethod
    def get_unique_id() -> tuple[int, ...]:
        return tuple(range(-64, 64))

    class NcclCommunicator:
        def __init__(self, ndev: int, uid: tuple[int, ...], rank: int) -> None:
            _FakeNccl.calls.append(("init", ndev, uid, rank))

        def allReduce(self, send, recv, count, kind, op, stream):  # noqa: ANN001, N802
            _FakeNccl.calls.append(("allReduce", count, kind, op, stream))
            _Buffer.live[recv][...] = 2 * _Buffer.live[send]

        def broadcast(self, send, recv, count, kind, root, stream):  # noqa: ANN001
            _FakeNccl.calls.append(("broadcast", count, kind, root, stream))
            _Buffer.live[recv][...] = _Buffer.live[send]


@pytest.mark.host
def test_the_nccl_engine_hands_nccl_one_device_buffer(monkeypatch) -> None:  # noqa: ANN001
    """The CuPy engine's plumbing, on stand-ins (no GPU here): the unique id goes from rank
    0 through MPI, each reduction is one NCCL call on the current stream with the buffer's
    pointer, length and type, and the result comes back in a new buffer."""
    import contextlib
    import types

    from nnxp.distributed import nccl as engine_module

    cupy = types.ModuleType("cupy")
    cupy.ascontiguousarray = lambda a: a
    cupy.empty_like = lambda a: _Buffer(np.empty_like(a.values))
    stream = types.SimpleNamespace(ptr=1234)
    cupy.cuda = types.SimpleNamespace(Device=lambda i: contextlib.nullcontext(),
                                      get_current_stream=lambda: stream)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(engine_module, "_nccl", lambda: _FakeNccl)
    sent = []

    class MPI:
        def Get_rank(self) -> int:  # noqa: N802
            return 0

        def Get_size(self) -> int:  # noqa: N802
            return 2

        def Bcast(self, buf, root):  # noqa: ANN001, N802
            sent.append((buf.copy(), root))

    backend = types.SimpleNamespace(device=types.SimpleNamespace(id=0))
    _FakeNccl.calls.clear()
    engine = engine_module.make(MPI(), backend)
    (uid, root), = sent
    assert root == 0 and uid.dtype == np.int8 and tuple(uid) == tuple(range(-64, 64))
    assert _FakeNccl.calls == [("init", 2, tuple(range(-64, 64)), 0)]
    flat = _Buffer(np.arange(5.0))
    out = engine.allreduce_sum(flat)
    np.testing.assert_array_equal(out.values, 2 * np.arange(5.0))
    assert _FakeNccl.calls[-1] == ("allReduce", 5, _FakeNccl.NCCL_FLOAT64, 0, 1234)
    engine.broadcast(_Buffer(np.ones(3, np.float32)), 0)
    assert _FakeNccl.calls[-1] == ("broadcast", 3, _FakeNccl.NCCL_FLOAT32, 0, 1234)
    with pytest.raises(NnxpError, match="NCCL reduces float16/32/64 and int64, not uint8"):
        engine.allreduce_sum(_Buffer(np.zeros(2, np.uint8)))


@pytest.mark.host
def test_cupy_names_the_nccl_engine_and_the_others_the_host_one() -> None:
    from nnxp.backends import adapter

    assert adapter("cupy").collectives() == "nnxp.distributed.nccl"
    assert {adapter(n).collectives() for n in ("numpy", "torch", "array_api_strict", "jax")} == {
        "nnxp.distributed.host"}


@pytest.mark.host
def test_info_says_whether_a_job_can_start_here(monkeypatch) -> None:  # noqa: ANN001
    """From the installed packages alone (nothing of MPI imported): what is there, or the
    extra to install."""
    from importlib import metadata

    from nnxp.distributed.launch import availability

    real = metadata.version

    def without_mpi4py(name: str) -> str:
        if name == "mpi4py":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", without_mpi4py)
    assert availability() == ("unavailable: pip install 'nnxp[mpi]' (mpi4py and MPICH, with its "
                              "mpiexec)")
    monkeypatch.setattr(metadata, "version",
                        lambda name: {"mpi4py": "4.1", "mpich": "5.0"}.get(name) or
                        (_ for _ in ()).throw(metadata.PackageNotFoundError(name)))
    assert availability().startswith("mpi4py 4.1, mpich 5.0; ")


class _GatherAsRank1(FakeMPI):
    """Allgather as if this process's line came from rank 1 and rank 0 set up fine."""

    def Allgather(self, send, recv):  # noqa: ANN001, N802
        recv[0] = 0
        recv[1] = send


@pytest.mark.host
@pytest.mark.parametrize("message", ["\0starts with a NUL", "日本語 " * 200, "", "two\nlines"])
def test_a_setup_error_reaches_rank_0_as_one_line(message: str) -> None:
    """The failing rank's first line travels whole (cut at the buffer's size, never at a NUL
    or a multibyte character's middle into garbage), named by its rank."""
    comm = Communicator(_GatherAsRank1(), Launch("test", 2, 0, 0))
    with pytest.raises(NnxpError) as caught:
        comm.agree(ValueError(message))
    text = str(caught.value)
    assert text.startswith("rank 1 of 2: ") and "\n" not in text and not caught.value.quiet
    expected = (message.strip().splitlines() or [""])[0] or "ValueError"
    assert expected.startswith(text.removeprefix("rank 1 of 2: ").rstrip("\ufffd")[:100])
