"""nnlife's exceptions: one clear message that names the input and the fix.

Every exception nnlife raises on purpose derives from ``NnlifeError``, so callers can catch them
all; each also derives from the built-in type a Python user would expect (``ValueError`` for bad
values, ``FileNotFoundError`` for missing data).
"""

from __future__ import annotations


class NnlifeError(Exception):
    """Base class of every error nnlife raises on purpose."""


class SpecError(NnlifeError, ValueError):
    """A network or training spec that cannot work (e.g. the feature map collapses below 1x1)."""


class TableError(NnlifeError, ValueError):
    """A lifespan table that cannot be read: names the file and what is wrong with it."""


class DatasetNotFoundError(NnlifeError, FileNotFoundError):
    """No copy of a dataset was found: names the dataset, every place looked at, and the fix."""


class ChecksumError(NnlifeError, ValueError):
    """A file whose checksum is not the expected one (a dataset file's official MD5, a download's
    listed sum): names the file."""


class DatasetFormatError(NnlifeError, ValueError):
    """A dataset file whose content does not follow its format: names the file and the problem."""


class ParameterError(NnlifeError, ValueError):
    """A bad argument to a public function (unknown dataset or space, epochs <= 0, ...)."""


class FetchError(NnlifeError, OSError):
    """A download that could not be completed (``nnlife fetch``): the server, the URL, the HTTP
    status or the transfer problem, after every retry, and what to do."""


class DownloadChecksumError(FetchError, ChecksumError):
    """A downloaded file whose checksum is not the one the server lists: names the file, both
    sums, and where the bad copy was kept."""


class ArchiveError(NnlifeError, ValueError):
    """An archive that is refused: truncated or unreadable, a member outside the target folder,
    a link or device member, or more content than the size limit allows."""


class TableExistsError(NnlifeError, FileExistsError):
    """A finished table is already at the path being written: nnlife never overwrites one."""


class PredictorFileError(NnlifeError, ValueError):
    """A saved predictor (``Predictor.save``) that cannot be read: names the file and what is wrong."""
