"""Safe extraction of zip, tar, tar.gz/tgz (also tar.bz2, tar.xz) and single-file .gz archives.

Every member is checked before anything is written, and the whole archive is refused (one
ArchiveError naming it and the member) when one member would land outside the target folder
(an absolute path, a drive, a ``..`` part), is a link (symbolic or hard) or a device, FIFO or
other special file, or when the members add up to more than the size limit (a decompression
bomb). Bytes are counted while they are written, so a member whose header understates its size
is stopped too. A truncated or corrupt archive is refused as well (a plain tar that simply stops
at a block boundary is caught by its missing end-of-archive marker). Archives inside an archive
are extracted in turn, into a folder named after them, up to a depth limit. On any refusal the
target folder is removed: nothing of a refused archive stays behind.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..atomic import atomic_write
from ..errors import ArchiveError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ARCHIVE_SUFFIXES = (".zip",) + TAR_SUFFIXES + (".gz",)
CHUNK = 1 << 20
_DECODE_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    gzip.BadGzipFile,
    OSError,
    ValueError,
    NotImplementedError,
)


@dataclass(frozen=True)
class Limits:
    """Bounds on what extraction may write."""

    max_bytes: int = 16 * 2**30  # total bytes written for one archive, nested ones included
    max_members: int = 2_000_000  # files and folders in one archive, nested ones included
    max_depth: int = 4  # archives inside archives


def archive_suffix(name: str) -> str | None:
    """The archive suffix ``name`` ends with (".zip", ".tar.gz", ...), or None."""
    low = name.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return suffix
    return None


def stem(name: str) -> str:
    """``name`` without its archive suffix (``SVHN.tar.gz`` -> ``SVHN``)."""
    suffix = archive_suffix(name)
    return name[: -len(suffix)] if suffix else name


def member_path(name: str, archive: str) -> PurePosixPath | None:
    """The safe relative path of member ``name``, None for the archive's root; ArchiveError if unsafe."""
    text = name.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or (parts and len(parts[0]) == 2 and parts[0][1] == ":"):
        raise ArchiveError(
            f"{archive}: member {name!r} has an absolute path; the archive is "
            "refused (nothing was extracted). Extract it by hand if you trust it"
        )
    if ".." in parts:
        raise ArchiveError(
            f"{archive}: member {name!r} points outside the folder it is extracted "
            "to ('..'); the archive is refused (nothing was extracted)"
        )
    return PurePosixPath(*parts) if parts else None


class _Budget:
    def __init__(self, limits: Limits):
        self.limits, self.bytes, self.members = limits, 0, 0

    def add_members(self, n: int, archive: str) -> None:
        self.members += n
        if self.members > self.limits.max_members:
            raise ArchiveError(
                f"{archive}: more than {self.limits.max_members} members; refused as a "
                "possible archive bomb (raise max_members if the archive is genuine)"
            )

    def add_bytes(self, n: int, archive: str) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise ArchiveError(
                f"{archive}: extracting it would write more than {self.limits.max_bytes} "
                "bytes; refused as a possible decompression bomb (raise the limit, "
                "max_extract_bytes, if the archive is genuine)"
            )


def _copy(src, dest: Path, budget: _Budget, archive: str, expected: int | None) -> None:
    def write(out) -> None:  # into atomic_write's temporary file: a refused member leaves nothing
        written = 0
        while block := src.read(CHUNK):
            budget.add_bytes(len(block), archive)
            out.write(block)
            written += len(block)
        if expected is not None and written != expected:
            raise ArchiveError(
                f"{archive}: member {dest.name} holds {written} of its {expected} bytes; "
                "the archive is truncated or corrupt (download it again)"
            )

    atomic_write(dest, write=write)


def _check_target(target: Path, rel: PurePosixPath, archive: str) -> Path:
    out = target.joinpath(*rel.parts)
    # belt and braces: the resolved path must stay inside the target
    if not str(out.resolve()).startswith(str(target.resolve()) + os.sep):
        raise ArchiveError(f"{archive}: member {rel} resolves outside the target folder; refused")
    return out


def _zip(path: Path, target: Path, budget: _Budget) -> None:
    name = path.name
    try:
        zf = zipfile.ZipFile(path)
    except _DECODE_ERRORS as e:
        raise ArchiveError(
            f"{name}: not a readable zip archive ({e}); it is truncated or corrupt (download it again)"
        ) from None
    with zf:
        plan = []
        for info in zf.infolist():
            rel = member_path(info.filename, name)
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode) if mode else 0
            if kind == stat.S_IFLNK:
                raise ArchiveError(
                    f"{name}: member {info.filename!r} is a symbolic link; nnlife "
                    "extracts no links: the archive is refused (nothing was extracted)"
                )
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(
                    f"{name}: member {info.filename!r} is a special file (mode "
                    f"{oct(mode)}); the archive is refused (nothing was extracted)"
                )
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{name}: member {info.filename!r} is encrypted; nnlife cannot extract it")
            plan.append((info, rel, info.is_dir() or kind == stat.S_IFDIR))
        budget.add_members(len(plan), name)
        declared = sum(i.file_size for i, _, d in plan if not d)
        if budget.bytes + declared > budget.limits.max_bytes:
            budget.add_bytes(declared, name)  # raises with the limit in the message
        for info, rel, is_dir in plan:
            if rel is None:
                continue
            out = _check_target(target, rel, name)
            if is_dir:
                out.mkdir(parents=True, exist_ok=True)
                continue
            try:
                with zf.open(info) as src:
                    _copy(src, out, budget, name, info.file_size)
            except ArchiveError:
                raise
            except _DECODE_ERRORS as e:
                raise ArchiveError(
                    f"{name}: member {info.filename!r} cannot be read ({e}); the "
                    "archive is truncated or corrupt (download it again)"
                ) from None


