"""Long-form curves and the arrays every analysis computes on (shared by lifecycle, shapes, fits).

Many curves in "long form" are one DataFrame with the curve columns of ``nnlife.columns``
(``epoch``, ``val_acc``, ...) plus an ``id`` column (and optionally ``dataset``), one row per
network and record; a single curve (``Lifespan.curve``) has no ``id``. ``pivot_curves`` turns
long form into arrays (networks x epochs, ``CurveArrays``) so that features are computed with
numpy for all networks at once; the small helpers below work on those arrays.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..columns import EPOCH, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from ..errors import ParameterError

ID = "id"  # network id column of the long form
DATASET = "dataset"  # optional dataset column of the long form
SINGLE_ID = "curve"  # id given to a single curve passed without an id column


# --- long form -> arrays --------------------------------------------------------------------------


@dataclass(frozen=True)
class CurveArrays:
    """Many curves on one shared epoch grid."""

    ids: np.ndarray  # (N,) network ids, in order of first appearance
    epoch: np.ndarray  # (T,) every epoch that occurs, ascending, in epochs
    values: dict  # column -> (N, T) float array, nan where a row is absent
    present: np.ndarray  # (N, T) bool: the network has a row at that epoch
    dataset: np.ndarray | None  # (N,) dataset of each network, or None without the column

    def __getitem__(self, column) -> np.ndarray:
        """The (N, T) array of ``column``; all-nan when the input had no such column."""
        if column in self.values:
            return self.values[column]
        return np.full(self.present.shape, np.nan)

    def has(self, column) -> bool:
        """Whether the input had ``column``."""
        return column in self.values


def as_long(curves: pd.DataFrame) -> pd.DataFrame:
    """Long form of ``curves``: a single curve (no ``id`` column) gets the id ``"curve"``."""
    if not isinstance(curves, pd.DataFrame):
        raise ParameterError(
            f"curves must be a pandas DataFrame with an {EPOCH!r} column, got {type(curves).__name__}"
        )
    if ID in curves.columns:
        return curves
    return curves.assign(**{ID: SINGLE_ID})


def pivot_curves(curves: pd.DataFrame, columns) -> CurveArrays:
    """Arrays (networks x epochs) of ``columns`` from long-form (or single-curve) ``curves``.

    Columns the input lacks are left out (``CurveArrays[col]`` gives all-nan for them); a missing
    ``epoch`` column, or none of ``columns`` present, raises ParameterError. Rows with a
    non-finite epoch are dropped; of duplicate (id, epoch) rows the last one counts.
    """
    df = as_long(curves)
    if EPOCH not in df.columns:
        raise ParameterError(
            f"curves has no {EPOCH!r} column (columns: {list(df.columns)}); "
            "pass Lifespan.curve or the catalog's long form"
        )
    columns = tuple(columns)
    if not any(c in df.columns for c in columns):
        raise ParameterError(f"curves has none of the columns {columns}; columns: {list(df.columns)}")
    ep = pd.to_numeric(df[EPOCH], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(ep)
    codes, ids = pd.factorize(df[ID].astype(str).to_numpy()[keep])
    epochs, einv = np.unique(ep[keep], return_inverse=True)
    N, T = len(ids), len(epochs)
    present = np.zeros((N, T), dtype=bool)
    present[codes, einv] = True
    values = {}
    for c in columns:
        if c in df.columns:
            arr = np.full((N, T), np.nan)
            arr[codes, einv] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)[keep]
            values[c] = arr
    dataset = None
    if DATASET in df.columns:
        ds = pd.Series(df[DATASET].to_numpy()[keep]).groupby(codes).first()
        dataset = ds.reindex(range(N)).to_numpy(dtype=object)
    return CurveArrays(np.asarray(ids, dtype=object), epochs, values, present, dataset)


# --- array helpers --------------------------------------------------------------------------------


def last_index(present: np.ndarray) -> np.ndarray:
    """(N,) index of the last present column of each row (0 for an empty row)."""
    N, T = present.shape
    if T == 0:
        return np.zeros(N, dtype=int)
    return T - 1 - np.argmax(present[:, ::-1], axis=1)


def take(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """arr[i, idx[i]] for every row i."""
    return arr[np.arange(arr.shape[0]), idx]


def running_mean(arr: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` columns, ignoring nan (nan where all are nan)."""
    if window <= 1:
        return arr.copy()
    ok = np.isfinite(arr)
    z = np.where(ok, arr, 0.0)
    cs = np.cumsum(np.pad(z, ((0, 0), (1, 0))), axis=1)
    cn = np.cumsum(np.pad(ok.astype(float), ((0, 0), (1, 0))), axis=1)
    T = arr.shape[1]
    lo = np.maximum(np.arange(1, T + 1) - window, 0)
    s = cs[:, 1:] - cs[:, lo]
    n = cn[:, 1:] - cn[:, lo]
    with np.errstate(all="ignore"):
        return np.where(n > 0, s / n, np.nan)


def nonfinite_rows(a: CurveArrays, columns=(VAL_ACC, VAL_LOSS, TRAIN_LOSS)) -> np.ndarray:
    """(N, T) bool: present rows with a nan or inf in any of ``columns`` that the input had."""
    bad = np.zeros(a.present.shape, dtype=bool)
    for c in columns:
        if a.has(c):
            bad |= ~np.isfinite(a[c])
    return a.present & bad


def finite_or_nan(arr: np.ndarray) -> np.ndarray:
    """arr with inf replaced by nan (so nan-aware reductions skip it)."""
    return np.where(np.isfinite(arr), arr, np.nan)


@contextlib.contextmanager
def quiet_nan_warnings():
    """Silence numpy's 'all-nan slice' and 'mean of empty slice' warnings in nan reductions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


__all__ = [
    "ID",
    "DATASET",
    "SINGLE_ID",
    "CurveArrays",
    "as_long",
    "pivot_curves",
    "last_index",
    "take",
    "running_mean",
    "nonfinite_rows",
    "finite_or_nan",
    "quiet_nan_warnings",
]
