"""nnxp.companion: what the book-companion scripts share (options, errors, files, data)."""

from __future__ import annotations

import pytest

from nnxp import companion
from nnxp.errors import NnxpError


def test_run_parses_quick_and_out_and_returns_mains_code(tmp_path, capsys):
    seen = {}

    def main(args):
        seen.update(vars(args))
        return 3

    with pytest.raises(SystemExit) as stop:
        companion.run(main, "doc", lambda p: p.add_argument("--n", type=int, default=1),
                      argv=["--quick", "--out", str(tmp_path), "--n", "7"])
    assert stop.value.code == 3
    assert seen == {"quick": True, "out": str(tmp_path), "n": 7}


def test_an_nnxp_error_is_one_line_and_exit_2(capsys):
    def main(args):
        raise NnxpError("the problem; the fix")

    with pytest.raises(SystemExit) as stop:
        companion.run(main, argv=[])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert err.count("\n") == 1 and err.endswith("error: the problem; the fix\n")


def test_a_bad_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        companion.run(lambda args: 0, argv=["--quick=yes"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "--help" in err


def test_book_file_prefers_the_given_path_then_nnxp_book_dir(tmp_path, monkeypatch):
    (tmp_path / "ch07").mkdir()
    pkl = tmp_path / "ch07" / "params.pkl"
    pkl.write_bytes(b"x")
    monkeypatch.setenv("NNXP_BOOK_DIR", str(tmp_path))
    assert companion.book_file("ch07/params.pkl") == pkl
    other = tmp_path / "mine.pkl"
    other.write_bytes(b"y")
    assert companion.book_file("ch07/params.pkl", other) == other


@pytest.mark.parametrize("book_dir", [None, "empty"])
def test_book_file_absent_says_how_to_get_it(tmp_path, monkeypatch, book_dir):
    if book_dir is None:
        monkeypatch.delenv("NNXP_BOOK_DIR", raising=False)
    else:
        monkeypatch.setenv("NNXP_BOOK_DIR", str(tmp_path))
    with pytest.raises(NnxpError) as err:
        companion.book_file("ch08/deep_convnet_params.pkl")
    message = str(err.value)
    assert "\n" not in message
    assert "git clone https://github.com/oreilly-japan/deep-learning-from-scratch" in message
    assert "--weights PATH" in message
    assert ("NNXP_BOOK_DIR is not set" if book_dir is None else "has no ch08/") in message


def test_book_file_refuses_a_given_path_that_is_not_a_file(tmp_path):
    with pytest.raises(NnxpError, match="no such file"):
        companion.book_file("ch03/sample_weight.pkl", tmp_path)


def test_quick_mnist_is_the_offline_subset_in_the_books_format():
    import argparse

    (x_train, t_train), (x_test, t_test) = companion.load_mnist(
        argparse.Namespace(quick=True), one_hot_label=True)
    assert x_train.shape == (4000, 784) and x_test.shape == (1000, 784)
    assert t_train.shape == (4000, 10) and float(t_train.sum()) == 4000.0
    assert 0.0 <= float(x_train.min()) and float(x_train.max()) == 1.0


def test_figures_are_saved_under_out_and_announced(tmp_path, capsys):
    import argparse

    pytest.importorskip("matplotlib")
    fig, (ax,) = companion.figure()
    ax.plot([0, 1], [1, 0])
    path = companion.save(fig, "line.png", argparse.Namespace(out=str(tmp_path)))
    assert path == tmp_path / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == f"figure: {path}\n"


def test_figure_path_is_checked_before_the_run(tmp_path):
    import argparse

    args = argparse.Namespace(out=str(tmp_path))
    assert companion.figure_path("a.png", args) == tmp_path / "a.png"
    assert list(tmp_path.iterdir()) == []  # checked, nothing left behind
    with pytest.raises(NnxpError, match="does not exist"):
        companion.figure_path("a.png", argparse.Namespace(out=str(tmp_path / "nowhere")))
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(NnxpError, match="dir.png"):
        companion.figure_path("dir.png", args)