def _is_compressed(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(6)
    return head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head == b"\xfd7zXZ\x00"


def _tar(path: Path, target: Path, budget: _Budget) -> None:
    name = path.name
    try:
        tf = tarfile.open(path, "r:*")
    except _DECODE_ERRORS as e:
        raise ArchiveError(
            f"{name}: not a readable tar archive ({e}); it is truncated or corrupt (download it again)"
        ) from None
    with tf:
        try:
            members = tf.getmembers()  # reads every header (the whole stream, when compressed)
            end = tf.offset
        except _DECODE_ERRORS as e:
            raise ArchiveError(
                f"{name}: cannot read its member list ({e}); the archive is "
                "truncated or corrupt (download it again)"
            ) from None
        if not _is_compressed(path):
            # tarfile stops quietly at a truncated header: demand the end-of-archive zero block
            with open(path, "rb") as raw:
                raw.seek(end)
                marker = raw.read(512)
            if len(marker) < 512 or marker.strip(b"\0"):
                raise ArchiveError(
                    f"{name}: the tar archive has no end-of-archive marker after "
                    f"its {len(members)} member(s); it is truncated (download it again)"
                )
        plan = []
        for m in members:
            rel = member_path(m.name, name)
            if m.issym() or m.islnk():
                raise ArchiveError(
                    f"{name}: member {m.name!r} is a {'symbolic' if m.issym() else 'hard'} "
                    f"link (to {m.linkname!r}); nnlife extracts no links: the archive "
                    "is refused (nothing was extracted)"
                )
            if not (m.isreg() or m.isdir()):
                raise ArchiveError(
                    f"{name}: member {m.name!r} is a device, FIFO or other special "
                    "file; the archive is refused (nothing was extracted)"
                )
            plan.append((m, rel))
        budget.add_members(len(plan), name)
        declared = sum(m.size for m, _ in plan if m.isreg())
        if budget.bytes + declared > budget.limits.max_bytes:
            budget.add_bytes(declared, name)
        for m, rel in plan:
            if rel is None:
                continue
            out = _check_target(target, rel, name)
            if m.isdir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            try:
                src = tf.extractfile(m)
                with src:
                    _copy(src, out, budget, name, m.size)
            except ArchiveError:
                raise
            except _DECODE_ERRORS as e:
                raise ArchiveError(
                    f"{name}: member {m.name!r} cannot be read ({e}); the archive is "
                    "truncated or corrupt (download it again)"
                ) from None


def _gunzip(path: Path, target: Path, budget: _Budget) -> None:
    name = path.name
    budget.add_members(1, name)
    try:
        with gzip.open(path, "rb") as src:
            _copy(src, target / name[:-3], budget, name, None)
    except ArchiveError:
        raise
    except _DECODE_ERRORS as e:
        raise ArchiveError(
            f"{name}: cannot be decompressed ({e}); it is truncated or corrupt (download it again)"
        ) from None


def _extract_one(path: Path, target: Path, budget: _Budget) -> None:
    suffix = archive_suffix(path.name)
    if suffix == ".zip":
        _zip(path, target, budget)
    elif suffix in TAR_SUFFIXES:
        _tar(path, target, budget)
    elif suffix == ".gz":
        _gunzip(path, target, budget)
    else:
        raise ArchiveError(f"{path}: not an archive nnlife extracts ({', '.join(ARCHIVE_SUFFIXES)})")


def extract(archive, target, limits: Limits = Limits()) -> list[Path]:
    """Extract ``archive`` into the new folder ``target``, nested archives included, safely.

    ``target`` must not exist yet; it is created, and removed again when the archive is refused.
    A nested archive ``a/b.zip`` is extracted into ``a/b/`` and then deleted (the outer archive
    still holds it). Returns the extracted files, relative to ``target``, sorted. Raises
    ArchiveError naming the archive, the member and the reason.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        raise ArchiveError(f"{target}: the extraction folder exists already; pass a new folder")
    target.mkdir(parents=True)
    budget = _Budget(limits)
    try:
        _extract_one(archive, target, budget)
        for depth in range(1, limits.max_depth + 1):
            nested = sorted(p for p in target.rglob("*") if p.is_file() and archive_suffix(p.name))
            if not nested:
                break
            if depth == limits.max_depth:
                raise ArchiveError(
                    f"{archive.name}: archives nested more than {limits.max_depth} "
                    f"deep ({nested[0].relative_to(target)}); refused"
                )
            for inner in nested:
                if archive_suffix(inner.name) == ".gz":  # one compressed file: decompress beside it
                    dest = inner.parent
                else:
                    dest = inner.with_name(stem(inner.name))
                    if dest.exists():
                        dest = inner.with_name(stem(inner.name) + ".contents")
                    dest.mkdir()
                _extract_one(inner, dest, budget)
                inner.unlink()
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())


__all__ = ["Limits", "extract", "archive_suffix", "stem", "member_path", "ARCHIVE_SUFFIXES"]
