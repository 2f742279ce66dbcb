"""``nnxp plot``'s new inputs attacked: --image (a FIFO, a folder, a device, a huge file, a
PNG declaring a huge size, not a PNG, a damaged PNG), --weights (the wrong architecture, not
weights at all), --count and --test-size (0, huge), outputs that are inputs. Each is one
line with exit code 2, and nothing is written."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest

from tests.adversarial.conftest import assert_refused, cli, snapshot
from tests.plot_files import book_pickle, model_file, png

pytest.importorskip("matplotlib")


@pytest.fixture
def files(workdir, tiny_data, monkeypatch):
    """A book folder (ch07, ch08 pickles of random weights, a gray PNG) as NNXP_BOOK_DIR, a
    conv model file for tiny_data's 8x8 images, and a PNG, in the working folder."""
    book = workdir / "book"
    for folder in ("ch07", "ch08", "dataset"):
        (book / folder).mkdir(parents=True)
    book_pickle(book / "ch07" / "params.pkl", "ch07")
    book_pickle(book / "ch08" / "deep_convnet_params.pkl", "ch08")
    png(book / "dataset" / "lena_gray.png", np.random.default_rng(0).random((32, 32)))
    monkeypatch.setenv("NNXP_BOOK_DIR", str(book))
    model_file(workdir / "conv.npz")
    png(workdir / "in.png", np.random.default_rng(1).random((20, 24, 3)))
    return workdir


def _refused(argv, *needles, where):
    before = snapshot(where)
    assert_refused(cli(argv), *needles)
    assert snapshot(where) == before


