"""The ``nnxp`` command line: every subcommand prints errors as one line and exits 2."""

from __future__ import annotations

import argparse
import sys

from nnxp.errors import NnxpError


def _cmd_info(args: argparse.Namespace) -> int:
    """List the backends, whether each is usable here, its devices, or why not."""
    from nnxp import __version__
    from nnxp.backend import backend_status, devices

    print(f"nnxp {__version__}")
    for name, reason in backend_status().items():
        if reason is None:
            print(f"  {name:<17} usable    devices: {', '.join(devices(name))}")
        else:
            print(f"  {name:<17} unusable  {reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nnxp", description="The networks of 'Deep Learning from Scratch' on any backend."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="list the backends and which are usable here")
    info.set_defaults(func=_cmd_info)
    from nnxp.gradcheck import add_gradcheck_parser

    add_gradcheck_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; NnxpError and bad input become one line on stderr and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NnxpError as exc:
        print(f"nnxp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnxp {args.command}: interrupted", file=sys.stderr)
        return 130
