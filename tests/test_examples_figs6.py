"""examples/ch06's figure scripts in quick mode, run from their folder as the book's are: the
book's printed lines with nnxp's numbers, and the PNGs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nnxp import datasets

pytestmark = pytest.mark.host

ROOT = Path(__file__).resolve().parent.parent
CH06 = ROOT / "examples" / "ch06"


def run(script, *args, out):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, script, "--out", str(out), *args], cwd=CH06, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def needs_subset():
    if datasets.subset.subset_file() is None:
        pytest.skip(f"the mnist-5k subset is not installed: {datasets.subset.INSTALL_HINT}")


def losses_at(out, iteration):
    """{label: loss} printed under ===========iteration:N===========."""
    block = out.split(f"===========iteration:{iteration}===========\n")[1]
    block = block.split("===========")[0]
    return {k: float(v) for k, v in re.findall(r"^([^:\n]+):([\d.]+)$", block, re.M)}


def test_weight_init_activation_histogram(tmp_path):
    code, out, err = run("weight_init_activation_histogram.py", "--quick", out=tmp_path)
    assert code == 0, err
    assert "He: std of each layer's activations 0.26 0.172 0.155 0.169 0.162" in out
    assert "std=0.01: std of each layer's activations 0.0249 0.0118 0.0114 0.0129 0.0121" in out
    assert out.endswith(f"figure: {tmp_path / 'activation_histograms_sigmoid.png'}\n")
    code, out, err = run("weight_init_activation_histogram.py", "--activation", "relu",
                         out=tmp_path)
    assert code == 0, err
    assert "He: std of each layer's activations 0.824 0.825 0.856 0.88 1\n" in out
    code, out, err = run("weight_init_activation_histogram.py", "--activation", "tanh",
                         out=tmp_path)
    assert code == 0, err
    assert "He: std of each layer's activations 0.719 0.635 0.591 0.572 0.566\n" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "activation_histograms_relu.png", "activation_histograms_sigmoid.png",
        "activation_histograms_tanh.png"]


def test_weight_init_activation_histogram_refuses_an_unknown_activation(tmp_path):
    code, out, err = run("weight_init_activation_histogram.py", "--activation", "softplus",
                         out=tmp_path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "invalid choice: 'softplus'" in err


def test_weight_init_compare(tmp_path, needs_subset):
    code, out, err = run("weight_init_compare.py", "--quick", out=tmp_path)
    assert code == 0, err
    first, later = losses_at(out, 0), losses_at(out, 100)
    assert list(first) == ["std=0.01", "Xavier", "He"]
    assert all(2.2 < loss < 2.5 for loss in first.values())
    assert abs(later["std=0.01"] - 2.3026) < 0.01  # stuck: the signal vanishes
    assert later["He"] < 2.0 and later["He"] < later["Xavier"]
    assert "===========iteration:200===========" not in out
    assert (tmp_path / "weight_init_compare.png").stat().st_size > 10_000


def test_batch_norm_test(tmp_path, needs_subset):
    code, out, err = run("batch_norm_test.py", "--quick", out=tmp_path)
    assert code == 0, err
    assert err == ""  # the diverging net at scale 1 warns nothing
    blocks = re.split(r"^============== \d/4 ==============\n", out, flags=re.M)
    assert len(blocks) == 5
    for block in blocks[1:]:
        epochs = re.findall(r"^epoch:(\d+) \| ([\d.]+) - ([\d.]+)$", block, re.M)
        assert [int(e) for e, _, _ in epochs] == list(range(10))
    last = [re.findall(r"^epoch:9 \| ([\d.]+) - ([\d.]+)$", b, re.M)[0] for b in blocks[1:]]
    plain, bn = zip(*((float(a), float(b)) for a, b in last), strict=True)
    assert max(plain) < 0.2  # scales 1, 0.046, 0.0022, 0.0001: the plain net never learns
    assert min(bn[1:3]) > 0.7 and bn[0] > plain[0]
    assert (tmp_path / "batch_norm_test.png").stat().st_size > 10_000


def test_optimizer_compare_mnist(tmp_path, needs_subset):
    code, out, err = run("optimizer_compare_mnist.py", "--quick", out=tmp_path)
    assert code == 0, err
    first, later = losses_at(out, 0), losses_at(out, 100)
    assert list(first) == ["SGD", "Momentum", "AdaGrad", "Adam"]
    assert max(later["Momentum"], later["AdaGrad"], later["Adam"]) < 0.5 < later["SGD"]
    assert out.endswith(f"figure: {tmp_path / 'optimizer_compare_mnist.png'}\n")


def test_a_missing_output_folder_is_one_line(tmp_path, needs_subset):
    code, out, err = run("weight_init_activation_histogram.py", out=tmp_path / "nowhere")
    assert code == 2
    assert err.startswith("weight_init_activation_histogram.py: error: ")
    assert len(err.strip().splitlines()) == 1
