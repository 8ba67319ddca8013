"""``nnlife reproduce TABLE``: rebuild and retrain a lifespan from its table, compare the curves."""

from __future__ import annotations

import sys

from ..errors import ParameterError


def add_cli(subparsers) -> None:
    """Add ``nnlife reproduce`` (calls ``reproduce``)."""
    p = subparsers.add_parser(
        "reproduce",
        help="rebuild and retrain a lifespan from its table alone; compare the curves",
        description="Rebuild the network and training of one lifespan table, train it again on the "
        "same data and compare the curves. Exit status 0: identical or within noise; "
        "1: different; 2: an error (e.g. the dataset is missing).",
    )
    p.add_argument("table", metavar="TABLE", help="a lifespan table (.txt), nnlife's or the published layout")
    p.add_argument("--epochs", type=float, default=None, help="replay only the first N epochs")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default %(default)s)")
    p.add_argument("--data-root", default=None, help="folder to look for the dataset in first")
    p.add_argument("--no-save", action="store_true", help="do not write <id>.replay.txt next to the table")
    p.add_argument("--plot", default=None, metavar="FILE", help="also save the figure (png, svg, pdf)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``nnlife reproduce`` with parsed ``args``; returns the exit code (0, 1 or 2)."""
    import pandas as pd

    from ..generate.reproduce import ORIGINAL_UNKNOWNS, reproduce
    from ..report.lifespan import plot_replay
    from ..table import read_lifespan

    life = read_lifespan(args.table)
    if args.plot:
        _check_plot(args.plot)  # before training: a replay is never lost to a bad figure path
    net = life.net
    print(
        f"table {life.id}: {life.dataset}, {life.layout} layout, {len(life.curve)} rows, status {life.status}"
    )
    print(
        f"network {net.id}: {net.n_params:,} parameters, {net.flops_per_image:,} FLOPs per image "
        f"(forward), {len(net.conv)} conv + {len(net.fc)} FC layers"
    )
    if life.layout == "original":
        print(f"note: {ORIGINAL_UNKNOWNS}")
    sys.stdout.flush()
    bar = None
    progress = None
    if not args.quiet:
        from tqdm.auto import tqdm

        def progress(done, total, row):
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="record", desc="replay", file=sys.stderr)
            bar.update(done - bar.n)

    epochs = args.epochs
    if epochs is not None and float(epochs).is_integer():
        epochs = int(epochs)
    try:
        comp = reproduce(
            args.table,
            device=args.device,
            epochs=epochs,
            data_root=args.data_root,
            save=not args.no_save,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        print(comp.curves.to_string(index=False))
    print(comp.summary())
    if args.plot:
        plot_replay(comp).savefig(args.plot, bbox_inches="tight")
        print(f"figure: {args.plot}")
    return 0 if comp.verdict in ("identical", "within noise") else 1


def _check_plot(plot: str) -> None:
    """ParameterError unless the figure can be saved at ``plot`` (its folder exists, its suffix
    is a format matplotlib writes)."""
    from pathlib import Path

    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(plot)
    if not path.parent.is_dir():
        raise ParameterError(f"--plot {plot}: the folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise ParameterError(f"--plot {plot}: is a folder; name the figure file, e.g. {path / 'replay.png'}")
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lstrip(".").lower() not in formats:
        raise ParameterError(
            f"--plot {plot}: unknown figure format {path.suffix!r}; use one of "
            f"{', '.join('.' + f for f in sorted(formats))}"
        )
