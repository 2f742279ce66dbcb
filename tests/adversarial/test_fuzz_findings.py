"""Inputs the fuzzers in fuzz/ found, kept as regression cases: each must be refused with one
NnxpError line, never another exception. Files in fuzz_findings/ are named TARGET-SHA1."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnxp.errors import NnxpError

FINDINGS = Path(__file__).parent / "fuzz_findings"



@pytest.mark.parametrize("path", sorted(FINDINGS.glob("model_file-*")), ids=lambda p: p.name)
def test_model_file_findings_are_one_line_refusals(path, tmp_path):
    from nnxp.io import read_model_file

    with pytest.raises(NnxpError) as info:
        read_model_file(path)
    assert "\n" not in str(info.value)


def test_the_findings_folder_holds_cases():
    assert len(list(FINDINGS.glob("model_file-*"))) == 6
