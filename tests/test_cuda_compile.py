"""Every CUDA kernel nnxp runs on CuPy, compiled by nvcc for sm_80 and sm_90: no GPU needed.

The kernels are compiled on a GPU by NVRTC at their first call; a machine without one never
would, so these tests compile each variant of :data:`nnxp.kernels.cuda_source.KERNELS` with
nvcc (``-Werror all-warnings``), one translation unit per element type and set of compiler
options, the nvcc runs side by side. They skip with the reason where nvcc is missing. Then:
the table lists every kernel :mod:`nnxp.kernels.cupy` launches (read from its source, which
cannot be imported without CuPy), and a broken kernel does fail to compile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nnxp.kernels import cuda_source
from nnxp.kernels.cuda_source import KERNELS, function_name, source, variants

pytestmark = pytest.mark.host

ARCHS = ("80", "90")
CUPY_MODULE = Path(__file__).resolve().parent.parent / "nnxp" / "kernels" / "cupy.py"


def _nvcc() -> str | None:
    """nvcc on PATH, else CUDA's default place, else None."""
    found = shutil.which("nvcc")
    if found is None and os.access("/usr/local/cuda/bin/nvcc", os.X_OK):
        found = "/usr/local/cuda/bin/nvcc"
    return found


def _compile(nvcc: str, path: Path, arch: str, options: tuple[str, ...]) -> tuple[int, str, bytes]:
    """(return code, stderr, cubin) of nvcc compiling path for sm_<arch>."""
    out = path.with_suffix(f".sm_{arch}.cubin")
    proc = subprocess.run(
        [nvcc, "-cubin", f"-arch=sm_{arch}", "-Werror", "all-warnings", *options,
         "-o", str(out), str(path)],
        capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stderr, out.read_bytes() if proc.returncode == 0 else b""


def _units() -> dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]]:
    """(element type, options) -> [(code, function name)] of the variants built that way."""
    units: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}
    for name, float_type, int_type in variants():
        key = (float_type, KERNELS[name].options)
        units.setdefault(key, []).append(source(name, float_type, int_type))
    return units


@pytest.fixture(scope="module")
def nvcc() -> str:
    found = _nvcc()
    if found is None:
        pytest.skip("nvcc not found on PATH or at /usr/local/cuda/bin/nvcc (CI has it)")
    return found


@pytest.fixture(scope="module")
def compiled(nvcc, tmp_path_factory) -> dict[tuple[str, str, tuple[str, ...]], tuple]:
    """(arch, element type, options) -> ((return code, stderr, cubin), function names),
    every translation unit compiled for every architecture at once."""
    folder = tmp_path_factory.mktemp("cuda")
    jobs: dict[tuple[str, str, tuple[str, ...]], tuple[Callable[[], tuple], list[str]]] = {}
    for i, ((float_type, options), pieces) in enumerate(_units().items()):
        path = folder / f"nnxp_{i}_{float_type}.cu"
        path.write_text("\n".join(code for code, _ in pieces))
        for arch in ARCHS:
            def job(path=path, arch=arch, options=options) -> tuple[int, str, bytes]:
                return _compile(nvcc, path, arch, options)
            jobs[(arch, float_type, options)] = job, [fn for _, fn in pieces]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {key: pool.submit(job) for key, (job, _) in jobs.items()}
        return {key: (futures[key].result(), jobs[key][1]) for key in jobs}


@pytest.mark.parametrize("arch", ARCHS)
def test_every_kernel_compiles_with_nvcc(compiled, arch) -> None:
    units = {key: value for key, value in compiled.items() if key[0] == arch}
    assert {(f, o) for _, f, o in units} == set(_units())
    for (_, float_type, options), ((code, stderr, cubin), names) in units.items():
        assert code == 0, f"nvcc -arch=sm_{arch} {' '.join(options)} ({float_type}):\n{stderr}"
        missing = [fn for fn in names if fn.encode() not in cubin]
        assert not missing, f"functions missing from the sm_{arch} cubin: {missing}"


def test_a_broken_kernel_fails_to_compile(nvcc, tmp_path) -> None:
    """The compile test can fail: a kernel with a typo in it is refused, with nvcc's reason."""
    code, _ = source("relu_and_mask", "float")
    path = tmp_path / "broken.cu"
    path.write_text(code.replace("m[i] = off;", "m[i] = of;"))
    status, stderr, _ = _compile(nvcc, path, ARCHS[0], ())
    assert status != 0
    assert "of" in stderr and "undefined" in stderr


def test_the_table_lists_every_kernel_the_cupy_module_launches() -> None:
    """cupy.py builds kernels only from the table (one RawKernel, no elementwise kernels)
    and launches no kernel that the table lacks, nor leaves one of it unused."""
    text = CUPY_MODULE.read_text()
    launched = set(re.findall(r"""launch\(\s*["'](\w+)["']""", text))
    assert launched == set(KERNELS)
    assert text.count("cupy.RawKernel(") == 1
    assert not re.search(r"ElementwiseKernel|ReductionKernel|RawModule", text)


def test_sources_suit_nvrtc_and_one_translation_unit() -> None:
    """No #include (NVRTC has no system headers); one distinct C name per variant."""
    names = [source(*v)[1] for v in variants()]
    assert len(names) == len(set(names))
    for v in variants():
        code, fn = source(*v)
        assert "#include" not in code and "$" not in code
        assert f'extern "C" __global__ void {fn}(' in code
    assert function_name("softmax_cross_entropy_grad", "double", "unsigned long long") == \
        "nnxp_softmax_cross_entropy_grad_double_unsigned_long_long"


def test_source_refuses_variants_there_are_not() -> None:
    for args in [("nope", "float", None), ("relu_and_mask", "half", None),
                 ("relu_and_mask", "float", "int"), ("softmax_cross_entropy", "float", None),
                 ("softmax_cross_entropy", "float", "short")]:
        with pytest.raises(ValueError):
            source(*args)
    assert cuda_source.NO_CONTRACTION == KERNELS["subtract_scaled"].options
