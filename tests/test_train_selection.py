"""``nnxp train --train-size N --test-size N --validation FRACTION``: a smaller training set,
a test subset, and a validation split that training reports instead of the test set."""

from __future__ import annotations

import json

import pytest

from nnxp.io import read_model_file
from tests.adversarial.conftest import cli

pytestmark = [pytest.mark.host, pytest.mark.usefixtures("tiny_data")]

TRAIN = ["train", "--epochs", "2", "--batch-size", "50", "--lr", "0.5"]



def test_train_size_and_test_size_take_the_first_samples(workdir):
    result = cli([*TRAIN, "--train-size", "300", "--test-size", "100", "--save", "m.npz",
                  "--metrics", "m.jsonl"])
    assert result.code == 0, result.err
    assert "on mnist-5k (300 train, 100 test)" in result.out
    assert "step 6 " in result.out  # 2 epochs of 300 // 50 batches
    assert "final: test acc " in result.out
    _, config = read_model_file(workdir / "m.npz")
    assert config["dataset"]["train_size"] == 300 and config["dataset"]["test_size"] == 100
    assert config["dataset"]["train_subset"] == "the first 300 training samples"
    assert "test_acc" in json.loads((workdir / "m.jsonl").read_text().splitlines()[0])


def test_validation_is_reported_in_place_of_the_test_set(workdir):
    pytest.importorskip("matplotlib")
    result = cli([*TRAIN, "--train-size", "500", "--validation", "0.2", "--save", "m.npz",
                  "--metrics", "m.jsonl", "--plot", "m.png"])
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "on mnist-5k (400 train, 100 validation)" in lines[0]
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("  val acc " in line and "test acc" not in line
                                    for line in epochs)  # epoch 0 (untrained) to 2
    assert any(line.startswith("final: val acc ") for line in lines)
    records = [json.loads(line) for line in (workdir / "m.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1, 2] and records[0]["train_loss"] is None
    assert [sorted(r) for r in records] == [sorted(["epoch", "step", "train_loss", "train_acc",
                                                    "val_acc", "epoch_seconds", "seconds"])] * 3
    assert records[-1]["step"] == 16  # 400 // 50 batches per epoch
    _, config = read_model_file(workdir / "m.npz")
    assert config["dataset"]["validation"] == {"fraction": 0.2, "size": 100, "seed": 0}
    assert "test_size" not in config["dataset"] and config["dataset"]["train_size"] == 400
    result_ = config["training"]["result"]
    assert "test_acc" not in result_ and result_["val_acc"] == records[-1]["val_acc"]
    assert (workdir / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_the_split_follows_the_seed(workdir):
    def val_accs(seed):
        result = cli([*TRAIN, "--validation", "0.5", "--seed", seed, "--metrics", f"{seed}.jsonl",
                      "--quiet"])
        assert result.code == 0, result.err
        return [json.loads(line)["val_acc"] for line in (workdir / f"{seed}.jsonl").open()]

    assert val_accs("1") == val_accs("1")
    assert "on mnist-5k (250 train, 250 validation)" in cli([*TRAIN, "--validation", "0.5"]).out


@pytest.mark.parametrize(
    ("extra", "needles", "loads"),
    [
        (["--train-size", "0"], ["argument --train-size", "not a positive integer"], False),
        (["--train-size", "99999999"], ["larger than any MNIST file can hold"], False),
        (["--test-size", "-5"], ["argument --test-size"], False),
        (["--validation", "0"], ["argument --validation", "between 0 and 1"], False),
        (["--validation", "1.5"], ["argument --validation"], False),
        (["--validation", "nan"], ["argument --validation"], False),
        (["--validation", "0.2", "--test-size", "10"],
         ["--test-size has no effect with --validation"], False),
        (["--train-size", "40"], ["--batch-size 50 is larger than the training set (40 samples)"],
         False),
        (["--train-size", "80", "--validation", "0.5"],
         ["training set (40 samples after --validation 0.5 holds 40 out)"], False),
        (["--train-size", "9", "--validation", "0.1", "--batch-size", "1"],
         ["--validation 0.1 of 9 samples holds out no sample"], False),
        (["--train-size", "501"], ["--train-size 501 is larger than mnist-5k's training set (500 "
                                   "samples)"], True),
        (["--test-size", "201"], ["--test-size 201 is larger than mnist-5k's test set"], True),
        (["--validation", "0.95"], ["training set (25 samples after --validation 0.95 holds 475 "
                                    "out)"], True),
    ],
)
def test_bad_sizes_are_one_line_and_write_nothing(workdir, tiny_data, extra, needles, loads):
    from tests.adversarial.conftest import assert_refused

    assert_refused(cli([*TRAIN, "--save", "m.npz", *extra]), *needles)
    assert list(workdir.iterdir()) == []
    assert bool(tiny_data) == loads  # refused before the data was loaded, where it can be
