"""Every option of every subcommand, given hostile values: the command either works (exit 0,
or 1 for a failed gradient check) or says what is wrong in one line with exit code 2.

The options are read from the parser itself, so a new option is attacked without a change
here. Values come from one pool of hostile tokens (negative, zero, huge, NaN, infinities,
empty, separators, devices, /proc, NUL-free junk) plus each option's own choices; examples
are derandomized (the same on every run) and each runs under the harness's time limit.
"""

from __future__ import annotations

import argparse
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnxp.cli import build_parser
from tests.adversarial.conftest import Result, cli

HOSTILE = ["-1", "0", "1", "2", "-0", "0.5", "1e308", "-1e308", "nan", "inf", "-inf", "1e-320",
           "100000000", "99999999999999999999", "", " ", "x", "ü", "--", "0x10", "1_0", "3.5",
           "/dev/null", "/dev/zero", "/proc/x", "no/such/dir/f", ".", "f.out", "model.npz",
           "junk.bin"]
"""What a careless or malicious user types as an option's value."""

PLAUSIBLE = ["1", "2", "3", "0.5", "0.01", "0.9", "f.out", "model.npz"]
"""Values an option may well accept, so that examples also reach the work behind the checks."""

SHORT = {"--iters": ["-1", "0", "1", "2", "x", "nan", ""], "--epochs": ["-1", "0", "1", "x", ""],
         "--trials": ["-1", "0", "1", "2", "x", ""]}
"""Options whose large values are legitimate long work: attacked with small and junk values."""

SLOW_MODELS = {"simple-conv", "deep-conv"}


def _actions(command: str) -> list[argparse.Action]:
    parser = build_parser()
    sub = parser.subcommands[command]
    return [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]


def _values(action: argparse.Action) -> st.SearchStrategy[list[str]]:
    """Hostile argv tokens for one option (its flag and values, or a positional's value)."""
    pool = SHORT.get(action.option_strings[0] if action.option_strings else "", HOSTILE)
    plausible = list(action.choices) if action.choices else PLAUSIBLE
    tokens = st.one_of(st.sampled_from(plausible), st.sampled_from(pool))
    if action.nargs == 0:
        values = st.just([])
    elif action.nargs in ("+", "*"):
        values = st.lists(tokens, min_size=0 if action.nargs == "*" else 1, max_size=3)
    else:
        values = tokens.map(lambda v: [v])
    if not action.option_strings:
        return values
    return values.map(lambda v: [action.option_strings[0], *v])


@st.composite
def _argv(draw, command: str) -> list[str]:
    actions = _actions(command)
    positional = [a for a in actions if not a.option_strings]
    optional = [a for a in actions if a.option_strings]
    argv = [command]
    for action in positional:
        argv += draw(_values(action))
    chosen = draw(st.lists(st.sampled_from(optional), max_size=5, unique_by=id)) if optional else []
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--no-such-option", "-x", "extra", "--help=1"])))
    for action in chosen:
        argv += draw(_values(action))
    if command == "train":
        if "--iters" not in argv and "--epochs" not in argv:
            argv += ["--iters", "3"]
        if "--gradient" in argv and any(m in argv for m in SLOW_MODELS):
            at = argv.index("--gradient")
            del argv[at : at + 2]
    if command == "plot" and argv[1:2] == ["optimizers"] and "--iters" not in argv:
        argv += ["--iters", "2"]
    if command == "search":
        for option in ("--trials", "--epochs"):
            if option not in argv:
                argv += [option, "1"]
    return argv


def _check(result: Result, argv: list[str]) -> None:
    assert "Traceback" not in result.err, (argv, result.err[-3000:])
    assert result.code in (0, 1, 2), (argv, result.code, result.err)
    if result.code == 2:
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, (argv, result.err)
        assert "allow_pickle" not in result.err
    assert result.peak < 2**30, (argv, f"peak {result.peak / 2**20:.0f} MiB")


@pytest.fixture
def files_in_workdir(workdir, tiny_data):
    """A trained model.npz, a book-shaped pickle and some junk in the working folder."""
    assert cli(["train", "--iters", "5", "--batch-size", "50", "--quiet", "--save",
                "model.npz"]).code == 0
    rng = np.random.default_rng(0)
    shapes = {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10),
              "b3": (10,)}
    arrays = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    (workdir / "book.pkl").write_bytes(pickle.dumps(arrays, protocol=2))
    (workdir / "junk.bin").write_bytes(rng.bytes(3000))
    return workdir


EXAMPLES = {"train": 120, "info": 10}
"""Examples per subcommand (train has the most options)."""

SETTINGS = settings( deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.mark.parametrize("command", ["train", "eval", "convert", "plot", "gradcheck", "info",
                                     "search"])
def test_hostile_options_get_one_line_or_work(files_in_workdir, command):
    @settings(SETTINGS, max_examples=EXAMPLES.get(command, 60))
    @given(argv=_argv(command))
    def attack(argv):
        _check(cli(argv), argv)

    attack()
