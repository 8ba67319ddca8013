"""``nnlife fetch published``: the published dataset (or another Dataverse deposit) in one command."""

from __future__ import annotations

import sys

from ..fetch.dataverse import DEFAULT_DOI, DEFAULT_SERVER


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def add_cli(subparsers) -> None:
    """Add ``fetch`` (with its one subcommand, ``published``) to the nnlife command line."""
    fetch = subparsers.add_parser(
        "fetch",
        help="download a published dataset of lifespan tables",
        description="Download a published dataset of lifespan tables.",
    )
    sub = fetch.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = sub.add_parser(
        "published",
        help="the 6000 published lifespans from their Dataverse deposit",
        description="Download the published lifespans (Rorabaugh et al., Data in Brief 2022) from "
        "their Dataverse deposit, verified and resumable, and put every table under "
        "OUT/<dataset>/ (CIFAR100, FashionMNIST, SVHN) by its own dataset column.",
    )
    p.add_argument("--out", default="data/published", help="output folder (default: %(default)s)")
    p.add_argument("--doi", default=DEFAULT_DOI, help="the deposit's DOI (default: %(default)s)")
    p.add_argument(
        "--server", default=DEFAULT_SERVER, help="the Dataverse installation or mirror (default: %(default)s)"
    )
    p.add_argument(
        "--version",
        dest="dataset_version",
        default=None,
        metavar="VERSION",
        help="a published version of the deposit, e.g. 1.0 (default: the latest)",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be downloaded, with sizes")
    p.add_argument("--workers", type=int, default=4, help="files downloaded at a time (default: 4)")
    p.add_argument("--retries", type=int, default=5, help="retries per request (default: 5)")
    p.add_argument(
        "--no-range",
        action="store_true",
        help="never resume with HTTP Range requests (restart interrupted files)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from ..fetch.published import fetch_published

    result = fetch_published(
        args.out,
        doi=args.doi,
        server=args.server,
        version=args.dataset_version,
        dry_run=args.dry_run,
        workers=args.workers,
        retries=args.retries,
        use_range=not args.no_range,
    )
    head = f"{result.doi} version {result.version} on {result.server}"
    if result.dry_run:
        print(f"{head}: {len(result.planned)} file(s)")
        for pf in result.planned:
            print(f"  {pf.state:8s} {_size(pf.file.size):>10s}  {pf.file.path}")
        total = sum(pf.to_transfer for pf in result.planned)
        print(f"would download {_size(total)} into {result.out_dir}")
        return 0
    print(
        f"{head}: {result.downloaded} file(s) downloaded ({_size(result.transferred_bytes)}), "
        f"{result.verified} already in place and verified"
    )
    for dataset, n in result.tables.items():
        print(f"  {result.out_dir / dataset}: {n} tables")
    if result.other:
        print(f"  {len(result.other)} file(s) that are not tables, under {result.out_dir / 'other'}")
    if result.broken:
        print(
            f"  {len(result.broken)} table(s) that do not parse, under {result.out_dir / 'broken'} "
            "(reasons in the manifest)",
            file=sys.stderr,
        )
    print(f"manifest: {result.manifest}")
    return 0
