"""``nnxp info``: the backends, whether each is usable here, its devices, or why not; and
whether distributed training can start here."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``nnxp info`` to the subparsers."""
    parser = subparsers.add_parser("info", help="list the backends and which are usable here")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """List the backends, whether each is usable here, its devices, or why not."""
    from nnxp import __version__
    from nnxp.backends import backend_status, devices

    print(f"nnxp {__version__} (python {sys.version.split()[0]})")
    print("backends (nnxp train --backend NAME [--device DEV]):")
    for name, reason in backend_status().items():
        if reason is None:
            print(f"  {name:<17} usable    devices: {', '.join(devices(name))}")
        else:
            print(f"  {name:<17} unusable  {reason}")
    from nnxp.distributed.launch import availability

    print(f"distributed (mpiexec -n N nnxp train --distributed): {availability()}")
    return 0
