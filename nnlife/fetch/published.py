"""``fetch_published``: a Dataverse deposit of lifespan tables, downloaded, verified and sorted.

Layout of the output folder ``OUT`` (default ``data/published``):

- ``OUT/CIFAR100/``, ``OUT/FashionMNIST/``, ``OUT/SVHN/``: every table, by its dataset column;
- ``OUT/other/``: the deposit's files that are not tables; ``OUT/broken/``: tables that do not parse;
- ``OUT/fetch-manifest.json``: server, DOI, version, each deposit file with its checksum and
  what came out of it, and the count of tables per dataset;
- ``OUT/.downloads/``: the deposit's files as downloaded (archives included), kept so that a
  rerun verifies them instead of downloading them again; hidden, so the catalog does not see them.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..atomic import atomic_write
from ..errors import FetchError
from . import archives
from .dataverse import DEFAULT_DOI, DEFAULT_SERVER, Listing, list_files
from .download import FileResult, download_all, plan
from .sort import Placed, place
from .transport import RetryPolicy

MANIFEST = "fetch-manifest.json"
DOWNLOADS = ".downloads"
STAGING = ".fetch-staging"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch_published`` did (or, for a dry run, would do)."""

    out_dir: Path
    server: str
    doi: str
    version: str  # the dataset version fetched, e.g. "1.0"
    dry_run: bool
    planned: tuple = ()  # PlannedFile per deposit file
    downloaded: int = 0  # files transferred in this run
    verified: int = 0  # files already in place and verified
    transferred_bytes: int = 0  # bytes received in this run
    tables: dict = field(default_factory=dict)  # dataset -> number of tables under OUT/<dataset>/
    other: tuple = ()  # paths (relative to OUT) of files that are not tables
    broken: tuple = ()  # (path, reason) of tables that do not parse
    manifest: Path | None = None  # OUT/fetch-manifest.json (None for a dry run)


def _write_json(path: Path, doc: dict) -> None:
    atomic_write(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")


def _previous(out: Path) -> dict:
    """The previous run's outputs per deposit file id, when they are all still in place."""
    try:
        doc = json.loads((out / MANIFEST).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    reuse = {}
    for entry in doc.get("files", []):
        outputs = entry.get("outputs")
        if outputs is None:
            continue
        if all(
            (out / o["path"]).is_file() and (out / o["path"]).stat().st_size == o["size"] for o in outputs
        ):
            reuse[(entry["id"], entry["checksum"])] = [Placed(**o) for o in outputs]
    return reuse


def _sort_one(result: FileResult, out: Path, limits: archives.Limits) -> list[Placed]:
    f = result.file
    if archives.archive_suffix(f.path) is None:
        return [place(result.path, out, f.path)]
    staging = out / STAGING / str(f.id)
    shutil.rmtree(staging, ignore_errors=True)  # left over from an interrupted run
    members = archives.extract(result.path, staging, limits)
    try:
        return [place(staging / m, out, f.path, m.as_posix(), move=True) for m in members]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch_published(
    out_dir="data/published",
    doi: str = DEFAULT_DOI,
    server: str = DEFAULT_SERVER,
    version: str | None = None,
    dry_run: bool = False,
    workers: int = 4,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    use_range: bool = True,
    progress: bool | None = None,
    max_extract_bytes: int = archives.Limits.max_bytes,
) -> FetchResult:
    """Fetch a Dataverse deposit of lifespan tables into ``out_dir``, verified and sorted.

    ``doi``/``server``: the deposit (default: the published 6000 lifespans, doi:10.7910/DVN/ZXTCGF
    on Harvard Dataverse; any Dataverse installation or mirror with the native API works).
    ``version``: a published version ("1.0", "2", ":latest-published"); None: the latest.
    ``dry_run``: list the files and what would be transferred (``FetchResult.planned``),
    download nothing. ``workers``: files downloaded at a time. ``retries``/``backoff_s``: attempts
    after a failure (HTTP 429/5xx, a dropped connection) and the first wait, doubled each time.
    ``use_range``: resume partial files with HTTP Range requests. ``progress``: tqdm bars on
    stderr (None: only on a terminal). ``max_extract_bytes``: the most one archive may expand to.

    A rerun transfers only what is missing or fails verification, and re-sorts only files whose
    outputs are not all in place. Raises FetchError (server, network), DownloadChecksumError (a
    file's checksum differs from the listing; the bad copy is kept aside), ArchiveError (an
    unsafe or truncated archive; nothing of it is extracted).
    """
    out = Path(out_dir)
    policy = RetryPolicy(retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)
    listing: Listing = list_files(server, doi, version, policy)
    downloads = out / DOWNLOADS
    if dry_run:
        return FetchResult(
            out_dir=out,
            server=listing.server,
            doi=listing.doi,
            version=listing.version,
            dry_run=True,
            planned=tuple(plan(listing.files, downloads)),
        )
    if not listing.files:
        raise FetchError(f"{listing.doi} version {listing.version} on {listing.server} lists no files")
    out.mkdir(parents=True, exist_ok=True)
    results = download_all(listing.files, downloads, workers, policy, use_range, progress)

    reuse = _previous(out)
    limits = archives.Limits(max_bytes=max_extract_bytes)
    entries, placed_all = [], []
    for r in results:
        f = r.file
        placed = reuse.get((f.id, f.checksum))
        if placed is None:
            placed = _sort_one(r, out, limits)
        placed_all += placed
        entries.append(
            {
                "path": f.path,
                "id": f.id,
                "size": f.size,
                "checksum_type": f.checksum_type,
                "checksum": f.checksum,
                "url": f.url,
                "ingested": f.ingested,
                "status": r.status,
                "outputs": [p.to_dict() for p in placed],
            }
        )
    staging = out / STAGING
    if staging.exists() and not any(staging.iterdir()):
        staging.rmdir()

    tables = dict(sorted(Counter(p.dataset for p in placed_all if p.kind == "table").items()))
    other = tuple(p.path for p in placed_all if p.kind == "other")
    broken = tuple((p.path, p.reason) for p in placed_all if p.kind == "broken")
    manifest = out / MANIFEST
    _write_json(
        manifest,
        {
            "format": MANIFEST_FORMAT,
            "server": listing.server,
            "doi": listing.doi,
            "version": listing.version,
            "requested_version": version,
            "fetched_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nnlife_version": __version__,
            "tables": tables,
            "other": list(other),
            "broken": [{"path": p, "reason": why} for p, why in broken],
            "files": entries,
        },
    )
    return FetchResult(
        out_dir=out,
        server=listing.server,
        doi=listing.doi,
        version=listing.version,
        dry_run=False,
        downloaded=sum(r.status == "downloaded" for r in results),
        verified=sum(r.status == "verified" for r in results),
        transferred_bytes=sum(r.transferred for r in results),
        tables=tables,
        other=other,
        broken=broken,
        manifest=manifest,
    )


__all__ = ["fetch_published", "FetchResult", "MANIFEST", "DOWNLOADS"]
