"""A local stand-in for a Dataverse installation, for the fetch tests (no internet).

It answers, on 127.0.0.1 and a free port, the native-API requests that nnlife.fetch makes, with
JSON shaped like the Dataverse API guide's (and like real answers of dataverse.harvard.edu):

- ``GET /api/datasets/:persistentId/?persistentId=DOI``: ``{"status": "OK", "data": {...,
  "latestVersion": {"versionNumber", "versionMinorNumber", "versionState", "files": [...]}}}``;
- ``GET /api/datasets/:persistentId/versions/{v}?persistentId=DOI`` (``1.0``, ``1``, ``:latest``,
  ``:latest-published``): ``{"status": "OK", "data": {version}}``;
- ``GET /api/access/datafile/{id}`` (``?format=original`` for ingested files): the bytes, with
  ``Range: bytes=N-`` answered 206 when Range support is on.

Unknown DOIs, versions and files get 404 with ``{"status": "ERROR", "message": ...}``. Faults can
be injected per file: ``"drop"`` (send half the bytes, then cut the connection) and ``"503"`` (one
503 answer with Retry-After: 0), each used once, in order. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


@dataclass
class ServedFile:
    """One datafile of the deposit."""

    id: int
    name: str  # the depositor's file name
    content: bytes  # the depositor's bytes
    directory: str = ""  # directoryLabel ("" for the deposit's root)
    ingested: bool = False  # listed as Dataverse's .tab export, original via format=original
    listed_checksum: str = ""  # overrides the listed checksum (a wrong one, for fault tests)

    def export(self) -> bytes:
        """What Dataverse serves without format=original for an ingested file: its .tab export."""
        return b"var1\tvar2\n" + self.content.replace(b",", b"\t")


@dataclass
class Request:
    path: str
    query: dict
    range: str | None
    status: int
    sent: int  # body bytes sent


@dataclass
class DataverseServer:
    """The deposit's versions (label -> files); the last one is the latest."""

    doi: str
    versions: dict
    checksum_type: str = "MD5"
    range_support: bool = True
    faults: dict = field(default_factory=dict)  # file id -> list of "drop" / "503"
    redirect: bool = False  # answer datafile requests with 303 to /storage/{id}, as S3 stores do
    requests: list = field(default_factory=list)

    # --- JSON shaped as the native API answers ---------------------------------------------------
    def _file_json(self, f: ServedFile, version_id: int) -> dict:
        digest = f.listed_checksum or hashlib.new(HASHES[self.checksum_type], f.content).hexdigest()
        data = {
            "id": f.id,
            "persistentId": "",
            "filename": f.name,
            "contentType": "text/plain",
            "friendlyType": "Plain Text",
            "filesize": len(f.content),
            "description": "",
            "storageIdentifier": f"s3://dvn-cloud:{f.id:012x}",
            "rootDataFileId": -1,
            "checksum": {"type": self.checksum_type, "value": digest},
            "tabularData": False,
            "creationDate": "2021-10-20",
            "publicationDate": "2021-11-02",
            "fileAccessRequest": False,
        }
        if self.checksum_type == "MD5":
            data["md5"] = digest
        if f.ingested:  # Dataverse lists its .tab export; the checksum is the original's
            stem = f.name.rsplit(".", 1)[0]
            data.update(
                filename=f"{stem}.tab",
                contentType="text/tab-separated-values",
                friendlyType="Tab-Delimited",
                filesize=len(f.export()),
                tabularData=True,
                originalFileFormat="text/csv",
                originalFormatLabel="Comma Separated Values",
                originalFileSize=len(f.content),
                originalFileName=f.name,
                UNF="UNF:6:Zm9yIHRlc3Rz==",
            )
        entry = {
            "label": data["filename"],
            "restricted": False,
            "version": 1,
            "datasetVersionId": version_id,
            "dataFile": data,
        }
        if f.directory:
            entry["directoryLabel"] = f.directory
            data["directoryLabel"] = f.directory
        return entry

    def _version_json(self, label: str) -> dict:
        major, minor = (label.split(".") + ["0"])[:2]
        vid = 200000 + list(self.versions).index(label)
        return {
            "id": vid,
            "datasetId": 4242,
            "datasetPersistentId": self.doi,
            "storageIdentifier": "s3://10.7910/DVN/TEST",
            "versionNumber": int(major),
            "versionMinorNumber": int(minor),
            "versionState": "RELEASED",
            "latestVersionPublishingState": "RELEASED",
            "lastUpdateTime": "2021-11-02T15:08:42Z",
            "releaseTime": "2021-11-02T15:08:42Z",
            "createTime": "2021-10-20T18:35:10Z",
            "license": {"name": "CC0 1.0", "uri": "http://creativecommons.org/publicdomain/zero/1.0"},
            "fileAccessRequest": False,
            "metadataBlocks": {
                "citation": {
                    "displayName": "Citation Metadata",
                    "fields": [
                        {
                            "typeName": "title",
                            "multiple": False,
                            "typeClass": "primitive",
                            "value": "A test deposit of lifespan tables",
                        }
                    ],
                }
            },
            "files": [self._file_json(f, vid) for f in self.versions[label]],
        }

    def _dataset_json(self) -> dict:
        authority, identifier = self.doi[4:].split("/", 1)
        return {
            "id": 4242,
            "identifier": identifier,
            "persistentUrl": f"https://doi.org/{self.doi[4:]}",
            "protocol": "doi",
            "authority": authority,
            "publisher": "Test Dataverse",
            "publicationDate": "2021-11-02",
            "storageIdentifier": f"s3://{self.doi[4:]}",
            "latestVersion": self._version_json(list(self.versions)[-1]),
        }

    def _resolve_version(self, v: str) -> str | None:
        labels = list(self.versions)
        if v in (":latest", ":latest-published"):
            return labels[-1]
        if v in labels:
            return v
        same_major = [x for x in labels if x.split(".")[0] == v]
        return same_major[-1] if same_major else None

    def _file(self, file_id: int) -> ServedFile | None:
        for files in self.versions.values():
            for f in files:
                if f.id == file_id:
                    return f
        return None

    # --- serving ------------------------------------------------------------------------------
    def handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict | None = None, query=None):
                # logged before the answer goes out: once the client has it, its next request
                # may be logged by another thread, and the log must keep the order of events
                server.requests.append(
                    Request(
                        self.path.split("?")[0], query or {}, self.headers.get("Range"), status, len(body)
                    )
                )
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, doc: dict, query):
                self._send(status, json.dumps(doc).encode(), {"Content-Type": "application/json"}, query)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                m = re.fullmatch(r"/api/datasets/:persistentId/?(?:versions/([^/]+))?/?", url.path)
                if m:
                    if query.get("persistentId") != server.doi:
                        return self._json(
                            404,
                            {
                                "status": "ERROR",
                                "message": "Dataset with Persistent "
                                f"ID {query.get('persistentId')} not found.",
                            },
                            query,
                        )
                    if m.group(1) is None:
                        return self._json(200, {"status": "OK", "data": server._dataset_json()}, query)
                    label = server._resolve_version(m.group(1))
                    if label is None:
                        return self._json(
                            404,
                            {
                                "status": "ERROR",
                                "message": f"Dataset version {m.group(1)} of dataset 4242 not found",
                            },
                            query,
                        )
                    return self._json(200, {"status": "OK", "data": server._version_json(label)}, query)
                m = re.fullmatch(r"/api/access/datafile/(\d+)/?", url.path)
                if m and server.redirect:  # like a store with direct download: a signed URL
                    fmt = "?format=original" if query.get("format") == "original" else ""
                    return self._send(303, b"", {"Location": f"/storage/{m.group(1)}{fmt}"}, query)
                m = m or (re.fullmatch(r"/storage/(\d+)", url.path) if server.redirect else None)
                f = server._file(int(m.group(1))) if m else None
                if f is None:
                    return self._json(404, {"status": "ERROR", "message": "File not found"}, query)
                body = f.content if (not f.ingested or query.get("format") == "original") else f.export()
                fault = server.faults.get(f.id, [None])
                fault = fault.pop(0) if fault else None
                if fault == "503":
                    return self._send(503, b"Service Unavailable", {"Retry-After": "0"}, query)
                status, headers, start = (
                    200,
                    {
                        "Content-Type": "application/octet-stream",
                        "Accept-Ranges": "bytes" if server.range_support else "none",
                    },
                    0,
                )
                rng = self.headers.get("Range")
                if rng and server.range_support:
                    rm = re.fullmatch(r"bytes=(\d+)-", rng)
                    start = int(rm.group(1)) if rm else 0
                    status = 206
                    headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                part = body[start:]
                if fault == "drop":  # promise the whole body, send half, cut the connection
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(part)))
                    self.end_headers()
                    half = part[: len(part) // 2]
                    server.requests.append(Request(url.path, query, rng, status, len(half)))
                    self.wfile.write(half)
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._send(status, part, headers, query)

        return Handler

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> DataverseServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def file_requests(self) -> list:
        """The requests that transferred (or tried to transfer) a file's bytes."""
        return [
            r
            for r in self.requests
            if r.path.startswith(("/api/access/datafile/", "/storage/")) and r.status != 303
        ]
