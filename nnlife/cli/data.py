"""``nnlife data NAME...``: check that datasets are on this machine (``--download`` fetches them).

Exit status 0 when every named dataset is there (its checksums verified unless ``--no-verify``),
2 with nnlife's message (every place looked at, the commands that fix it) when one is not.
``python -m nnlife data NAME`` is the same; ``main(argv)`` runs it from Python.
"""

from __future__ import annotations

import argparse
import sys

from ..datasets import NAMES, canonical_name
from ..errors import NnlifeError


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "names",
        nargs="*",
        default=["FashionMNIST"],
        metavar="NAME",
        help=f"dataset name(s): {', '.join(NAMES)}, any spelling (default FashionMNIST)",
    )
    p.add_argument("--download", action="store_true", help="fetch missing datasets with torchvision")
    p.add_argument("--root", default=None, help="folder to look in first (torchvision's layout)")
    p.add_argument("--no-verify", action="store_true", help="do not check the official MD5 sums")


def add_cli(subparsers) -> None:
    """Add ``nnlife data`` (calls ``ensure_dataset`` for each name)."""
    p = subparsers.add_parser(
        "data",
        help="check that datasets are here (and fetch them with --download)",
        description="Check that datasets are on this machine, with their official checksums; "
        "--download fetches missing ones with torchvision.",
    )
    _arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Check each dataset of ``args.names``; 0 when all are there, else 2 (each error printed)."""
    from ..generate.data import ensure_dataset

    status = 0
    for name in args.names:
        try:
            where = ensure_dataset(name, root=args.root, download=args.download, verify=not args.no_verify)
        except NnlifeError as exc:
            print(f"nnlife: {exc}", file=sys.stderr)
            status = 2
        else:
            checked = "checksums not checked" if args.no_verify else "checksums OK"
            print(f"{canonical_name(name)}: found in {where} ({checked})")
    return status


def main(argv: list[str] | None = None) -> int:
    """``nnlife data`` from Python: exit 0 when every named dataset is there, 2 if not."""
    p = argparse.ArgumentParser(
        prog="nnlife data",
        description="Check that datasets are on this machine (and fetch them with --download).",
    )
    _arguments(p)
    return run(p.parse_args(argv))


__all__ = ["add_cli", "main", "run"]
