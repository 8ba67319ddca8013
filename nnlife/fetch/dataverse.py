"""A Dataverse dataset's file list, through the native API (as the Dataverse API guide shows).

- the latest version: ``GET {server}/api/datasets/:persistentId/?persistentId={doi}``, whose
  ``data.latestVersion`` holds ``versionNumber``, ``versionMinorNumber``, ``versionState`` and
  ``files[]``;
- another version (``1.0``, ``2``, ``:latest-published``, ``:latest``):
  ``GET {server}/api/datasets/:persistentId/versions/{version}?persistentId={doi}``, whose
  ``data`` is that version;
- each entry of ``files[]``: ``directoryLabel`` (the file's folder, optional) and ``dataFile``
  with ``id``, ``filename``, ``filesize`` and ``checksum`` {``type``: MD5, SHA-1, SHA-256 or
  SHA-512, ``value``} (older installations: ``md5`` alone);
- a file's bytes: ``GET {server}/api/access/datafile/{id}``. Files that Dataverse ingested as
  tabular data (``tabularData`` true) are served by default as its own tab-separated export;
  ``?format=original`` gives the depositor's bytes, and those are what ``checksum``,
  ``originalFileName`` and ``originalFileSize`` describe (the checksum of an ingested file is
  the saved original's: IQSS/dataverse#7275), so nnlife always asks for the original.
"""

from __future__ import annotations

import hashlib
import posixpath
import urllib.parse
from dataclasses import dataclass

from ..errors import FetchError
from .transport import RetryPolicy, get_json

DEFAULT_SERVER = "https://dataverse.harvard.edu"
DEFAULT_DOI = "doi:10.7910/DVN/ZXTCGF"  # Rorabaugh et al., Data in Brief 40 (2022) 107780
# Dataverse's checksum type names -> hashlib names
CHECKSUM_TYPES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset version, as the server lists it."""

    id: int  # the server's datafile id
    path: str  # folder/name inside the deposit (directoryLabel/filename), POSIX
    size: int  # bytes of what the download URL returns
    checksum_type: str  # "MD5", "SHA-1", "SHA-256" or "SHA-512"
    checksum: str  # hex digest, lower case
    url: str  # the download URL (format=original for ingested files)
    ingested: bool = False  # Dataverse ingested it as tabular data (downloaded as the original)


@dataclass(frozen=True)
class Listing:
    """A dataset version's files."""

    server: str  # e.g. https://dataverse.harvard.edu
    doi: str  # e.g. doi:10.7910/DVN/ZXTCGF
    version: str  # e.g. "1.0"; the version state is appended for drafts
    files: tuple  # RemoteFile, in the server's order

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def normalize_doi(doi: str) -> str:
    """``doi:10.x/y`` from ``10.x/y``, ``doi:10.x/y`` or ``https://doi.org/10.x/y``."""
    text = doi.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi.org/"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    if text.lower().startswith("doi:"):
        text = text[4:]
    if not text.startswith("10.") or "/" not in text:
        raise FetchError(f"{doi!r} is not a DOI: pass it as doi:10.7910/DVN/ZXTCGF or 10.7910/DVN/ZXTCGF")
    return "doi:" + text


def dataset_url(server: str, doi: str, version: str | None = None) -> str:
    """The native-API URL of the dataset's latest version, or of ``version``."""
    server = server.rstrip("/")
    query = urllib.parse.urlencode({"persistentId": doi})
    if version is None:
        return f"{server}/api/datasets/:persistentId/?{query}"
    return (
        f"{server}/api/datasets/:persistentId/versions/{urllib.parse.quote(str(version), safe=':.')}?{query}"
    )


def file_url(server: str, file_id: int, original: bool) -> str:
    """The access-API URL of one datafile (the depositor's original bytes when ``original``)."""
    url = f"{server.rstrip('/')}/api/access/datafile/{int(file_id)}"
    return url + "?format=original" if original else url


