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
    """A dataset file whose MD5 sum is not the official one: names the file."""


class DatasetFormatError(NnlifeError, ValueError):
    """A dataset file whose content does not follow its format: names the file and the problem."""


class ParameterError(NnlifeError, ValueError):
    """A bad argument to a public function (unknown dataset or space, epochs <= 0, ...)."""


class TableExistsError(NnlifeError, FileExistsError):
    """A finished table is already at the path being written: nnlife never overwrites one."""
