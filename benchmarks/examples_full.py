"""Every script of examples/ run in full (no ``--quick``), as a reader runs it, and recorded.

    python -m benchmarks.examples_full [NAME ...] [--skip NAME] [--timeout S] [--out DIR]

NAME and ``--skip`` (repeatable) take a chapter (``ch05``), a script (``ch05/train_neuralnet``),
a script's name in every chapter (``train_neuralnet``) or a glob over chapters or
``chNN/name`` (``'ch0[67]'``, ``'*/train_*'``); no NAME runs all of them. Each script runs
from its own folder (``cd examples/ch05 && python train_neuralnet.py --out DIR/ch05``) with
this checkout on PYTHONPATH, NNXP_BOOK_DIR (``$NNXP_BOOK_DIR``, else ../shared/data/book
beside the project) and NNXP_DATA_DIR (``$NNXP_DATA_DIR``, else ../shared/data/mnist) where
they exist. Its figures and files go to ``DIR/chNN/`` (default benchmarks/results/examples/;
the PNGs are kept there, for the README; model files are git-ignored). For each script it
records the exit code, the wall seconds, the last 30 lines of its output and the last 10
of its errors in benchmarks/results/examples.json, merged with the scripts recorded there
before (so a run of a few updates their entries only), and prints a table. Not a timing
benchmark: ``nox -s bench`` leaves it out.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import RESULTS, ROOT, child_env, default_data_dir, machine, print_table

EXAMPLES = ROOT / "examples"
OUT = RESULTS / "examples"
RECORD = RESULTS / "examples.json"
STDOUT_LINES = 30
STDERR_LINES = 10


def example_id(script: Path) -> str:
    """``chNN/name`` for examples/chNN/name.py."""
    return f"{script.parent.name}/{script.stem}"


def matches(script: Path, pattern: str) -> bool:
    """Whether ``pattern`` (a chapter, chNN/name, a name, or a glob over chapters or
    chNN/name) names it."""
    ident, chapter = example_id(script), script.parent.name
    return (pattern in (ident, chapter, script.stem) or fnmatch.fnmatch(ident, pattern)
            or fnmatch.fnmatch(chapter, pattern))


def chosen(names: list[str], skip: list[str]) -> list[Path]:
    """The scripts that ``names`` choose (all when empty), less those ``skip`` names."""
    scripts = sorted(EXAMPLES.glob("ch*/*.py"))
    for pattern in [*names, *skip]:
        if not any(matches(s, pattern) for s in scripts):
            raise SystemExit(f"examples_full: no example matches {pattern!r}")
    return [s for s in scripts
            if (not names or any(matches(s, n) for n in names))
            and not any(matches(s, n) for n in skip)]


def environment() -> dict[str, str]:
    """The scripts' environment: this checkout, the book's files and MNIST where they are."""
    extra = {"MPLBACKEND": "Agg"}
    book = os.environ.get("NNXP_BOOK_DIR") or str(ROOT.parent / "shared" / "data" / "book")
    if Path(book).is_dir():
        extra["NNXP_BOOK_DIR"] = book
    data = default_data_dir()
    if Path(data).is_dir():
        extra["NNXP_DATA_DIR"] = data
    return child_env(**extra)


def tail(text: str, lines: int) -> list[str]:
    """The last ``lines`` lines of ``text``."""
    return text.splitlines()[-lines:]


def _text(output: bytes | str | None) -> str:
    """What a stopped child had written (bytes, text or nothing) as text."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run_one(script: Path, out: Path, env: dict[str, str], timeout: float | None) -> dict:
    """Run ``script`` in full from its folder with ``--out out/chNN``; what it did."""
    folder = out / script.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, script.name, "--out", str(folder)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=script.parent, env=env, capture_output=True,
                              text=True, timeout=timeout)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = None, _text(exc.stdout), _text(exc.stderr)
        stderr += f"\n(stopped after {timeout} s)"
    seconds = time.perf_counter() - start
    figures = [line.removeprefix("figure: ").strip() for line in stdout.splitlines()
               if line.startswith("figure: ")]
    return {
        "command": ["python", script.name, "--out", os.path.relpath(folder, script.parent)],
        "exit_code": code,
        "seconds": round(seconds, 2),
        "figures": [os.path.relpath(script.parent / f, ROOT) for f in figures],
        "stdout_tail": tail(stdout, STDOUT_LINES),
        "stderr_tail": tail(stderr, STDERR_LINES),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="chapters, scripts or globs to run (default: every example)")
    parser.add_argument("--skip", action="append", default=[], metavar="NAME",
                        help="leave these out (repeatable)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="stop a script after S seconds (default: never)")
    parser.add_argument("--out", type=Path, default=OUT, metavar="DIR",
                        help="the scripts' figures and files, DIR/chNN/ (default: %(default)s)")
    parser.add_argument("--record", type=Path, default=RECORD, metavar="JSON",
                        help="the record to update (default: %(default)s)")
    args = parser.parse_args(argv)
    scripts = chosen(args.names, args.skip)
    env = environment()
    record = json.loads(args.record.read_text()) if args.record.is_file() else {}
    runs = record.setdefault("examples", {})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    rows = []
    for script in scripts:
        print(f"{example_id(script)} ...", flush=True)
        result = run_one(script, args.out.resolve(), env, args.timeout)
        result["commit"] = commit
        runs[example_id(script)] = result
        rows.append({"example": example_id(script), "exit": result["exit_code"],
                     "seconds": result["seconds"],
                     "last line": (result["stdout_tail"] or [""])[-1][:70]})
        record.update(
            what="every script of examples/ run in full from its folder (benchmarks.examples_full)",
            book_dir=env.get("NNXP_BOOK_DIR"), data_dir=env.get("NNXP_DATA_DIR"),
            machine=machine(libraries=("numpy", "numba", "matplotlib")),
        )
        record["examples"] = dict(sorted(runs.items()))
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record, indent=2) + "\n")  # after each script
    print()
    print_table(rows, ["example", "exit", "seconds", "last line"])
    print(f"\nrecorded in {args.record}")
    return 0 if all(row["exit"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