def safe_relpath(path: str, where: str) -> str:
    """``path`` as a relative POSIX path with no ``..``, no absolute part and no empty name."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or path.startswith(("/", "\\")) or ":" in parts[0]:
        raise FetchError(
            f"{where}: the server lists the unsafe file path {path!r}; "
            "nnlife refuses to write outside the output folder"
        )
    return posixpath.join(*parts)


def parse_file(entry: dict, server: str, where: str) -> RemoteFile:
    """One ``files[]`` entry of the native API as a RemoteFile; FetchError if it lacks a field."""
    data = entry.get("dataFile") if isinstance(entry, dict) else None
    if not isinstance(data, dict) or "id" not in data:
        raise FetchError(f"{where}: a files[] entry without dataFile.id: {str(entry)[:200]}")
    ingested = bool(data.get("tabularData")) and bool(
        data.get("originalFileName") or data.get("originalFileFormat")
    )
    name = (
        data.get("originalFileName")
        if ingested and data.get("originalFileName")
        else (data.get("filename") or entry.get("label"))
    )
    size = (
        data.get("originalFileSize")
        if ingested and data.get("originalFileSize") is not None
        else data.get("filesize")
    )
    checksum = data.get("checksum") or ({"type": "MD5", "value": data["md5"]} if data.get("md5") else None)
    if not name or size is None or not checksum:
        raise FetchError(
            f"{where}: datafile {data['id']} lacks its filename, filesize or checksum; "
            "nnlife downloads only files it can verify"
        )
    ctype = str(checksum.get("type", "")).upper()
    if ctype not in CHECKSUM_TYPES:
        raise FetchError(
            f"{where}: datafile {data['id']} ({name}) has checksum type {ctype!r}; "
            f"nnlife knows {', '.join(CHECKSUM_TYPES)}"
        )
    folder = entry.get("directoryLabel") or data.get("directoryLabel") or ""
    path = safe_relpath(f"{folder}/{name}" if folder else name, where)
    return RemoteFile(
        id=int(data["id"]),
        path=path,
        size=int(size),
        checksum_type=ctype,
        checksum=str(checksum.get("value", "")).lower(),
        url=file_url(server, data["id"], ingested),
        ingested=ingested,
    )


def version_label(version: dict) -> str:
    """``1.0`` from versionNumber/versionMinorNumber; ``DRAFT`` for an unpublished version."""
    major, minor = version.get("versionNumber"), version.get("versionMinorNumber")
    if major is None:
        return str(version.get("versionState") or "DRAFT")
    return f"{major}.{minor or 0}"


def list_files(
    server: str = DEFAULT_SERVER,
    doi: str = DEFAULT_DOI,
    version: str | None = None,
    policy: RetryPolicy = RetryPolicy(),
) -> Listing:
    """The files of ``doi``'s ``version`` (default: the latest published) on ``server``.

    Raises FetchError when the server cannot be reached, does not know the DOI or version, or
    answers something that is not a Dataverse dataset.
    """
    doi = normalize_doi(doi)
    url = dataset_url(server, doi, version)
    what = f"{doi} (version {version or 'latest'}) on {server}"
    doc = get_json(url, policy, what)
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        raise FetchError(
            f"{what}: the answer has no 'data' object ({url}); is --server a Dataverse installation?"
        )
    ver = data.get("latestVersion", data) if version is None else data
    files = ver.get("files")
    if not isinstance(files, list):
        raise FetchError(f"{what}: the answer has no files list ({url})")
    remote = tuple(parse_file(e, server, what) for e in files)
    seen = {}
    for f in remote:
        if f.path in seen:
            raise FetchError(f"{what}: two files share the path {f.path} (ids {seen[f.path]} and {f.id})")
        seen[f.path] = f.id
    return Listing(server=server.rstrip("/"), doi=doi, version=version_label(ver), files=remote)


def hasher(checksum_type: str):
    """A fresh hashlib object for a Dataverse checksum type name."""
    return hashlib.new(CHECKSUM_TYPES[checksum_type.upper()])


__all__ = [
    "RemoteFile",
    "Listing",
    "list_files",
    "normalize_doi",
    "dataset_url",
    "file_url",
    "parse_file",
    "hasher",
    "DEFAULT_SERVER",
    "DEFAULT_DOI",
    "CHECKSUM_TYPES",
]
