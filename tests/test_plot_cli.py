"""``nnxp plot``: each figure gets exactly the options it declares; --help lists them all."""

from __future__ import annotations

import pytest

from nnxp.cli import build_parser
from nnxp.cli.common import flag
from nnxp.cli.plot import OPTIONS
from nnxp.plot import FIGURES, figures_taking
from tests.adversarial.conftest import assert_refused, cli

pytestmark = pytest.mark.host

pytest.importorskip("matplotlib")



def test_help_lists_every_figure_with_its_summary_and_options(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["plot", "--help"])
    text = capsys.readouterr().out
    epilog = text[text.index("figures (nnxp plot FIGURE"):]
    words = " ".join(epilog.split())
    for name, figure in FIGURES.items():
        assert f"\n  {name} " in epilog and f"{name} {figure.summary}" in words
        if figure.options:
            assert f"options: {' '.join(flag(o) for o in figure.options)}" in words
    for dest in OPTIONS:
        assert flag(dest) in text


def test_optimizers_takes_its_eight_options():
    assert FIGURES["optimizers"].options == ("optimizers", "iters", "batch_size", "dataset",
                                             "data_dir", "backend", "device", "seed")
    assert figures_taking("iters") == ["optimizers", "weight-init"]
    assert figures_taking("colour") == []


@pytest.mark.parametrize("dest", [d for d in OPTIONS if figures_taking(d)])
def test_an_option_the_figure_does_not_take_names_those_that_do(workdir, dest):
    """``nnxp plot descent --X v`` (descent takes nothing): one line naming the takers."""
    value = {"optimizers": "sgd", "activation": "relu", "backend": "numpy", "dataset": "mnist",
             "weight_scales": "he", "dropout": "0.5", "data_dir": "."}.get(dest, "2")
    takers = figures_taking(dest)
    result = cli(["plot", "descent", flag(dest), value])
    assert_refused(result, f"{flag(dest)} applies to `nnxp plot {takers[0]}`", "only")
    if len(takers) > 1:
        assert f" and `nnxp plot {takers[-1]}` only" in result.err
    assert list(workdir.iterdir()) == []


def test_figure_options_reach_the_draw_function(workdir, monkeypatch):
    """Only the options typed are passed (the figure's defaults apply to the others), with
    the report callable."""
    import nnxp.plot.optimizers as module

    calls = []

    def fake(path, report=None, **options):
        calls.append((path, options))
        report("drawing")
        return path

    monkeypatch.setattr(module, "plot_optimizers", fake)
    result = cli(["plot", "optimizers", "--iters", "7", "--seed", "0", "-o", "x.png"])
    assert result.code == 0, result.err
    assert calls == [("x.png", {"iters": 7, "seed": 0})]
    assert result.out.splitlines() == ["drawing", "optimizers: x.png"]
