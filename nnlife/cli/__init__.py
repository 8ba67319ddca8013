"""The ``nnlife`` command line: ``nnlife generate``, ``report``, ``reproduce``, ``data``, ``fetch``
and ``space``.

Each command is one module of this package (``COMMANDS``) that defines ``add_cli(subparsers)``,
which adds its parser and sets ``func`` (args -> exit code). The modules import torch only when
a command runs, so ``nnlife --help`` is fast. An ``NnlifeError`` ends a command with one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import NnlifeError

# modules of nnlife.cli, in --help order
COMMANDS = ("generate", "report", "reproduce", "data", "fetch", "space")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nnlife",
        description="Generate and analyse lifespan datasets "
        "of random CNNs (learning curves recorded every half epoch).",
    )
    p.add_argument("--version", action="version", version=f"nnlife {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NnlifeError as e:  # errors for people: one clear line, no traceback
        print(f"nnlife {args.command}: {e}", file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "main", "parser"]
