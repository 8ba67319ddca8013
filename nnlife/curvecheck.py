"""What a lifespan's curve and id may hold: checked where tables are read and written.

The rules (a table that breaks one is refused with TableError naming the file, the line, the
column and the value):

- accuracies (``valAcc``, ``trainAcc``) are percentages in [0, 100]; a column the table does not
  record (``trainAcc`` of the published tables: NaN on every row) is left alone;
- losses (``trainLoss``, ``valLoss``) are >= 0;
- a non-finite loss (NaN, inf) means training diverged at that row, and it stays diverged: every
  later row has a non-finite loss too (a finite loss after a NaN is an edit or a bug). In nnlife's
  layout the lifespan must say so (``status`` diverged; nnlife stops training at that row); the
  published layout has no status column, so a non-finite suffix marks the lifespan diverged (the
  published data holds such tables: its authors' PENGUIN skips them). From that row on an
  accuracy may be NaN too;
- a table id is a plain file name: not empty, no whitespace, no ``/`` or ``\\``, not ``.`` or
  ``..`` (the id names the replay and other files beside the table; none may land elsewhere).
"""

from __future__ import annotations

import numpy as np

from . import columns as C
from .errors import TableError

ACCURACY_RANGE = (0.0, 100.0)  # percent


def check_id(table_id: str, where: str) -> None:
    """TableError unless ``table_id`` is a plain file name (see the module docstring)."""
    if (
        not isinstance(table_id, str)
        or not table_id
        or table_id in (".", "..")
        or any(ch.isspace() or ch in "/\\\0" for ch in table_id)
    ):
        raise TableError(
            f"{where}: table id {table_id!r} is not a plain file name (it must be non-empty, "
            "without whitespace, '/' or '\\', and not '.' or '..'); fix the ID column"
        )


def _fmt(x: float) -> str:
    return repr(float(x)) if np.isfinite(x) else str(float(x))


def check_curve(where: str, arrays: dict, status: str, layout: str) -> str:
    """Check the values of a curve (``arrays``: epoch, train_loss, val_loss, val_acc and, when
    recorded, train_acc, as float arrays); return the lifespan's status (an original-layout
    table with a non-finite suffix is "diverged"). Raises TableError naming the line (file line:
    data row + 2), the column (file name) and the value."""
    losses = {
        "trainLoss": np.asarray(arrays["train_loss"], float),
        "valLoss": np.asarray(arrays["val_loss"], float),
    }
    accs = {"valAcc": np.asarray(arrays["val_acc"], float)}
    if arrays.get("train_acc") is not None:
        accs["trainAcc"] = np.asarray(arrays["train_acc"], float)
    n = len(losses["trainLoss"])
    for name, a in losses.items():
        neg = a < 0  # -inf included
        if neg.any():
            i = int(np.argmax(neg))
            raise TableError(
                f"{where}: line {i + 2}, column {name}: loss {_fmt(a[i])} is negative; "
                "a cross-entropy loss is >= 0"
            )
    bad_loss = ~np.isfinite(losses["trainLoss"]) | ~np.isfinite(losses["valLoss"])
    first = int(np.argmax(bad_loss)) if bad_loss.any() else n
    if first < n:
        name = "trainLoss" if not np.isfinite(losses["trainLoss"][first]) else "valLoss"
        value = _fmt(losses[name][first])
        if not bad_loss[first:].all():
            again = first + int(np.argmin(bad_loss[first:]))
            raise TableError(
                f"{where}: line {first + 2}, column {name}: loss {value}, but line {again + 2} "
                "has finite losses again; a non-finite loss only fits a lifespan that "
                "diverged from that row on (an edited or damaged table?)"
            )
        if layout == "nnlife" and status != C.STATUS_DIVERGED:
            raise TableError(
                f"{where}: line {first + 2}, column {name}: loss {value} in a lifespan whose "
                f"status is {status!r}; only a lifespan marked diverged may hold a "
                "non-finite loss"
            )
        status = C.STATUS_DIVERGED
    low, high = ACCURACY_RANGE
    rows = np.arange(n)
    for name, a in accs.items():
        if name == "trainAcc" and np.isnan(a).all():
            continue  # not recorded (the published layout, or a table converted from it)
        out = ~((a >= low) & (a <= high))  # NaN and inf included
        out &= ~(np.isnan(a) & (rows >= first))  # NaN where training had diverged is fine
        if out.any():
            i = int(np.argmax(out))
            raise TableError(
                f"{where}: line {i + 2}, column {name}: {_fmt(a[i])} is not an accuracy "
                f"in percent ({low:g} to {high:g})"
            )
    return status


__all__ = ["check_curve", "check_id", "ACCURACY_RANGE"]
