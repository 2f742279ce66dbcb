"""nnxp.search (the book's random hyperparameter search), its figure and ``nnxp search``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.search import Trial, best, draw_trials, random_search
from tests.adversarial.conftest import assert_refused, cli
from tests.blobs import blobs

pytestmark = [pytest.mark.host, pytest.mark.usefixtures("tiny_data")]


@pytest.fixture(scope="module")
def data():
    return blobs(n_train=200, n_test=50, features=12, classes=10, seed=2)


def test_draws_are_the_books_log_uniform_ranges_and_one_seed_gives_the_same_trials():
    trials = list(draw_trials(2000, seed=7))
    lr = np.log10([tr.lr for tr in trials])
    wd = np.log10([tr.weight_decay for tr in trials])
    assert -6 <= lr.min() < -5.9 and -2.1 < lr.max() <= -2
    assert -8 <= wd.min() < -7.9 and -4.1 < wd.max() <= -4
    assert abs(lr.mean() + 4) < 0.1 and abs(wd.mean() + 6) < 0.1  # uniform in the exponent
    # the book's order of draws: weight decay, then lr (then the trial's seed)
    rng = np.random.default_rng(7)
    assert trials[0].weight_decay == 10 ** rng.uniform(-8, -4)
    assert trials[0].lr == 10 ** rng.uniform(-6, -2)
    again = list(draw_trials(5, seed=7))
    assert [(t.lr, t.weight_decay, t.seed) for t in again] == \
        [(t.lr, t.weight_decay, t.seed) for t in trials[:5]]
    assert [t.number for t in again] == [1, 2, 3, 4, 5]
    assert list(draw_trials(1, seed=8))[0].lr != trials[0].lr


def test_random_search_trains_each_trial_and_reproduces_from_its_seed(data):
    (x, t), (xv, tv) = data
    lines = []
    trials = random_search(x, t, xv, tv, trials=3, epochs=10, hidden_size_list=[20, 20],
                           batch_size=50, lr_range=(-1.5, -0.5), seed=3,
                           report=lambda trial: lines.append(trial.line()))
    assert [tr.number for tr in trials] == [1, 2, 3]
    for trial in trials:
        assert len(trial.val_acc_list) == len(trial.train_acc_list) == 11  # epoch 0 to 10
        assert trial.val_acc == trial.val_acc_list[-1] and 0 <= trial.val_acc <= 1
        assert trial.diverged is None and trial.seconds > 0
    assert max(tr.val_acc for tr in trials) > 0.5  # separable blobs, lr 0.03 to 0.3
    assert lines[0] == trials[0].line()
    assert lines[0].startswith(f"val acc:{trials[0].val_acc:g} | lr:")
    assert ", weight decay:" in lines[0]
    again = random_search(x, t, xv, tv, trials=2, epochs=10, hidden_size_list=[20, 20],
                          batch_size=50, lr_range=(-1.5, -0.5), seed=3)
    assert [tr.val_acc_list for tr in again] == [tr.val_acc_list for tr in trials[:2]]
    ranked = best(trials)
    assert [tr.val_acc for tr in ranked] == sorted((tr.val_acc for tr in trials), reverse=True)


def test_a_diverging_trial_ranks_last_and_does_not_stop_the_search(data):
    (x, t), (xv, tv) = data
    trials = random_search(x, t, xv, tv, trials=2, epochs=2, hidden_size_list=[10],
                           batch_size=50, lr_range=(30, 30), seed=0)
    assert all(tr.diverged and "non-finite" in tr.diverged for tr in trials)
    assert math.isnan(trials[0].val_acc)
    assert trials[0].as_dict()["val_acc"] is None
    assert "val acc:diverged" in trials[0].line()
    ok = Trial(3, 0.1, 0.0, 0, [0.2], [0.3])
    assert best([*trials, ok])[0] is ok
    assert best([*trials, ok], 1) == [ok]


def test_ties_rank_in_trial_order():
    a, b, c = (Trial(n, 0.1, 0.0, 0, [acc], [acc]) for n, acc in ((1, 0.5), (2, 0.7), (3, 0.5)))
    assert [tr.number for tr in best([a, b, c])] == [2, 1, 3]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"trials": 0}, "trials must be a positive integer"),
        ({"epochs": -1}, "epochs must be a positive integer"),
        ({"batch_size": 1000}, "batch_size 1000 is larger than the training set (200 samples)"),
        ({"lr_range": (-2, -6)}, "give the lower bound first"),
        ({"lr_range": (-6, float("nan"))}, "log10 exponents in [-38, 38]"),
        ({"weight_decay_range": (-8, 400)}, "log10 exponents in [-38, 38]"),
        ({"weight_decay_range": (1,)}, "must be two numbers"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"hidden_size_list": [0]}, "hidden_size_list"),
    ],
)
def test_bad_search_arguments_fail_before_any_trial(data, kwargs, needle):
    (x, t), (xv, tv) = data
    ran = []
    with pytest.raises(NnxpError) as info:
        random_search(x, t, xv, tv, **{"trials": 1, "epochs": 1, **kwargs}, report=ran.append)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert ran == []


def test_plot_search_draws_the_best_twenty(tmp_path):
    pytest.importorskip("matplotlib")
    from nnxp.plot.search import plot_search

    trials = [Trial(n, 0.01, 1e-6, 0, list(np.linspace(0.1, n / 30, 5)), [0.5] * 5)
              for n in range(1, 26)]
    path = plot_search(trials, tmp_path / "s.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(path).size == (1200, 830)  # 5 columns of 2.4 in, 4 rows, 100 dpi
    with pytest.raises(NnxpError, match="no trial to draw"):
        plot_search([], tmp_path / "t.png")



SEARCH = ["search", "--trials", "3", "--epochs", "3", "--hidden", "20", "--lr-range", "-1.5",
          "-0.5"]


def test_nnxp_search_prints_trials_and_the_best_and_writes_its_files(workdir):
    pytest.importorskip("matplotlib")
    result = cli([*SEARCH, "--results", "r.json", "--plot", "best.png"])
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("search: 3 trials of MultiLayerNet 64-20-10 on mnist-5k (the first "
                               "500: 400 train, 100 validation)")
    assert [line[:6] for line in lines[1:4]] == ["[1/3] ", "[2/3] ", "[3/3] "]
    assert all(" val acc:" in line and ", weight decay:" in line for line in lines[1:4])
    assert lines[4] == "=========== Hyper-Parameter Optimization Result ==========="
    assert lines[5].split() == ["rank", "val", "acc", "train", "acc", "lr", "weight", "decay",
                                "trial"]
    document = json.loads((workdir / "r.json").read_text())
    assert document["completed"] == 3 and len(document["trials"]) == 3
    assert document["dataset"] == {"name": "mnist-5k", "train": 400, "validation": 100}
    first = document["trials"][document["ranking"][0] - 1]
    assert lines[6].split()[:2] == ["1", f"{first['val_acc']:.4f}"]
    assert len(first["val_acc_list"]) >= 3
    assert f"best: val acc {first['val_acc']:.4f}" in result.out
    assert (workdir / "best.png").read_bytes()[:4] == b"\x89PNG"
    assert "plot: best.png" in result.out and "results: r.json" in result.out
    # one seed, the same trials
    again = cli([*SEARCH, "--no-plot", "--json", "--quiet"])
    assert again.code == 0, again.err
    assert json.loads(again.out)["trials"][0]["val_acc_list"] == \
        document["trials"][0]["val_acc_list"]
    assert not list(workdir.glob("search.png"))


def test_nnxp_search_json_keeps_stdout_for_the_document(workdir):
    result = cli([*SEARCH, "--no-plot", "--json", "--validation", "0.5", "--train-size", "200"])
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["settings"]["validation"] == 0.5
    assert document["dataset"]["train"] == 100 and document["dataset"]["validation"] == 100
    assert "[3/3] val acc:" in result.err


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--lr-range", "-2", "-6"], ["--lr-range goes from -2 up to -6"]),
        (["--weight-decay-range", "-8", "50"], ["--weight-decay-range bounds", "[-38, 38]"]),
        (["--lr-range", "nan", "1"], ["argument --lr-range", "not a finite number"]),
        (["--trials", "0"], ["argument --trials", "not a positive integer"]),
        (["--validation", "1"], ["argument --validation", "between 0 and 1"]),
        (["--train-size", "10", "--batch-size", "100"], ["--batch-size 100 is larger than the "
                                                          "training set (8 samples"]),
        (["--train-size", "501"], ["--train-size 501 is larger than mnist-5k's training set "
                                   "(500 samples)"]),
        (["--train-size", "99999999"], ["larger than any MNIST file can hold"]),
        (["--hidden", "100000000", "100000000"], ["memory"]),
        (["--results", "r.json", "--plot", "r.json"], ["both name r.json"]),
        (["--results", "no/such/dir/r.json"], ["does not exist"]),
        (["--dataset", "cifar"], ["unknown dataset 'cifar'"]),
    ],
)
def test_nnxp_search_refuses_in_one_line_and_writes_nothing(workdir, tiny_data, extra, needles):
    assert_refused(cli([*SEARCH, *extra]), *needles)
    assert list(workdir.iterdir()) == []


def test_an_interrupted_search_reports_the_trials_it_completed(workdir, monkeypatch):
    import nnxp.search

    real, calls = nnxp.search.run_trial, []

    def interrupt_third(trial, *args, **kwargs):
        calls.append(trial.number)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(trial, *args, **kwargs)

    monkeypatch.setattr(nnxp.search, "run_trial", interrupt_third)
    result = cli([*SEARCH, "--trials", "5", "--no-plot", "--results", "r.json"])
    assert result.code == 130, result.err
    assert "interrupted: reporting the 2 trials completed" in result.out
    assert json.loads((workdir / "r.json").read_text())["completed"] == 2
