"""The one way nnlife writes a file: atomically, so that a reader sees the old file or the new one.

``atomic_write(path, content)`` writes a temporary file in the same folder, flushes and fsyncs
it, then renames it over ``path`` (or, with ``overwrite=False``, hard-links it to ``path``, which
fails when ``path`` exists: a finished table is never clobbered), and fsyncs the folder so the
new name survives a crash. A kill at any moment leaves no partial file under ``path``; the
temporary file (``.<name>.<random>.tmp``) is removed on every error.

Every file nnlife writes goes through here: lifespan tables, batch manifests, checkpoints and
weights, the catalog cache, rendered reports.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

FILE_MODE = 0o644  # mkstemp makes 0600; nnlife's files are for others to read too (e.g. on a cluster)


def fsync_dir(folder) -> None:
    """fsync a folder, so a rename in it is durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(
    path,
    content: str | bytes | None = None,
    *,
    write: Callable[[IO[bytes]], object] | None = None,
    overwrite: bool = True,
    mode: int = FILE_MODE,
) -> Path:
    """Write ``path`` atomically and durably; returns it as a Path.

    content: the text (UTF-8) or bytes to write; or ``write``, a function given the temporary
        file opened for binary writing (e.g. ``lambda f: torch.save(obj, f)``).
    overwrite: True replaces an existing file; False raises FileExistsError when ``path``
        exists, also when it appears while this file is being written.
    The folder is created when missing.
    """
    if (content is None) == (write is None):
        raise TypeError("atomic_write needs exactly one of content and write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            if write is not None:
                write(f)
            else:
                f.write(content.encode() if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _link_new(tmp: str, path: Path) -> None:
    """Give ``tmp`` the name ``path`` unless ``path`` exists (a hard link fails then)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f"{path} appeared while it was being written") from None
    except OSError:  # a file system without hard links: the exists check before must do
        if path.exists():
            raise FileExistsError(f"{path} appeared while it was being written") from None
        os.replace(tmp, path)


__all__ = ["FILE_MODE", "atomic_write", "fsync_dir"]
