"""``nnlife report DATA... --out DIR``: the analysis notebooks as self-contained HTML pages."""

from __future__ import annotations

import sys

from ..datasets import NAMES
from ..report.runner import NOTEBOOKS


def add_cli(subparsers) -> None:
    """``nnlife report DATA... --out reports/``."""
    p = subparsers.add_parser(
        "report",
        help="run the analysis notebooks on lifespan tables and render HTML reports",
        description="Execute the analysis notebooks (curve shapes; structure against fitness) "
        "with papermill on the given tables and render each as a self-contained "
        "HTML page (code hidden, figures embedded).",
    )
    p.add_argument(
        "data",
        nargs="+",
        metavar="DATA",
        help="table files, folders of tables or globs, in either layout "
        "(nnlife batches and the published dataset's tables, mixed freely)",
    )
    p.add_argument(
        "--out",
        default="reports",
        metavar="DIR",
        help="folder for the HTML pages and executed notebooks (default: reports)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=[],
        metavar="NAME",
        help=f"datasets to include ({', '.join(NAMES)}); default: all",
    )
    p.add_argument(
        "--notebooks",
        nargs="+",
        default=list(NOTEBOOKS),
        metavar="NAME",
        help=f"notebooks to run (default: {' '.join(NOTEBOOKS)})",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``nnlife report`` with parsed ``args``; returns the exit code."""
    from ..report.runner import render_reports

    html = render_reports(
        args.data,
        args.out,
        notebooks=args.notebooks,
        datasets=args.datasets,
        log=lambda line: print(line, file=sys.stderr),
    )
    for h in html:
        print(h)
    return 0
