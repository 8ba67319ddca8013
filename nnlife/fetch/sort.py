"""Place downloaded and extracted files: every table under ``OUT/<dataset>/``, by its own
``dataset`` column (read with nnlife.table's parser), never by the name of its archive or folder.

- a table (a text file whose header starts with the published columns and that parses):
  ``OUT/<dataset>/<name>.txt`` (``CIFAR100``, ``FashionMNIST``, ``SVHN``: nnlife's spellings);
- a file with the table header that does not parse: ``OUT/broken/<name>``, with the reason;
- anything else (a README, a PDF, code): ``OUT/other/<its path in the deposit>``, untouched.

Two different files that want the same place keep both: the second gets ``.dup1`` (then
``.dup2``, ...) before its suffix. The same bytes arriving twice are placed once.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import columns as C
from ..errors import NnlifeError
from ..table import parse_record

HEADER_PREFIX = " ".join(C.ORIGINAL_COLUMNS[:4]).encode()  # "epochs trainLoss valLoss valAcc"
TABLE_SUFFIX = ".txt"
BROKEN_DIR = "broken"
OTHER_DIR = "other"


@dataclass(frozen=True)
class Placed:
    """One file placed under OUT."""

    path: str  # relative to OUT, POSIX
    kind: str  # "table", "broken" or "other"
    source: str  # the deposit file it came from (its path in the listing)
    member: str = ""  # its path inside that file, when the deposit file is an archive
    dataset: str = ""  # for tables: the dataset column's value, nnlife's spelling
    size: int = 0  # bytes
    reason: str = ""  # for broken tables: why it does not parse

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("",)}


def classify(path: Path, label: str) -> tuple[str, str, str]:
    """(kind, dataset, reason) of one file: see the module docstring."""
    with open(path, "rb") as f:
        head = f.read(len(HEADER_PREFIX))
    if head != HEADER_PREFIX:
        return "other", "", ""
    try:
        text = path.read_text()
        rec = parse_record(text, label, Path(label).stem)
    except UnicodeDecodeError:
        return "broken", "", f"{label}: not UTF-8 text"
    except (NnlifeError, ValueError) as e:
        return "broken", "", str(e)
    return "table", rec.train.dataset, ""


def _free_name(dest: Path, src: Path) -> tuple[Path, bool]:
    """(where ``src`` goes, whether it is already there) when it wants ``dest``."""
    candidate, n = dest, 0
    while candidate.exists():
        if os.path.samefile(candidate, src) or filecmp.cmp(candidate, src, shallow=False):
            return candidate, True
        n += 1
        candidate = dest.with_name(f"{dest.stem}.dup{n}{dest.suffix}")
    return candidate, False


def _target(out: Path, kind: str, dataset: str, deposit_path: str, member: str) -> Path:
    if kind == "other":
        rel = Path(OTHER_DIR, deposit_path, member) if member else Path(OTHER_DIR, deposit_path)
        return out / rel
    name = Path(member or deposit_path).name
    if kind == "table" and not name.endswith(TABLE_SUFFIX):
        name = Path(name).stem + TABLE_SUFFIX  # the catalog reads *.txt
    return out / (dataset if kind == "table" else BROKEN_DIR) / name


def place(src: Path, out: Path, deposit_path: str, member: str = "", move: bool = False) -> Placed:
    """Classify ``src`` and put it in its place under ``out``.

    ``move``: move it (a file extracted into a staging folder); otherwise hard-link it (a loose
    download, which stays in the download folder to be verified by a rerun), copying where links
    are not possible. Returns the Placed record.
    """
    label = f"{deposit_path}:{member}" if member else deposit_path
    kind, dataset, reason = classify(src, label)
    dest, there = _free_name(_target(out, kind, dataset, deposit_path, member), src)
    if not there:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(src, dest)
        else:
            try:
                os.link(src, dest)
            except OSError:
                shutil.copy2(src, dest)
    return Placed(
        path=dest.relative_to(out).as_posix(),
        kind=kind,
        source=deposit_path,
        member=member,
        dataset=dataset,
        size=dest.stat().st_size,
        reason=reason,
    )


__all__ = ["Placed", "classify", "place", "HEADER_PREFIX", "BROKEN_DIR", "OTHER_DIR"]
