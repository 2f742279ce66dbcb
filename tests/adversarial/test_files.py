"""Outputs: regular files or absent, distinct from each other and from every input."""

from __future__ import annotations

import os

from tests.adversarial.conftest import assert_refused, cli, snapshot

TRAIN = ["train", "--iters", "20", "--batch-size", "50", "--quiet"]


def test_save_and_metrics_on_one_file_is_refused(workdir, tiny_data):
    before = snapshot(workdir)
    assert_refused(cli([*TRAIN, "--save", "m.npz", "--metrics", "m.npz"]), "--save", "--metrics")
    assert snapshot(workdir) == before and tiny_data == []


def test_save_to_a_device_node_is_refused(workdir, tiny_data):
    assert_refused(cli([*TRAIN, "--save", os.devnull]), "character device")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
