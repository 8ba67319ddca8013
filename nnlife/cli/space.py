"""``nnlife space DATA... --out FILE``: the search space the tables were drawn from, as a space file."""

from __future__ import annotations


def add_cli(subparsers) -> None:
    """Add ``nnlife space`` (calls ``infer_spaces`` and ``write_space``)."""
    p = subparsers.add_parser(
        "space",
        help="infer the search space of a set of tables and write it as a space file",
        description="Infer the search space that tables were drawn from (per dataset: ranges, "
        "uniform or log-uniform, shares of zeros, layer-count frequencies) and write it as a "
        "space file (JSON) for nnlife generate --space FILE.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="tables, folders of tables or globs")
    p.add_argument("--out", required=True, help="space file to write, e.g. data/published-space.json")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..analyse.catalog import load_catalog
    from ..analyse.inferspace import infer_spaces
    from ..space import write_space

    catalog = load_catalog(args.data)
    spaces = infer_spaces(catalog)
    counts = catalog.table.groupby("dataset").size().to_dict()
    write_space(args.out, spaces, note={"inferred_from": [str(d) for d in args.data], "tables": counts})
    for dataset, space in spaces.items():
        print(
            f"{dataset}: {counts.get(dataset, 0)} tables; conv layers {space.conv_layers[0]}-"
            f"{space.conv_layers[1]}, learning rate {space.learning_rate[0]:.3g}-"
            f"{space.learning_rate[1]:.3g} ({space.scale('learning_rate')})"
        )
    print(f"space file: {args.out}")
    return 0
