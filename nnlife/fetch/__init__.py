"""Fetch the published lifespan dataset (or any Dataverse deposit of tables), verified.

Torch-free. ``fetch_published(out_dir, doi=..., server=...)`` lists the deposit through
Dataverse's native API, downloads its files a few at a time (resumable, checksummed), extracts
archives safely and puts every table under ``out_dir/<dataset>/``; see ``published.py``.
"""

from __future__ import annotations

from ..errors import ArchiveError, DownloadChecksumError, FetchError
from .dataverse import DEFAULT_DOI, DEFAULT_SERVER, Listing, RemoteFile, list_files
from .published import MANIFEST, FetchResult, fetch_published

__all__ = [
    "fetch_published",
    "FetchResult",
    "list_files",
    "Listing",
    "RemoteFile",
    "FetchError",
    "DownloadChecksumError",
    "ArchiveError",
    "DEFAULT_DOI",
    "DEFAULT_SERVER",
    "MANIFEST",
]
