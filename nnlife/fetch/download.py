"""Verified, resumable downloads of a dataset's files, a few at a time.

Each file goes to ``<name>.part`` beside its final place; after an interruption the next attempt
asks for the rest with an HTTP ``Range`` request (a server that ignores Range answers 200 and the
file starts again). Only a file whose size and checksum equal the listing's is renamed into place;
one that fails is kept aside as ``<name>.checksum-mismatch`` and raises DownloadChecksumError.
A file already in place is verified (size, then checksum) and not transferred again.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import DownloadChecksumError, FetchError
from .dataverse import RemoteFile, hasher
from .transport import TRANSPORT_ERRORS, RetryPolicy, open_url

CHUNK = 1 << 20  # bytes per read and per progress update
PART_SUFFIX = ".part"  # the temporary name while a file is incomplete
BAD_SUFFIX = ".checksum-mismatch"  # a download that failed its checksum, kept for inspection
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class FileResult:
    """What happened to one file."""

    file: RemoteFile
    path: Path  # where the verified file is
    status: str  # "downloaded" or "verified" (already there, nothing transferred)
    transferred: int  # bytes received over the network for it, retries included
    resumed: int = 0  # times a Range request continued a partial download


def file_digest(path: Path, checksum_type: str) -> str:
    """Hex digest of ``path`` with the Dataverse checksum type (MD5, SHA-1, SHA-256, SHA-512)."""
    h = hasher(checksum_type)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def is_verified(path: Path, f: RemoteFile) -> bool:
    """``path`` exists with the listed size and checksum."""
    try:
        if path.stat().st_size != f.size:
            return False
    except FileNotFoundError:
        return False
    return file_digest(path, f.checksum_type) == f.checksum


class _Progress:
    """Thread-safe byte and file counters behind two tqdm bars (stderr; off when not a TTY)."""

    def __init__(self, total_bytes: int, total_files: int, enabled: bool | None):
        from tqdm.auto import tqdm

        disable = None if enabled is None else not enabled  # None: tqdm shows bars on a TTY only
        self.lock = threading.Lock()
        self.bytes = tqdm(
            total=total_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="bytes",
            file=sys.stderr,
            disable=disable,
            position=0,
        )
        self.files = tqdm(
            total=total_files, unit="file", desc="files", file=sys.stderr, disable=disable, position=1
        )

    def add_bytes(self, n: int) -> None:
        with self.lock:
            self.bytes.update(n)

    def add_file(self) -> None:
        with self.lock:
            self.files.update(1)

    def close(self) -> None:
        self.files.close()
        self.bytes.close()


def _receive(
    f: RemoteFile, part: Path, policy: RetryPolicy, use_range: bool, on_bytes, sleep
) -> tuple[int, int]:
    """Bring ``part`` to ``f.size`` bytes, resuming after drops; returns (transferred, resumes)."""
    transferred = resumed = failures = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if offset > f.size:  # longer than listed: nothing of it can be trusted
            part.unlink()
            offset = 0
        if offset == f.size:
            return transferred, resumed
        headers = {"Range": f"bytes={offset}-"} if offset and use_range else {}
        got = 0
        try:
            with open_url(f.url, headers, policy, what=f.path, sleep=sleep) as response:
                status = getattr(response, "status", 200)
                if offset and status == 206:
                    m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                    if not m or int(m.group(1)) != offset:
                        raise FetchError(
                            f"{f.path}: the server answered the range request from "
                            f"byte {offset} with Content-Range "
                            f"{response.headers.get('Content-Range')!r} ({f.url}); "
                            "delete the .part file and run the command again"
                        )
                    mode = "ab"
                    resumed += 1
                else:  # 200: the whole file again (no Range support, or no Range asked)
                    mode = "wb"
                    if offset:
                        on_bytes(-offset)  # the progress bar counted those bytes already
                with open(part, mode) as out:
                    while block := response.read(CHUNK):
                        out.write(block)
                        got += len(block)
                        on_bytes(len(block))
        except FetchError:
            raise
        except TRANSPORT_ERRORS:
            pass  # dropped mid-file: what arrived stays in the .part file
        transferred += got
        if part.exists() and part.stat().st_size == f.size:
            return transferred, resumed
        failures = 0 if got else failures + 1  # only attempts that brought nothing count
        if failures > policy.retries:
            have = part.stat().st_size if part.exists() else 0
            raise FetchError(
                f"{f.path}: the transfer stopped at {have} of {f.size} bytes "
                f"{failures} times in a row ({f.url}); run the command again later "
                f"(it resumes from {part.name})"
            )
        sleep(policy.wait(failures))


def download_file(
    f: RemoteFile,
    dest: Path,
    policy: RetryPolicy = RetryPolicy(),
    use_range: bool = True,
    on_bytes=lambda n: None,
    sleep=time.sleep,
) -> FileResult:
    """Download ``f`` to ``dest``, verified (see the module docstring).

    Raises DownloadChecksumError when the complete file's checksum is not the listed one (the
    bad copy is kept as ``dest`` + ``.checksum-mismatch``), FetchError when the transfer fails
    after every retry (the partial file stays as ``dest`` + ``.part`` and a rerun resumes it).
    """
    dest = Path(dest)
    if is_verified(dest, f):
        return FileResult(f, dest, "verified", 0)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():  # present but not what the server lists: keep it aside, fetch it again
        os.replace(dest, dest.with_name(dest.name + f".replaced-{time.strftime('%Y%m%dT%H%M%S')}"))
    part = dest.with_name(dest.name + PART_SUFFIX)
    transferred, resumed = _receive(f, part, policy, use_range, on_bytes, sleep)
    got = file_digest(part, f.checksum_type)
    if got != f.checksum and resumed:
        # a resumed file may have been spliced from two different copies: fetch it whole once
        part.unlink()
        more, _ = _receive(f, part, policy, False, on_bytes, sleep)
        transferred += more
        got = file_digest(part, f.checksum_type)
    if got != f.checksum:
        bad = dest.with_name(dest.name + BAD_SUFFIX)
        os.replace(part, bad)
        raise DownloadChecksumError(
            f"{f.path}: {f.checksum_type} of the downloaded file is {got}, but the server lists "
            f"{f.checksum} (datafile {f.id}, {f.url}); the bad copy is kept as {bad}. Delete it and "
            "run the command again; if the sums differ again, the server's copy does not match its "
            "listing: try a mirror (--server) or tell the deposit's contact"
        )
    os.replace(part, dest)
    return FileResult(f, dest, "downloaded", transferred, resumed)


def download_all(
    files,
    root: Path,
    workers: int = 4,
    policy: RetryPolicy = RetryPolicy(),
    use_range: bool = True,
    progress: bool | None = None,
    sleep=time.sleep,
) -> list[FileResult]:
    """Download every RemoteFile of ``files`` to ``root/<its path>``, ``workers`` at a time.

    Every file is attempted even when another fails; then the first failure is raised (its
    message says how many others failed). Returns one FileResult per file, in order.
    """
    files = list(files)
    root = Path(root)
    bar = _Progress(sum(f.size for f in files), len(files), progress)
    errors: list[BaseException] = []

    def one(f: RemoteFile):
        try:
            result = download_file(f, root / f.path, policy, use_range, bar.add_bytes, sleep)
            if result.status == "verified":
                bar.add_bytes(f.size)
            bar.add_file()
            return result
        except Exception as e:  # noqa: BLE001 - collected, re-raised below
            errors.append(e)
            return None

    try:
        with ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="nnlife-fetch") as pool:
            results = list(pool.map(one, files))
    finally:
        bar.close()
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.args = (
                f"{first.args[0] if first.args else first} (and {len(errors) - 1} more "
                "file(s) failed; the others are in place)",
            )
        raise first
    return results


@dataclass(frozen=True)
class PlannedFile:
    """A dry run's view of one file."""

    file: RemoteFile
    state: str  # "present" (the listed size is there; verified on a real run), "partial", "missing"
    to_transfer: int  # bytes a real run would download (at most; a Range-less server sends all)


def plan(files, root: Path) -> list[PlannedFile]:
    """What a download of ``files`` to ``root`` would transfer, without reading any file's content."""
    out = []
    for f in files:
        dest = Path(root) / f.path
        part = dest.with_name(dest.name + PART_SUFFIX)
        if dest.exists() and dest.stat().st_size == f.size:
            out.append(PlannedFile(f, "present", 0))
        elif part.exists() and part.stat().st_size < f.size:
            out.append(PlannedFile(f, "partial", f.size - part.stat().st_size))
        else:
            out.append(PlannedFile(f, "missing", f.size))
    return out


__all__ = [
    "FileResult",
    "PlannedFile",
    "download_file",
    "download_all",
    "plan",
    "file_digest",
    "is_verified",
    "PART_SUFFIX",
    "BAD_SUFFIX",
]