def _png_declaring(width, height):
    """A PNG whose header declares width x height (its one IDAT holds a few bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_image_that_is_not_a_regular_file(files):
    os.mkfifo(files / "fifo")
    (files / "folder").mkdir()
    figure = ["plot", "filter-responses", "--weights", "conv.npz"]
    _refused([*figure, "--image", "fifo"], "image fifo is a FIFO (named pipe)", where=files)
    _refused([*figure, "--image", "folder"], "image folder is a directory", where=files)
    _refused([*figure, "--image", "/dev/zero"], "is a character device", where=files)
    _refused([*figure, "--image", "none.png"], "image none.png does not exist", where=files)


def test_image_too_large_or_not_a_png(files):
    figure = ["plot", "filter-responses", "--weights", "conv.npz", "--image"]
    with open(files / "huge.png", "wb") as f:
        f.truncate(40 * 2**20)
    _refused([*figure, "huge.png"], "PNG image huge.png is 41.9 MB, more than the 33.6 MB a PNG image can be",
             where=files)
    (files / "wide.png").write_bytes(_png_declaring(100_000, 100_000))
    _refused([*figure, "wide.png"], "is 100000 x 100000 pixels; the most is 1024 x 1024",
             where=files)
    (files / "zero.png").write_bytes(_png_declaring(0, 5))
    _refused([*figure, "zero.png"], "is 0 x 5 pixels", where=files)
    (files / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(200))
    _refused([*figure, "photo.jpg"], "image photo.jpg is not a PNG file", where=files)
    (files / "empty.png").write_bytes(b"")
    _refused([*figure, "empty.png"], "is not a PNG file", where=files)
    data = (files / "in.png").read_bytes()
    (files / "cut.png").write_bytes(data[:60])
    _refused([*figure, "cut.png"], "image cut.png is a damaged PNG", where=files)
    (files / "head.png").write_bytes(data[:20])
    _refused([*figure, "head.png"], "truncated or damaged PNG", where=files)
    (files / "lie.png").write_bytes(_png_declaring(50, 50))
    _refused([*figure, "lie.png"], "image lie.png is a damaged PNG", where=files)


def test_image_in_colour_and_the_default_image_work(files):
    result = cli(["plot", "filter-responses", "--weights", "conv.npz", "--image", "in.png",
                  "-o", "r.png"])
    assert result.code == 0, result.err
    assert "applied to in.png (20 x 24)" in result.out
    result = cli(["plot", "filter-responses", "-o", "d.png"])
    assert result.code == 0, result.err
    assert "dataset/lena_gray.png (32 x 32)" in result.out and "SimpleConvNet" in result.out


def test_weights_of_the_wrong_architecture(files):
    book_pickle(files / "ch03.pkl", "ch03")
    model_file(files / "dense.npz", "two-layer")
    model_file(files / "big.npz", input_dim=[1, 28, 28])
    (files / "junk.bin").write_bytes(np.random.default_rng(0).bytes(3000))
    _refused(["plot", "filters", "--weights", "ch03.pkl"],
             "--weights ch03.pkl holds W1 (784, 50)", "not the weights of SimpleConvNet",
             where=files)
    _refused(["plot", "filters", "--weights", "dense.npz"],
             "two-layer model file dense.npz has no convolution filters (its W1 is (64, 10))",
             where=files)
    _refused(["plot", "filter-responses", "--weights", "dense.npz"],
             "has no convolution filters", where=files)
    _refused(["plot", "misclassified", "--weights", "big.npz"],
             "simple-conv model file big.npz takes 784 inputs", "MNIST needs 64 inputs",
             where=files)
    _refused(["plot", "misclassified", "--weights", "junk.bin"], "junk.bin", where=files)
    _refused(["plot", "filters", "--weights", "book"], "is a directory", where=files)


def test_weights_missing_without_the_book(files, monkeypatch):
    monkeypatch.delenv("NNXP_BOOK_DIR")
    for figure, name in (("filters", "ch07/params.pkl"), ("filter-responses", "ch07/params.pkl"),
                         ("misclassified", "ch08/deep_convnet_params.pkl")):
        _refused(["plot", figure], f"the book's {name} is needed and NNXP_BOOK_DIR is not set",
                 "--weights PATH", where=files)


@pytest.mark.parametrize(("argv", "needles"), [
    (["mnist-samples", "--count", "0"], ["argument --count", "0 is not a positive integer"]),
    (["mnist-samples", "--count", str(10**9)], ["--count 1000000000 is not in 1..100"]),
    (["mnist-samples", "--count", "-5"], ["argument --count"]),
    (["mnist-samples", "--count", "1e3"], ["'1e3' is not an integer"]),
    (["misclassified", "--weights", "conv.npz", "--count", str(10**9)], ["not in 1..100"]),
    (["misclassified", "--weights", "conv.npz", "--test-size", "0"], ["argument --test-size"]),
    (["misclassified", "--weights", "conv.npz", "--test-size", str(10**9)],
     ["--test-size 1000000000 is more than mnist-5k's 200 test images"]),
])
def test_counts_of_zero_or_a_billion(files, argv, needles):
    _refused(["plot", *argv], *needles, where=files)


def test_a_billion_samples_is_refused_before_data_is_read(files, tiny_data):
    _refused(["plot", "mnist-samples", "--count", str(10**9)], "not in 1..100", where=files)
    assert tiny_data == []


def test_outputs_that_are_inputs(files):
    book = files / "book"
    _refused(["plot", "filters", "--weights", "conv.npz", "-o", "conv.npz"],
             "-o conv.npz is also the input --weights", where=files)
    _refused(["plot", "filter-responses", "--weights", "conv.npz", "--image", "in.png", "-o",
              "in.png"], "-o in.png is also the input --image", where=files)
    target = book / "ch07" / "params.pkl"
    _refused(["plot", "filters", "-o", target], f"-o {target} is also the input --weights",
             where=files)
    _refused(["plot", "misclassified", "-o", book / "ch08" / "deep_convnet_params.pkl"],
             "is also the input --weights", where=files)


def test_image_and_dataset_together_are_refused(files):
    _refused(["plot", "filter-responses", "--image", "in.png", "--dataset", "mnist"],
             "give either --image or them", where=files)
