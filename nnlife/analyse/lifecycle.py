"""Lifecycle features of learning curves, one network or many at once; long-form helpers.

A single curve is a DataFrame with the columns of ``nnlife.columns`` (``epoch``, ``train_loss``,
``train_acc``, ``val_loss``, ``val_acc``, ``elapsed_s``; accuracies in percent), one row per half
epoch. Many curves ("long form") are the same columns plus an ``id`` column (and optionally
``dataset``). ``pivot_curves`` turns long form into arrays (networks x epochs) so that every
feature is computed with numpy for all networks at once.

Features (``lifecycle_features``, one row per network; epochs in epochs, accuracies in percent):
    n_rows              rows present
    n_nonfinite         rows whose val_acc, val_loss or train_loss is nan or inf
    final_epoch         last epoch present
    final_val_acc       val_acc of the last row
    best_val_acc        highest val_acc
    best_epoch          first epoch at which best_val_acc is reached
    final_val_loss, min_val_loss, min_val_loss_epoch, final_train_loss
    overfit_onset_epoch epoch of the minimum of the smoothed val_loss when, after it, the smoothed
                        val_loss ends at least ``onset_rise`` (relative) above that minimum while
                        the smoothed train_loss ends lower than at the minimum; nan otherwise
    loss_gap_final      val_loss - train_loss, mean over the last ``smooth`` rows
    loss_gap_max        largest val_loss - train_loss
    loss_gap_mean       mean val_loss - train_loss over the run
    acc_gap_final       train_acc - val_acc, mean over the last ``smooth`` rows (nan without
                        train_acc, as in the published tables)
    epochs_to_90, epochs_to_95, epochs_to_99
                        first epoch at which val_acc >= 90 / 95 / 99 % of final_val_acc
    auc                 area under val_acc over epochs (trapezoids), percent x epochs
    auc_mean            auc divided by the epoch span: the run's mean accuracy, percent

The generalization gap over time, one row per network and epoch, is ``generalization_gap``.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import EPOCH, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from .errors import ParameterError

ID = "id"            # network id column of the long form
DATASET = "dataset"  # optional dataset column of the long form
SINGLE_ID = "curve"  # id given to a single curve passed without an id column


# --- long form -> arrays -------------------------------------------------------------------------

@dataclass(frozen=True)
class CurveArrays:
    """Many curves on one shared epoch grid."""

    ids: np.ndarray             # (N,) network ids, in order of first appearance
    epoch: np.ndarray           # (T,) every epoch that occurs, ascending, in epochs
    values: dict                # column -> (N, T) float array, nan where a row is absent
    present: np.ndarray         # (N, T) bool: the network has a row at that epoch
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
        raise ParameterError(f"curves must be a pandas DataFrame with an {EPOCH!r} column, "
                             f"got {type(curves).__name__}")
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
        raise ParameterError(f"curves has no {EPOCH!r} column (columns: {list(df.columns)}); "
                             "pass Lifespan.curve or the catalog's long form")
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


# --- small array helpers (shared with nnlife.shapes) ---------------------------------------------

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


def _nanarg(arr: np.ndarray, fn) -> np.ndarray:
    """Index of the nan-ignoring min/max of each row (-1 for an all-nan row)."""
    ok = np.isfinite(arr).any(axis=1)
    fill = np.inf if fn is np.argmin else -np.inf
    idx = fn(np.where(np.isfinite(arr), arr, fill), axis=1)
    return np.where(ok, idx, -1)


def _at(epoch: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.where(idx >= 0, epoch[np.clip(idx, 0, None)], np.nan)


# --- features ------------------------------------------------------------------------------------

LIFECYCLE_COLUMNS = (
    "id", "n_rows", "n_nonfinite", "final_epoch", "final_val_acc", "best_val_acc", "best_epoch",
    "final_val_loss", "min_val_loss", "min_val_loss_epoch", "final_train_loss",
    "overfit_onset_epoch", "loss_gap_final", "loss_gap_max", "loss_gap_mean", "acc_gap_final",
    "epochs_to_90", "epochs_to_95", "epochs_to_99", "auc", "auc_mean",
)


def lifecycle_arrays(a: CurveArrays, smooth: int = 2, onset_rise: float = 0.05) -> pd.DataFrame:
    """Lifecycle features from ``CurveArrays`` (see the module docstring); one row per network."""
    if len(a.ids) == 0 or a.present.shape[1] == 0:
        return pd.DataFrame({c: a.ids if c == "id" else np.full(len(a.ids), np.nan)
                             for c in LIFECYCLE_COLUMNS}, columns=list(LIFECYCLE_COLUMNS))
    ep, present = a.epoch, a.present
    va, vl = a[VAL_ACC], a[VAL_LOSS]
    tl, ta = a[TRAIN_LOSS], a[TRAIN_ACC]
    last = last_index(present)
    n_rows = present.sum(axis=1)
    nonfinite = nonfinite_rows(a)
    va_f, vl_f, tl_f = finite_or_nan(va), finite_or_nan(vl), finite_or_nan(tl)
    out = {"id": a.ids, "n_rows": n_rows, "n_nonfinite": nonfinite.sum(axis=1)}
    out["final_epoch"] = np.where(n_rows > 0, ep[last], np.nan)
    final_acc = np.where(n_rows > 0, take(va_f, last), np.nan)
    out["final_val_acc"] = final_acc
    ibest = _nanarg(va_f, np.argmax)
    out["best_val_acc"] = np.where(ibest >= 0, take(va_f, np.clip(ibest, 0, None)), np.nan)
    out["best_epoch"] = _at(ep, ibest)
    out["final_val_loss"] = np.where(n_rows > 0, take(vl_f, last), np.nan)
    imin = _nanarg(vl_f, np.argmin)
    out["min_val_loss"] = np.where(imin >= 0, take(vl_f, np.clip(imin, 0, None)), np.nan)
    out["min_val_loss_epoch"] = _at(ep, imin)
    out["final_train_loss"] = np.where(n_rows > 0, take(tl_f, last), np.nan)

    # overfitting onset: smoothed val_loss minimum, then a rise while train loss keeps falling
    svl, stl = running_mean(vl_f, smooth), running_mean(tl_f, smooth)
    ismin = _nanarg(svl, np.argmin)
    cl = np.clip(ismin, 0, None)
    vmin, vend = take(svl, cl), take(svl, last)
    tmin, tend = take(stl, cl), take(stl, last)
    with np.errstate(all="ignore"):
        rises = (ismin >= 0) & (ismin < last) & (vend >= vmin + onset_rise * np.abs(vmin))
        falls = tend < tmin
    out["overfit_onset_epoch"] = np.where(rises & falls, _at(ep, ismin), np.nan)

    gap = vl_f - tl_f
    sgap = running_mean(gap, smooth)
    out["loss_gap_final"] = take(sgap, last)
    with np.errstate(all="ignore"), quiet_nan_warnings():
        out["loss_gap_max"] = np.nanmax(np.where(np.isfinite(gap), gap, -np.inf), axis=1)
        out["loss_gap_max"] = np.where(np.isfinite(out["loss_gap_max"]), out["loss_gap_max"], np.nan)
        out["loss_gap_mean"] = np.nanmean(gap, axis=1)
    out["acc_gap_final"] = take(running_mean(finite_or_nan(ta) - va_f, smooth), last)

    for q in (90, 95, 99):
        with np.errstate(all="ignore"):
            hit = (va_f >= (q / 100.0) * final_acc[:, None]) & np.isfinite(final_acc)[:, None]
        first = np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)
        out[f"epochs_to_{q}"] = _at(ep, first)

    # area under val_acc: trapezoids between consecutive finite points of each curve
    x = np.where(np.isfinite(va_f), ep[None, :], np.nan)
    auc, span = _trapz_rows(x, va_f)
    out["auc"] = auc
    with np.errstate(all="ignore"):
        out["auc_mean"] = np.where(span > 0, auc / span, np.where(np.isfinite(final_acc), final_acc, np.nan))
    return pd.DataFrame(out, columns=list(LIFECYCLE_COLUMNS))


def _trapz_rows(x: np.ndarray, y: np.ndarray):
    """Trapezoid area and x span per row over the finite (x, y) points, skipping gaps' nans."""
    ok = np.isfinite(x) & np.isfinite(y)
    # compact each row's finite points to the left, keeping order
    order = np.argsort(~ok, axis=1, kind="stable")
    xs = np.take_along_axis(np.where(ok, x, np.nan), order, axis=1)
    ys = np.take_along_axis(np.where(ok, y, np.nan), order, axis=1)
    seg = 0.5 * (ys[:, 1:] + ys[:, :-1]) * (xs[:, 1:] - xs[:, :-1])
    area = np.nansum(seg, axis=1)
    n = ok.sum(axis=1)
    first = xs[:, 0]
    lastx = take(xs, np.clip(n - 1, 0, None))
    span = np.where(n > 1, lastx - first, 0.0)
    return area, span


