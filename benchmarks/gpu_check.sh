#!/usr/bin/env bash
# The GPU side of the training-step work in one run, for a machine with CuPy and a CUDA device.
#
#   WHEELS=dir bash benchmarks/gpu_check.sh [benchmarks.train_step options]
#
# WHEELS (optional): a folder of wheels to install first without their dependencies, for
# machines that have CuPy, NumPy and Numba but not array-api-compat, array-api-extra,
# array-api-strict, pytest or hypothesis (and reach no package index). Then: the fused CuPy
# kernels (elementwise and conv) and the training paths against their references on the GPU,
# then the train_step benchmark for both MLPs (nnxp with CuPy's kernels and with the
# references alone, CuPy's hand loop, PyTorch CUDA eager when torch has CUDA), timed with
# CUDA events. The JSON goes
# to benchmarks/results/train_step_cupy.json. Then the conv benchmark (SimpleConvNet and
# DeepConvNet steps against PyTorch CUDA). tests/test_cuda_compile.py runs only in the numpy
# session (it needs nvcc, not a GPU), so under --backend cupy it reports skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${WHEELS:-}" ]; then
    python -m pip install --no-deps --no-index "$WHEELS"/*.whl
fi
python -c "import cupy; print('GPU:', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())"
PYTHONPATH=. python -m pytest -q --backend cupy tests/test_fused.py tests/test_layers.py \
    tests/test_optim.py tests/test_train.py tests/test_conv_kernels.py tests/test_cuda_compile.py
python -m benchmarks.train_step --backend cupy --modes auto,off --full-runs 0 "$@"
python -m benchmarks.conv --backend cupy "$@"
