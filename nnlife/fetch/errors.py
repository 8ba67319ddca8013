"""The fetch package's exceptions (moved into nnlife/errors.py with the layout merge).

Each names the file or URL, what is wrong, and the fix, in one message.
"""

from __future__ import annotations

from ..errors import ChecksumError, NnlifeError


class FetchError(NnlifeError, OSError):
    """A download that could not be completed: the server, the URL, the HTTP status or the
    transfer problem, after every retry."""


class DownloadChecksumError(FetchError, ChecksumError):
    """A downloaded file whose size or checksum is not the one the server lists: names the
    file, both sums, and where the bad copy was kept."""


class ArchiveError(NnlifeError, ValueError):
    """An archive that is refused: truncated or unreadable, a member outside the target folder,
    a link or device member, or more content than the size limit allows."""


__all__ = ["FetchError", "DownloadChecksumError", "ArchiveError"]
