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
        description="Execute the analysis notebooks (curve shapes; structure against fitness; early "
        "prediction and early termination) "
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
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a notebook parameter, as papermill -p (repeat for more): VALUE is read as "
        "JSON where it parses (20, [2, 5], true), else as a string; each notebook gets the "
        "parameters its parameters cell declares (papermill --help-notebook NOTEBOOK lists "
        "them), and one that no notebook declares is refused",
    )
    p.set_defaults(func=run)


def parameter_value(text: str):
    """A ``--parameter`` value: JSON where it parses (numbers, lists, true/false/null), else
    the text itself (a string parameter needs no quotes)."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def run(args) -> int:
    """Run ``nnlife report`` with parsed ``args``; returns the exit code."""
    from ..report.runner import render_reports

    html = render_reports(
        args.data,
        args.out,
        notebooks=args.notebooks,
        datasets=args.datasets,
        parameters={name: parameter_value(value) for name, value in args.parameter},
        log=lambda line: print(line, file=sys.stderr),
    )
    for h in html:
        print(h)
    return 0
