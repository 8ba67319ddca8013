"""One table per lifespan, in the published dataset's own layout (reader and writer).

The layout (see ``tests/fixtures/README.md``): one space-separated text file per network,
one header line, one row per record (epochs 0.5, 1.0, ...). The 28 original columns come first:
``epochs trainLoss valLoss valAcc`` (valAcc in percent) and 24 metadata columns, filled in the
first data row only (later rows leave them empty, so they end in runs of spaces). nnlife's own
tables append extra columns after the 28: ``trainAcc`` and ``elapsed_s`` on every row, then
provenance fields (status, the TrainSpec fields the original lacks, versions, device, dataset
checksums, ...) in the first row only. ``pd.read_csv(path, sep=' ')``, the reader the authors'
tools use, gets the 28 original columns back unchanged from either layout.
"""

from __future__ import annotations

import math
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from . import columns as C
from .atomic import atomic_write
from .curvecheck import check_curve, check_id
from .errors import TableError, TableExistsError
from .original import columns_to_specs, fmt_number, parse_bool, spec_to_columns
from .spec import LEGACY_MEMORY_FORMAT, NetSpec, TrainSpec

LAYOUTS = ("original", "nnlife")

# Extra curve columns (every row) that nnlife writes after the 28 original ones.
EXTRA_CURVE_COLUMNS = ("trainAcc", "elapsed_s")
# TrainSpec fields the original columns lack, written as extra first-row columns, with parsers.
_INT_RE = re.compile(r"^-?\d+$")


def _number(text: str):
    return int(text) if _INT_RE.match(text) else float(text)


def _opt_int(text: str):
    return None if text == "" else int(text)


