"""The shared driver of the atheris fuzzers in this folder: run one bytes-level target under
libFuzzer, where the errors nnxp raises on purpose are expected and anything else (another
exception, a crash, a hang past -timeout, memory past -rss_limit_mb) is a finding.

Each target module imports the code it fuzzes inside ``atheris.instrument_imports`` (so the
coverage that guides the mutations is nnxp's own branches) and calls :func:`fuzz`. The
command line is libFuzzer's: corpus folders, then options such as ``-max_total_time=60``.

With NNXP_FUZZ_FINDINGS=FOLDER set, an unexpected exception is not fatal: the first input
that raised each distinct (type, place) is saved in FOLDER with its traceback, and fuzzing
goes on, so one run lists every distinct finding instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import os
import sys
import traceback
from collections.abc import Callable


def fuzz(target: Callable[[bytes], object], expected: tuple[type[BaseException], ...]) -> None:
    """Fuzz ``target(data)`` with libFuzzer's arguments from sys.argv; ``expected`` errors pass."""
    import atheris

    findings = os.environ.get("NNXP_FUZZ_FINDINGS")
    seen: set[tuple[str, str]] = set()

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except expected:
            pass
        except Exception as exc:
            if not findings:
                raise
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = (type(exc).__name__, f"{frame.filename}:{frame.lineno}")
            if key not in seen:
                seen.add(key)
                os.makedirs(findings, exist_ok=True)
                name = os.path.join(findings, hashlib.sha1(data).hexdigest())
                with open(name, "wb") as f:
                    f.write(data)
                with open(name + ".txt", "w") as f:
                    f.write("".join(traceback.format_exception(exc)))
                print(f"FINDING {key[0]} at {key[1]}: {name}", file=sys.stderr, flush=True)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
