"""``nnxp plot activation-histograms``, ``weight-init`` and ``batchnorm`` attacked: weight
scales that are no scales (0, negative, NaN, inf, words, a name where a number is needed,
one twice, too many), sizes of 0, larger than the data or huge, an output that cannot be
written or lies in the data folder. Each is one line with exit code 2, refused before any
training, and nothing is written."""

from __future__ import annotations

import pytest

from tests.adversarial.conftest import assert_refused, cli, snapshot

pytest.importorskip("matplotlib")


def _refused(argv, *needles, where):
    before = snapshot(where)
    assert_refused(cli(argv), *needles)
    assert snapshot(where) == before


@pytest.mark.parametrize("figure", ["activation-histograms", "weight-init", "batchnorm"])
@pytest.mark.parametrize("value, needle", [
    ("0", "0.0 is not a finite number > 0"),
    ("-0.1", "-0.1 is not a finite number > 0"),
    ("nan", "nan is not a finite number > 0"),
    ("inf", "inf is not a finite number > 0"),
    ("1e400", "inf is not a finite number > 0"),
    ("lecun", "'lecun' is not a number, 'he' or 'xavier'"),
])
def test_weight_scales_that_are_no_scales(workdir, tiny_data, figure, value, needle):
    _refused(["plot", figure, "--weight-scales", "0.1", value], "--weight-scales", needle,
             where=workdir)
    assert tiny_data == []


def test_weight_scales_given_twice_or_too_many(workdir, tiny_data):
    _refused(["plot", "weight-init", "--weight-scales", "he", "0.1", "HE"],
             "weight scale He is given twice", where=workdir)
    _refused(["plot", "activation-histograms", "--weight-scales", "0.01", "1e-2"],
             "weight scale std=0.01 is given twice", where=workdir)
    _refused(["plot", "activation-histograms", "--weight-scales", *["0.1"] * 65],
             "weight_scales must hold 1 to 64 scales, got 65", where=workdir)
    _refused(["plot", "batchnorm", "--weight-scales", *["0.1"] * 65],
             "weight_scales must hold 1 to 64 numbers, got 65", where=workdir)
    assert tiny_data == []


def test_batchnorm_takes_numbers_only(workdir, tiny_data):
    _refused(["plot", "batchnorm", "--weight-scales", "0.1", "he"],
             "a weight scale must be a number > 0, got 'he'", where=workdir)
    assert tiny_data == []


@pytest.mark.parametrize("argv, needle", [
    (["weight-init", "--iters", "0"], "--iters: 0 is not a positive integer"),
    (["weight-init", "--batch-size", "-3"], "--batch-size: -3 is not a positive integer"),
    (["weight-init", "--seed", "-1"], "--seed: -1 is not an integer >= 0"),
    (["batchnorm", "--epochs", "0"], "--epochs: 0 is not a positive integer"),
    (["batchnorm", "--train-size", "x"], "--train-size: 'x' is not an integer"),
    (["activation-histograms", "--activation", "softplus"], "invalid choice: 'softplus'"),
    (["activation-histograms", "--iters", "5"],
     "--iters applies to `nnxp plot optimizers` and `nnxp plot weight-init` only"),
    (["batchnorm", "--activation", "relu"], "--activation applies to"),
])
def test_bad_sizes_and_options_at_the_parser(workdir, tiny_data, argv, needle):
    _refused(["plot", *argv], needle, where=workdir)
    assert tiny_data == []


def test_sizes_larger_than_the_data(workdir, tiny_data):
    """tiny_data has 500 training images."""
    _refused(["plot", "weight-init", "--batch-size", "501"],
             "batch size 501 is larger than the 500 training images", where=workdir)
    _refused(["plot", "batchnorm", "--train-size", "501"],
             "train_size 501 is more than mnist-5k's 500 training images", where=workdir)
    _refused(["plot", "batchnorm", "--batch-size", "200", "--train-size", "100"],
             "batch size 200 is larger than the 100 training images", where=workdir)


def test_huge_sizes_are_refused_or_cheap(workdir, tiny_data):
    """A huge --train-size or --batch-size is refused against the data before anything is
    allocated; a huge --iters or --epochs is only time (not run here)."""
    _refused(["plot", "batchnorm", "--train-size", str(10**12)], "train_size", where=workdir)
    _refused(["plot", "weight-init", "--batch-size", str(10**12)], "is larger than the 500",
             where=workdir)


@pytest.mark.parametrize("figure", ["activation-histograms", "weight-init", "batchnorm"])
def test_outputs_that_cannot_be_written(workdir, tiny_data, figure):
    (workdir / "folder.png").mkdir()
    _refused(["plot", figure, "-o", "missing/x.png"], "does not exist", where=workdir)
    _refused(["plot", figure, "-o", "folder.png"], "folder.png", where=workdir)
    assert tiny_data == []


@pytest.mark.parametrize("figure", ["weight-init", "batchnorm"])
def test_output_inside_the_data_folder(workdir, tiny_data, figure):
    (workdir / "data").mkdir()
    _refused(["plot", figure, "--data-dir", "data", "-o", "data/x.png"], "data",
             where=workdir)
    assert tiny_data == []