def _finite(parse):
    """``parse``, refusing NaN and inf (ValueError), for the columns that hold a plan."""

    def parse_finite(text: str):
        value = parse(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    return parse_finite


EXTRA_TRAIN_COLUMNS = {
    "epochs_planned": ("epochs", _finite(_number)),
    "eval_interval": ("eval_interval", _finite(float)),
    "train_size": ("train_size", _opt_int),
    "val_size": ("val_size", _opt_int),
    "subset_seed": ("subset_seed", int),
    "val_source": ("val_source", str),
    "drop_last_val": ("drop_last_val", None),  # bool, parsed with parse_bool
    "lr_schedule": ("lr_schedule", str),
    "precision": ("precision", str),
    "memory_format": ("memory_format", str),
    "device": ("device", str),
}
STATUS_COLUMN = "status"
PUBLISHED_EPOCHS = 40  # the plan of an original-layout table unless the caller states another
TABLE_SUFFIX = ".txt"  # a lifespan table is <id>.txt
REPLAY_SUFFIX = ".replay.txt"  # a replay (nnlife reproduce) beside its table: <id>.replay.txt; not a lifespan


@dataclass(frozen=True, eq=False)
class Lifespan:
    """One trained network's learning curve with everything needed to rebuild and retrain it.

    ``curve`` has the columns of ``nnlife.columns.CURVE_COLUMNS`` (epoch, train_loss, train_acc,
    val_loss, val_acc, elapsed_s), one row per record; accuracies in percent; ``train_acc`` and
    ``elapsed_s`` are NaN in the published tables, which do not record them. ``meta`` holds
    provenance strings (nnlife and torch versions, device name, dataset file checksums, host,
    ...). ``layout`` is "original" for a 28-column table and "nnlife" for one with extras.
    """

    id: str  # table id: the file name without .txt
    net: NetSpec
    train: TrainSpec
    curve: pd.DataFrame
    status: str = C.STATUS_COMPLETE  # "complete" or "diverged"
    meta: dict = field(default_factory=dict)
    layout: str = "nnlife"

    @property
    def dataset(self) -> str:
        return self.train.dataset

    @property
    def diverged(self) -> bool:
        return self.status == C.STATUS_DIVERGED

    def __repr__(self) -> str:
        return (
            f"Lifespan(id={self.id!r}, dataset={self.dataset!r}, net={self.net.id}, "
            f"rows={len(self.curve)}, status={self.status!r}, layout={self.layout!r})"
        )


def curve_frame(epoch, train_loss, val_loss, val_acc, train_acc=None, elapsed_s=None) -> pd.DataFrame:
    """A curve DataFrame with the standard columns; missing ones are NaN (float64 throughout)."""
    n = len(epoch)
    nan = np.full(n, np.nan)
    return pd.DataFrame(
        {
            C.EPOCH: np.asarray(epoch, dtype=float),
            C.TRAIN_LOSS: np.asarray(train_loss, dtype=float),
            C.TRAIN_ACC: nan.copy() if train_acc is None else np.asarray(train_acc, dtype=float),
            C.VAL_LOSS: np.asarray(val_loss, dtype=float),
            C.VAL_ACC: np.asarray(val_acc, dtype=float),
            C.ELAPSED_S: nan.copy() if elapsed_s is None else np.asarray(elapsed_s, dtype=float),
        }
    )


# --- reading --------------------------------------------------------------------------------------
def read_lifespan(path, expected_epochs: float | None = None) -> Lifespan:
    """Read one table, in the original layout or nnlife's, into a ``Lifespan``.

    ``expected_epochs``: for original-layout tables, which do not say how long training was
    planned, the number of epochs the table must cover; None: the published dataset's 40 (80
    rows). nnlife's tables carry their plan. Values are checked (``nnlife.curvecheck``):
    accuracies in [0, 100], losses >= 0, non-finite losses only from the row a lifespan diverged.
    Raises TableError naming the file and the problem (not a regular file, missing column,
    truncated line, non-numeric or impossible value, empty file, wrong row count for its plan,
    impossible network, an id that is not a plain file name).
    """
    path = Path(path)
    where = str(path)
    return parse_table(read_text(path, where), where, path.stem, expected_epochs)


_FILE_KINDS = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_text(path: Path, where: str) -> str:
    """The text of the table file at ``path``; its type is checked before it is opened (a named
    pipe would block, ``/dev/zero`` never ends), and a UTF-8 byte-order mark is skipped."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise TableError(f"{where}: no such table") from None
    except OSError as e:
        raise TableError(f"{where}: cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise TableError(f"{where}: is a directory, not a table; name a table file (<id>.txt)")
    if not stat.S_ISREG(st.st_mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(st.st_mode), "not a plain file")
        raise TableError(f"{where}: not a regular file ({kind}); a table is a text file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TableError(f"{where}: cannot be read ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableError(f"{where}: not a text table (cannot be decoded as UTF-8)") from None


def parse_table(text: str, where: str, stem: str = "", expected_epochs: float | None = None) -> Lifespan:
    """Parse the text of one table (see ``read_lifespan``); ``where`` names it in errors."""
    rec = parse_record(text, where, stem, expected_epochs)
    return Lifespan(
        id=rec.id,
        net=rec.net,
        train=rec.train,
        curve=curve_frame(**rec.arrays),
        status=rec.status,
        meta=rec.meta,
        layout=rec.layout,
    )


@dataclass(frozen=True, eq=False)
class TableRecord:
    """A parsed table before it becomes a Lifespan: the curve as plain float64 arrays.

    For readers of many tables (the catalog), which skip building a DataFrame per table.
    ``arrays`` holds the keyword arguments of ``curve_frame`` (epoch, train_loss, val_loss,
    val_acc, train_acc or None, elapsed_s or None).
    """

    id: str
    net: NetSpec
    train: TrainSpec
    status: str
    meta: dict
    layout: str
    arrays: dict


def parse_record(text: str, where: str, stem: str = "", expected_epochs: float | None = None) -> TableRecord:
    """Parse and validate the text of one table into a TableRecord (errors as ``read_lifespan``)."""
    lines = text.removeprefix("\ufeff").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise TableError(f"{where}: the table is empty; delete it so the batch retrains it")
    header = lines[0].split(" ")
    missing = [c for c in C.ORIGINAL_COLUMNS if c not in header]
    if missing:
        raise TableError(
            f"{where}: missing column(s) {', '.join(missing)}; a lifespan table needs "
            f"the 28 columns of the published layout ({' '.join(C.ORIGINAL_COLUMNS[:4])} ...)"
        )
    if tuple(header[:28]) != C.ORIGINAL_COLUMNS:
        raise TableError(f"{where}: the 28 original columns are not first and in order")
    if len(lines) < 2:
        raise TableError(f"{where}: the table has a header but no data rows")
    width = len(header)
    rows = [line.split(" ") for line in lines[1:]]
    for i, row in enumerate(rows, start=2):
        if len(row) != width:
            hint = " (truncated last line?)" if i == len(lines) else ""
            raise TableError(f"{where}: line {i} has {len(row)} fields but the header has {width}{hint}")
    col = {name: j for j, name in enumerate(header)}

    def numeric(name: str) -> np.ndarray:
        j = col[name]
        try:  # numpy parses the strings in C ("nan" and "inf" included)
            return np.array([r[j] for r in rows]).astype(np.float64)
        except ValueError:
            bad = next(i for i, r in enumerate(rows, start=2) if not _is_float(r[j]))
            raise TableError(
                f"{where}: line {bad}, column {name}: {rows[bad - 2][j]!r} is not a number"
            ) from None

    first = rows[0]
    meta_fields = {name: first[col[name]] for name in C.ORIGINAL_META_COLUMNS}
    layout = "nnlife" if width > 28 else "original"
    extras = {name: first[j] for j, name in enumerate(header) if j >= 28}

    train_extra, status, meta = _read_extras(extras, where)
    if layout == "nnlife":  # nnlife tables from before the column trained in NCHW
        train_extra.setdefault("memory_format", LEGACY_MEMORY_FORMAT)

    epoch = numeric("epochs")
    interval = train_extra.get("eval_interval", epoch[0] if len(epoch) else 0.5)
    if "epochs" not in train_extra:
        if expected_epochs is not None:
            planned = expected_epochs
        else:
            planned = PUBLISHED_EPOCHS if layout == "original" else epoch[-1]
        train_extra["epochs"] = int(planned) if float(planned).is_integer() else float(planned)
        train_extra.setdefault("eval_interval", float(interval))
    net, train = columns_to_specs(meta_fields, where, **train_extra)
    table_id = meta_fields["ID"] or stem
    check_id(table_id, where)

    expected = np.round(np.arange(1, len(epoch) + 1) * train.eval_interval, 9)
    off = ~(np.abs(epoch - expected) <= 1e-6)
    if off.any():
        bad = int(np.argmax(off))
        raise TableError(
            f"{where}: line {bad + 2}: epoch {epoch[bad]} where {expected[bad]} was "
            f"expected (records every {train.eval_interval} epoch from "
            f"{train.eval_interval}); rows are missing or out of order"
        )
    arrays = dict(
        epoch=epoch,
        train_loss=numeric("trainLoss"),
        val_loss=numeric("valLoss"),
        val_acc=numeric("valAcc"),
        train_acc=numeric("trainAcc") if "trainAcc" in col else None,
        elapsed_s=numeric("elapsed_s") if "elapsed_s" in col else None,
    )
    status = check_curve(where, arrays, status, layout)
    _check_rows(where, len(epoch), train, status, layout, expected_epochs)
    if stem and meta_fields["ID"] and stem != meta_fields["ID"]:
        meta.setdefault("file_stem", stem)
    return TableRecord(
        id=table_id, net=net, train=train, status=status, meta=meta, layout=layout, arrays=arrays
    )


def _check_rows(where: str, n: int, train: TrainSpec, status: str, layout: str, expected_epochs=None):
    """TableError unless ``n`` rows are the plan's (fewer only for a lifespan marked diverged)."""
    if n == train.n_records or (status == C.STATUS_DIVERGED and n < train.n_records and layout == "nnlife"):
        return
    plan = ""
    if layout == "original" and expected_epochs is None:
        plan = f" (a published table covers {PUBLISHED_EPOCHS} epochs; pass expected_epochs for another plan)"
    raise TableError(
        f"{where}: {n} rows, but {train.epochs} epochs recorded every {train.eval_interval} epoch "
        f"need {train.n_records}{plan}; the table is incomplete (delete it so the batch retrains it)"
    )


def _read_extras(extras: dict, where: str) -> tuple[dict, str, dict]:
    """(TrainSpec fields, status, provenance meta) from nnlife's extra first-row columns."""
    train_extra, status, meta = {}, C.STATUS_COMPLETE, {}
    for name, value in extras.items():
        if name in EXTRA_CURVE_COLUMNS:
            continue
        if name in EXTRA_TRAIN_COLUMNS:
            attr, parse = EXTRA_TRAIN_COLUMNS[name]
            try:
                train_extra[attr] = parse_bool(value, name, where) if parse is None else parse(value)
            except ValueError:
                raise TableError(f"{where}: column {name}: cannot read {value!r}") from None
        elif name == STATUS_COLUMN:
            status = value or C.STATUS_COMPLETE
            if status not in C.STATUSES:
                raise TableError(f"{where}: column status must be one of {C.STATUSES}, got {value!r}")
        else:
            meta[name] = unquote(value)
    return train_extra, status, meta


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --- writing --------------------------------------------------------------------------------------
def _fmt_curve(x: float) -> str:
    x = float(x)
    return repr(x) if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _fmt_extra(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return fmt_number(value)
    return quote(str(value), safe="/:=;,.+-_@")


def format_table(life: Lifespan, layout: str | None = None) -> str:
    """The text of ``life``'s table in ``layout`` ("original": exactly the 28 columns;
    "nnlife": the 28 columns, then nnlife's extras). Default: the layout it was read in."""
    layout = layout or life.layout
    if layout not in LAYOUTS:
        raise TableError(f"unknown layout {layout!r}: use one of {LAYOUTS}")
    where = f"lifespan {life.id!r}"
    check_id(life.id, where)
    curve = life.curve
    arrays = {
        "train_loss": curve[C.TRAIN_LOSS].to_numpy(float),
        "val_loss": curve[C.VAL_LOSS].to_numpy(float),
        "val_acc": curve[C.VAL_ACC].to_numpy(float),
        "train_acc": curve[C.TRAIN_ACC].to_numpy(float),
    }
    status = check_curve(where, arrays, life.status, layout)  # what it writes, it can read back
    _check_rows(where, len(curve), life.train, status, layout, expected_epochs=life.train.epochs)
    meta = spec_to_columns(life.net, life.train, life.id)
    header = list(C.ORIGINAL_COLUMNS)
    first_extra: list[str] = []
    if layout == "nnlife":
        train = life.train
        extra_meta = {STATUS_COLUMN: life.status}
        extra_meta.update({name: getattr(train, attr) for name, (attr, _) in EXTRA_TRAIN_COLUMNS.items()})
        extra_meta.update({k: v for k, v in sorted(life.meta.items()) if k not in extra_meta})
        for k in extra_meta:
            if not k or any(ch.isspace() for ch in k):
                raise TableError(f"meta key {k!r} must be non-empty and hold no whitespace")
        header += list(EXTRA_CURVE_COLUMNS) + list(extra_meta)
        first_extra = [_fmt_extra(v) for v in extra_meta.values()]
    cols = [curve[C.EPOCH], curve[C.TRAIN_LOSS], curve[C.VAL_LOSS], curve[C.VAL_ACC]]
    extra_cols = [curve[C.TRAIN_ACC], curve[C.ELAPSED_S]] if layout == "nnlife" else []
    lines = [" ".join(header)]
    empty_meta = [""] * len(C.ORIGINAL_META_COLUMNS)
    for i in range(len(curve)):
        fields = [_fmt_curve(c.iat[i]) for c in cols]
        fields += [meta[name] for name in C.ORIGINAL_META_COLUMNS] if i == 0 else empty_meta
        fields += [_fmt_curve(c.iat[i]) for c in extra_cols]
        fields += first_extra if i == 0 else [""] * len(first_extra)
        lines.append(" ".join(fields))
    return "\n".join(lines) + "\n"


def write_lifespan(life: Lifespan, path, layout: str | None = None, overwrite: bool = False) -> Path:
    """Write ``life`` as one table at ``path``, atomically (``nnlife.atomic.atomic_write``).

    ``layout``: "original" (exactly the 28 published columns) or "nnlife" (28 columns, then
    nnlife's extras); default: the layout ``life`` was read in, "nnlife" for new lifespans.
    An existing file is never replaced unless ``overwrite=True`` (raises TableExistsError, a
    FileExistsError). The lifespan is checked as a read checks it (values, rows against its
    plan, id), so what is written can be read back; TableError names ``path`` otherwise.
    Returns the path written.
    """
    path = Path(path)
    try:
        text = format_table(life, layout)
    except TableError as e:
        raise TableError(f"{path}: not written: {e}") from None
    try:
        return atomic_write(path, text, overwrite=overwrite)
    except FileExistsError as e:
        raise TableExistsError(
            f"{e}; nnlife does not overwrite a finished table (pass overwrite=True, or write elsewhere)"
        ) from None


__all__ = [
    "Lifespan",
    "TableRecord",
    "read_lifespan",
    "write_lifespan",
    "parse_table",
    "parse_record",
    "format_table",
    "curve_frame",
    "TABLE_SUFFIX",
    "REPLAY_SUFFIX",
]
