"""Every script of examples/ runs as a reader runs it: ``cd examples/chNN && python NAME.py
--quick --out DIR``, within a minute, without a traceback, printing something; every figure it
names is a PNG under DIR, and it writes nothing into examples/. The scripts are exactly the
book's 42 of chapters 2 to 8, under the book's names.

Marked ``examples`` (tests/conftest.py): left out of a plain ``pytest`` run, run by naming
this file or by ``nox -s examples``. NNXP_BOOK_DIR is set for the scripts (the
``example_book_dir`` fixture: the book's files where they are found, else random weights in
the book's shapes); quick MNIST is the offline mnist-5k subset, so nothing is downloaded.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.example_runner import (
    EXAMPLES,
    TIMEOUT,
    example_id,
    example_scripts,
    is_png,
    listing,
    run_example,
)

BOOK_SCRIPTS = {
    "ch02": "and_gate nand_gate or_gate xor_gate",
    "ch03": "mnist_show neuralnet_mnist neuralnet_mnist_batch relu sig_step_compare sigmoid "
            "step_function",
    "ch04": "gradient_1d gradient_2d gradient_method gradient_simplenet train_neuralnet "
            "two_layer_net",
    "ch05": "buy_apple buy_apple_orange gradient_check layer_naive train_neuralnet two_layer_net",
    "ch06": "batch_norm_gradient_check batch_norm_test hyperparameter_optimization "
            "optimizer_compare_mnist optimizer_compare_naive overfit_dropout overfit_weight_decay "
            "weight_init_activation_histogram weight_init_compare",
    "ch07": "apply_filter gradient_check simple_convnet train_convnet visualize_filter",
    "ch08": "awesome_net deep_convnet half_float_network misclassified_mnist train_deepnet",
}
"""The book's scripts of chapters 2 to 8, by chapter (its repository's file names)."""

SCRIPTS = example_scripts()


def test_the_examples_are_the_books_42_scripts():
    want = {f"{chapter}/{name}" for chapter, names in BOOK_SCRIPTS.items()
            for name in names.split()}
    assert len(want) == 42
    have = {example_id(script) for script in SCRIPTS}
    assert have == want, (f"missing: {sorted(want - have) or 'none'}; "
                          f"not the book's: {sorted(have - want) or 'none'}")


@pytest.mark.parametrize("script", SCRIPTS, ids=[example_id(s) for s in SCRIPTS])
def test_example_runs_quick(script, example_book_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    before = listing(EXAMPLES)
    try:
        run = run_example(script, out, example_book_dir)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{example_id(script)} --quick still ran after {TIMEOUT} s; its output: "
                    f"{exc.stdout!r} {exc.stderr!r}")
    written = sorted(listing(EXAMPLES) - before)
    assert run.returncode == 0, f"exit code {run.returncode}:\n{run.stderr}"
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout.strip(), "printed nothing"
    for figure in run.figures:
        assert is_png(figure), f"{figure}: not a PNG file"
        assert figure.resolve().is_relative_to(out.resolve()), f"{figure}: not under --out {out}"
    assert not written, f"wrote into examples/ (files go under --out): {written}"


def test_the_stand_in_book_folder_is_read_as_the_books(tmp_path):
    from matplotlib.image import imread

    from nnxp.book_weights import load_book_weights
    from tests.example_runner import BOOK_FILES, holds_book_files, make_book_dir

    book = make_book_dir(tmp_path)
    assert holds_book_files(book) and len(BOOK_FILES) == 4
    for name, arch in [("ch03/sample_weight.pkl", "ch03"), ("ch07/params.pkl", "ch07"),
                       ("ch08/deep_convnet_params.pkl", "ch08")]:
        net = load_book_weights(book / name, arch)
        assert float(abs(net.params["W1"]).max()) > 0
    assert imread(book / "dataset" / "lena_gray.png").shape == (64, 64)
    assert imread(book / "dataset" / "lena.png").shape == (64, 64, 3)


def test_examples_full_records_each_script_and_merges_runs(tmp_path, capsys):
    from benchmarks import examples_full

    record = tmp_path / "examples.json"
    common = ["--out", str(tmp_path / "out"), "--record", str(record)]
    assert examples_full.main(["ch02/and_gate", *common]) == 0
    assert examples_full.main(["ch0[2]", "ch05/buy_apple*", "--skip", "ch02", "--skip",
                               "buy_apple_orange", *common]) == 0
    runs = json.loads(record.read_text())["examples"]
    assert sorted(runs) == ["ch02/and_gate", "ch05/buy_apple"]
    assert runs["ch02/and_gate"]["stdout_tail"] == ["(0, 0) -> 0", "(1, 0) -> 0", "(0, 1) -> 0",
                                                   "(1, 1) -> 1"]
    assert runs["ch05/buy_apple"]["exit_code"] == 0 and runs["ch05/buy_apple"]["seconds"] > 0
    assert re.search(r"^ch05/buy_apple +0 +[0-9.]+ +dTax: 200", capsys.readouterr().out, re.M)
    with pytest.raises(SystemExit, match="no example matches 'ch09'"):
        examples_full.main(["ch09", *common])
