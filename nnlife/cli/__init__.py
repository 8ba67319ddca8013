"""The ``nnlife`` command line: ``nnlife generate``, ``nnlife report``, ``nnlife reproduce``.

Each subcommand lives with the function it calls: the module named below defines
``add_cli(subparsers)``, which adds its parser and sets ``func`` (args -> exit code). Those modules
import torch only when a command runs, so ``nnlife --help`` is fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import NnlifeError

COMMANDS = ("batch", "report", "reproduce")  # modules in nnlife/ that define add_cli(subparsers)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnlife", description="Generate and analyse lifespan datasets "
                                "of random CNNs (learning curves recorded every half epoch).")
    p.add_argument("--version", action="version", version=f"nnlife {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).add_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NnlifeError as e:  # errors for people: one clear line, no traceback
        print(f"nnlife {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
