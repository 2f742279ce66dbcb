"""nnxp.plot.overfit and ``nnxp plot overfit``: the book's figures 6-20, 6-21 and 6-23."""

from __future__ import annotations

import numpy as np
import pytest

from nnxp.errors import NnxpError
from nnxp.plot.overfit import draw_overfit, overfit_history
from tests.adversarial.conftest import assert_refused, cli
from tests.blobs import blobs

pytestmark = [pytest.mark.host, pytest.mark.usefixtures("tiny_data")]

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def data():
    return blobs(n_train=100, n_test=300, features=16, classes=3, seed=4)


def test_history_starts_before_training_and_has_one_value_per_epoch(data):
    (x, t), (xt, tt) = data
    seen = []
    history = overfit_history(x, t, xt, tt, epochs=6, hidden_size_list=[30, 30], lr=0.1,
                              batch_size=50, on_epoch=lambda *v: seen.append(v))
    assert len(history["train_acc"]) == len(history["test_acc"]) == 7
    assert [epoch for epoch, _, _ in seen] == list(range(7))
    assert [v[1] for v in seen] == history["train_acc"]
    assert history["train_acc"][0] < 0.4  # epoch 0: untrained (0.13)
    assert history["train_acc"][-1] > 0.8  # separable blobs, 12 updates of lr 0.1 (0.91)
    again = overfit_history(x, t, xt, tt, epochs=6, hidden_size_list=[30, 30], lr=0.1,
                            batch_size=50)
    assert again == history  # seed 0 by default: the same weights and batches


def test_weight_decay_and_dropout_change_the_net_and_the_default_epochs(data, monkeypatch):
    (x, t), (xt, tt) = data
    import nnxp.train

    made = []
    real = nnxp.train.Trainer

    def spy(net, *args, **kwargs):
        made.append((type(net).__name__, net.config.get("weight_decay_lambda"),
                     net.config.get("dropout_ratio"), kwargs["epochs"], kwargs["sampling"]))
        kwargs["epochs"] = 1
        return real(net, *args, **kwargs)

    monkeypatch.setattr(nnxp.train, "Trainer", spy)
    overfit_history(x, t, xt, tt, weight_decay=0.1, hidden_size_list=[10])
    overfit_history(x, t, xt, tt, dropout=0.2, hidden_size_list=[10])
    assert made[0] == ("MultiLayerNet", 0.1, None, 200, "replace")  # the book's 201 points
    assert made[1] == ("MultiLayerNetExtend", 0.0, 0.2, 300, "replace")  # Trainer(epochs=301)


def test_draw_overfit_is_the_books_figure(tmp_path):
    train = np.linspace(0.1, 1.0, 201)
    path = draw_overfit(train, train * 0.75, tmp_path / "o.png", "a title")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(NnxpError, match="two lists of one length, got 3 and 2"):
        draw_overfit([0.1, 0.2, 0.3], [0.1, 0.2], tmp_path / "p.png")



def test_nnxp_plot_overfit_with_weight_decay(workdir, tiny_data):
    result = cli(["plot", "overfit", "--weight-decay", "0.1", "--epochs", "4", "-o", "wd.png"])
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == ("overfit: MultiLayerNet 64-100x6-10 (weight decay 0.1) on the first 300 "
                        "mnist-5k training images, tested on 200; SGD lr 0.01, batch 100, 4 "
                        "epochs, numpy cpu, seed 0")
    assert [line.split(":")[0] for line in lines[1:5]] == [f"epoch {e}/4" for e in (1, 2, 3, 4)]
    assert lines[5].startswith("final: train acc ") and "(gap " in lines[5]
    assert lines[-1] == "overfit: wd.png"
    assert (workdir / "wd.png").read_bytes()[:4] == b"\x89PNG"
    assert tiny_data[0][0] == "auto"


def test_nnxp_plot_overfit_with_dropout_and_a_smaller_set(workdir):
    result = cli(["plot", "overfit", "--dropout", "0.2", "--epochs", "2", "--train-size", "200",
                  "--batch-size", "50", "--seed", "3"])
    assert result.code == 0, result.err
    assert "(dropout 0.2) on the first 200 mnist-5k training images" in result.out
    assert (workdir / "overfit.png").exists()


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--train-size", "50"], ["--batch-size 100 is larger than the training set (50 samples)"]),
        (["--train-size", "600"], ["--train-size 600 is larger than mnist-5k's training set"]),
        (["--train-size", "99999999"], ["larger than any MNIST file can hold"]),
        (["--weight-decay", "-1"], ["argument --weight-decay"]),
        (["--dropout", "1"], ["argument --dropout"]),
        (["--epochs", "0"], ["argument --epochs"]),
        (["--iters", "3"], ["--iters applies to `nnxp plot optimizers` and `nnxp plot weight-init` only"]),
    ],
)
def test_nnxp_plot_overfit_refuses_in_one_line(workdir, extra, needles):
    assert_refused(cli(["plot", "overfit", "--epochs", "2", *extra]), *needles)
    assert list(workdir.iterdir()) == []
