"""Lifecycle features of learning curves, one network or many at once.

A single curve is a DataFrame with the columns of ``nnlife.columns`` (``epoch``, ``train_loss``,
``train_acc``, ``val_loss``, ``val_acc``, ``elapsed_s``; accuracies in percent), one row per half
epoch. Many curves ("long form") are the same columns plus an ``id`` column (and optionally
``dataset``); ``nnlife.analyse.long.pivot_curves`` turns long form into arrays (networks x
epochs) so that every feature is computed with numpy for all networks at once.

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

import numpy as np
import pandas as pd

from ..columns import EPOCH, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from .long import (
    ID,
    SINGLE_ID,
    CurveArrays,
    as_long,
    finite_or_nan,
    last_index,
    nonfinite_rows,
    pivot_curves,
    quiet_nan_warnings,
    running_mean,
    take,
)


def _nanarg(arr: np.ndarray, fn) -> np.ndarray:
    """Index of the nan-ignoring min/max of each row (-1 for an all-nan row)."""
    ok = np.isfinite(arr).any(axis=1)
    fill = np.inf if fn is np.argmin else -np.inf
    idx = fn(np.where(np.isfinite(arr), arr, fill), axis=1)
    return np.where(ok, idx, -1)


def _at(epoch: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.where(idx >= 0, epoch[np.clip(idx, 0, None)], np.nan)


# --- features -------------------------------------------------------------------------------------

LIFECYCLE_COLUMNS = (
    "id",
    "n_rows",
    "n_nonfinite",
    "final_epoch",
    "final_val_acc",
    "best_val_acc",
    "best_epoch",
    "final_val_loss",
    "min_val_loss",
    "min_val_loss_epoch",
    "final_train_loss",
    "overfit_onset_epoch",
    "loss_gap_final",
    "loss_gap_max",
    "loss_gap_mean",
    "acc_gap_final",
    "epochs_to_90",
    "epochs_to_95",
    "epochs_to_99",
    "auc",
    "auc_mean",
)


def lifecycle_arrays(a: CurveArrays, smooth: int = 2, onset_rise: float = 0.05) -> pd.DataFrame:
    """Lifecycle features from ``CurveArrays`` (see the module docstring); one row per network."""
    if len(a.ids) == 0 or a.present.shape[1] == 0:
        return pd.DataFrame(
            {c: a.ids if c == "id" else np.full(len(a.ids), np.nan) for c in LIFECYCLE_COLUMNS},
            columns=list(LIFECYCLE_COLUMNS),
        )
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
    if feats.empty:  # no rows at all
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