@contextlib.contextmanager
def quiet_nan_warnings():
    """Silence numpy's 'all-nan slice' and 'mean of empty slice' warnings in nan reductions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


def lifecycle_features(curves: pd.DataFrame, smooth: int = 2, onset_rise: float = 0.05) -> pd.DataFrame:
    """Lifecycle features of every network in long-form ``curves``; one row per id.

    curves: long form (``id`` plus the curve columns; a single curve without ``id`` is accepted).
    smooth: rows in the trailing mean used for the onset and the final gaps (2 = one epoch, which
        cancels the half-epoch zig-zag of the published training loss).
    onset_rise: relative rise of the smoothed val_loss above its minimum that marks overfitting.
    Returns the columns ``LIFECYCLE_COLUMNS`` (see the module docstring). Raises ParameterError
    when ``curves`` has no ``epoch`` column or no curve columns.
    """
    a = pivot_curves(curves, (VAL_ACC, VAL_LOSS, TRAIN_LOSS, TRAIN_ACC))
    return lifecycle_arrays(a, smooth=smooth, onset_rise=onset_rise)


def lifecycle(curve: pd.DataFrame, **kwargs) -> dict:
    """Lifecycle features of one curve (a ``Lifespan.curve``) as a dict; see ``lifecycle_features``."""
    feats = lifecycle_features(as_long(curve).assign(**{ID: SINGLE_ID}), **kwargs)
    if feats.empty:   # no rows at all
        return {c: (0 if c in ("n_rows", "n_nonfinite") else np.nan) for c in LIFECYCLE_COLUMNS[1:]}
    row = feats.iloc[0].to_dict()
    row.pop("id")
    return row


def generalization_gap(curves: pd.DataFrame) -> pd.DataFrame:
    """The generalization gap over time, long form: id, epoch, loss_gap, acc_gap.

    loss_gap = val_loss - train_loss; acc_gap = train_acc - val_acc (percentage points; nan
    without train_acc). One row per row of ``curves``.
    """
    df = as_long(curves)
    out = pd.DataFrame({ID: df[ID].astype(str).to_numpy(), EPOCH: df[EPOCH].to_numpy()})
    nan = np.full(len(df), np.nan)
    vl = df[VAL_LOSS].to_numpy(float) if VAL_LOSS in df else nan
    tl = df[TRAIN_LOSS].to_numpy(float) if TRAIN_LOSS in df else nan
    va = df[VAL_ACC].to_numpy(float) if VAL_ACC in df else nan
    ta = df[TRAIN_ACC].to_numpy(float) if TRAIN_ACC in df else nan
    with np.errstate(all="ignore"):
        out["loss_gap"] = vl - tl
        out["acc_gap"] = ta - va
    return out
