"""Fetch the published lifespan dataset (or any Dataverse deposit of tables), verified.

Torch-free. ``fetch_published(out_dir, doi=..., server=...)`` lists the deposit through
Dataverse's native API, downloads its files a few at a time (resumable, checksummed), extracts
archives safely and puts every table under ``out_dir/<dataset>/``; see ``published.py``.
"""

from __future__ import annotations

import importlib

from ..errors import ArchiveError, DownloadChecksumError, FetchError
from .dataverse import DEFAULT_DOI, DEFAULT_SERVER, Listing, RemoteFile, list_files

# loaded on first use: published imports the table reader (pandas), which `nnlife --help` and the
# command line's parser, reading DEFAULT_DOI and DEFAULT_SERVER, do not need
_LAZY = {"fetch_published": "published", "FetchResult": "published", "MANIFEST": "published"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnlife.fetch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
