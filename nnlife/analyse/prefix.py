"""Features of a curve prefix: what the learned early predictor sees of a curve cut at epoch c.

``prefix_features(curves, cuts, target_epoch, chance)`` gives one row of ``CURVE_FEATURES`` per
(network, cut-off):

- the observed prefix: val_acc at fixed epochs (``VALUE_EPOCHS``), last, mean of the last 2
  epochs, best, spread, slopes over the last 1, 2 and 5 epochs, gain since the first record, when
  the network started to learn and how long it sat near chance;
- the curve families fitted to the prefix by ``nnlife.fit_curves`` (Domhan et al.'s 11 and
  PENGUIN's a - b**(c - x)), each extrapolated to the target, the AICc-best one, and nnlife's
  AICc-weighted ensemble (``nnlife.ensemble_predict`` on the same fits);
- the losses so far: last and best val_loss, last train_loss and its slope, the generalization
  gap (val_loss - train_loss, and train_acc - val_acc where the tables have train_acc);
- the cut-off itself, the horizon to the target and the dataset's chance level.

Features that a prefix does not define (val_acc at 10 epochs for a cut at 5) are nan.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import nnlife

from ..columns import EPOCH, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from .families import DOMHAN, PENGUIN

# Domhan et al.'s 11 families (the ensemble's) and PENGUIN's function
ENSEMBLE_FAMILIES = DOMHAN
FEATURE_FAMILIES = ENSEMBLE_FAMILIES + (PENGUIN,)
ONSET_POINTS = 10.0  # points above chance that count as having started to learn
VALUE_EPOCHS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)  # val_acc at these epochs, when observed


def _curve_features():
    names = ["cutoff", "horizon", "chance", "n_nonfinite"]
    names += [f"val_acc_at_{e:g}" for e in VALUE_EPOCHS]
    names += [
        "val_acc_last",
        "val_acc_last2",
        "val_acc_best",
        "val_acc_spread2",
        "val_acc_gain",
        "val_acc_above_chance",
        "onset_epoch",
        "at_chance_share",
        "slope_1",
        "slope_2",
        "slope_5",
        "val_loss_last",
        "val_loss_best",
        "val_loss_rise",
        "val_loss_slope_2",
        "train_loss_last",
        "train_loss_first",
        "train_loss_slope_2",
        "loss_gap_last",
        "acc_gap_last",
    ]
    names += [f"fit_{f}" for f in FEATURE_FAMILIES]
    names += ["fit_best", "ensemble", "ensemble_n_models", "ensemble_minus_last"]
    return tuple(names)


CURVE_FEATURES = _curve_features()


def chance_level(dataset) -> float:
    """Accuracy (percent) of guessing on ``dataset``: 100 / its number of classes."""
    from ..datasets import N_CLASSES, canonical_name

    return 100.0 / N_CLASSES[canonical_name(dataset)]


def _slope(E, Y, mask):
    """Least-squares slope (units per epoch) of Y on E over ``mask``, row-wise; nan below 2."""
    m = mask & np.isfinite(Y)
    n = m.sum(axis=1)
    with np.errstate(all="ignore"):
        xm = np.where(m, E, 0).sum(axis=1) / n
        ym = np.where(m, Y, 0).sum(axis=1) / n
        dx = np.where(m, E - xm[:, None], 0)
        dy = np.where(m, Y - ym[:, None], 0)
        s = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 2, s, np.nan)


def _last(Y, mask):
    """The last finite value of each row within ``mask`` (nan where none)."""
    m = mask & np.isfinite(Y)
    idx = Y.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1)
    out = Y[np.arange(Y.shape[0]), idx]
    return np.where(m.any(axis=1), out, np.nan)


def _nanstat(fn, Y, mask):
    """A nan-aware reduction (np.nanmean, ...) of each row within ``mask`` (nan where empty)."""
    m = mask & np.isfinite(Y)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice": nan, as meant
        out = fn(np.where(m, Y, np.nan), axis=1)
    return np.where(m.any(axis=1), out, np.nan)


def _prefix_stats(arrays, rows, cut, target, chance):
    """Curve features (all but the fits) of ``rows`` of ``arrays`` cut at epoch ``cut``."""
    E = np.broadcast_to(arrays.epoch, (len(rows), arrays.epoch.size))
    seen = arrays.present[rows] & (E <= cut + 1e-9)
    acc, vl, tl, ta = (arrays[c][rows] for c in (VAL_ACC, VAL_LOSS, TRAIN_LOSS, TRAIN_ACC))
    last2 = seen & (E > cut - 2.0 + 1e-9)
    f = {
        "cutoff": np.full(len(rows), float(cut)),
        "horizon": np.full(len(rows), target - cut),
        "chance": chance,
    }
    nonfinite = seen & ~(np.isfinite(acc) & np.isfinite(vl) & np.isfinite(tl))
    f["n_nonfinite"] = nonfinite.sum(axis=1).astype(float)
    for e in VALUE_EPOCHS:
        f[f"val_acc_at_{e:g}"] = (
            _last(acc, seen & (E <= e + 1e-9) & (E > e - 0.25))
            if e <= cut + 1e-9
            else np.full(len(rows), np.nan)
        )
    f["val_acc_last"] = _last(acc, seen)
    f["val_acc_last2"] = _nanstat(np.nanmean, acc, last2)
    f["val_acc_best"] = _nanstat(np.nanmax, acc, seen)
    f["val_acc_spread2"] = _nanstat(np.nanmax, acc, last2) - _nanstat(np.nanmin, acc, last2)
    first = _last(acc, seen & (E <= arrays.epoch[0] + 1e-9))
    f["val_acc_gain"] = f["val_acc_last"] - first
    f["val_acc_above_chance"] = f["val_acc_last"] - chance
    # when the network started to learn (first record ONSET_POINTS above chance; nan: not yet),
    # and the share of the records so far spent near chance: late learners and never-learners
    with np.errstate(invalid="ignore"):
        up = seen & (acc > chance[:, None] + ONSET_POINTS)
        near = seen & (np.abs(acc - chance[:, None]) <= 2.0)
    f["onset_epoch"] = np.where(up.any(axis=1), arrays.epoch[np.argmax(up, axis=1)], np.nan)
    with np.errstate(all="ignore"):
        f["at_chance_share"] = near.sum(axis=1) / seen.sum(axis=1)
    for w in (1, 2, 5):
        f[f"slope_{w}"] = _slope(E, acc, seen & (E > cut - w - 1e-9))
    f["val_loss_last"] = _last(vl, seen)
    f["val_loss_best"] = _nanstat(np.nanmin, vl, seen)
    with np.errstate(all="ignore"):
        f["val_loss_rise"] = f["val_loss_last"] / f["val_loss_best"]
    f["val_loss_slope_2"] = _slope(E, vl, last2)
    f["train_loss_last"] = _last(tl, seen)
    f["train_loss_first"] = _last(tl, seen & (E <= arrays.epoch[0] + 1e-9))
    f["train_loss_slope_2"] = _slope(E, tl, last2)
    f["loss_gap_last"] = _nanstat(np.nanmean, vl - tl, last2)
    f["acc_gap_last"] = _nanstat(np.nanmean, ta - acc, last2)
    return f


def prefix_features(
    curves: pd.DataFrame, cuts: dict, target_epoch: float, chance: dict, scheduler=None
) -> pd.DataFrame:
    """One row of ``CURVE_FEATURES`` per (id, cut-off): the features the predictor learns from.

    curves: long form (id, epoch, val_acc, val_loss, train_loss[, train_acc]). cuts: {id: [cut
    epochs]} (or {id: cut}). target_epoch: the epoch predicted. chance: {id: chance accuracy,
    percent}. scheduler: passed to ``nnlife.fit_curves``. Returns columns id, cutoff, then the
    features (nan where not defined, e.g. val_acc at 10 epochs for a cut at 5).
    """
    from .long import pivot_curves

    arrays = pivot_curves(curves, (VAL_ACC, VAL_LOSS, TRAIN_LOSS, TRAIN_ACC))
    pos = {str(i): k for k, i in enumerate(arrays.ids)}
    pairs = [(str(i), float(c)) for i, cs in cuts.items() for c in np.atleast_1d(cs)]
    by_cut: dict = {}
    for i, c in pairs:
        by_cut.setdefault(c, []).append(i)
    frames = []
    for cut, ids in by_cut.items():
        rows = np.array([pos[i] for i in ids])
        ch = np.array([chance[i] for i in ids], dtype=float)
        f = _prefix_stats(arrays, rows, cut, target_epoch, ch)
        frames.append(pd.DataFrame({"id": ids, **f}))
    feats = pd.concat(frames, ignore_index=True)
    # the families fitted to every prefix, each extrapolated to the target; the ensemble on them
    long = _prefix_long(curves, pairs)
    fits = nnlife.fit_curves(long, families=list(FEATURE_FAMILIES), scheduler=scheduler)
    fits = fits.assign(pred=_fit_predictions(fits, target_epoch))
    wide = fits.pivot_table(index="id", columns="family", values="pred", aggfunc="first")
    ok = fits[np.isfinite(fits["pred"]) & np.isfinite(fits["aicc"])]
    best = ok.loc[ok.groupby("id")["aicc"].idxmin(), ["id", "pred"]].set_index("id")["pred"]
    ens_fits = fits[fits["family"].isin(ENSEMBLE_FAMILIES)].drop(columns="pred")
    ens = nnlife.ensemble_predict(long, target_epoch, fits=ens_fits).set_index("id")
    key = feats["id"] + "@" + feats["cutoff"].map(lambda c: f"{c:g}")
    for fam in FEATURE_FAMILIES:
        col = wide[fam] if fam in wide.columns else pd.Series(dtype=float)
        feats[f"fit_{fam}"] = col.reindex(key).to_numpy(dtype=float)
    feats["fit_best"] = best.reindex(key).to_numpy(dtype=float)
    feats["ensemble"] = ens["predicted"].reindex(key).to_numpy(dtype=float)
    feats["ensemble_n_models"] = ens["n_models"].reindex(key).to_numpy(dtype=float)
    feats["ensemble_minus_last"] = feats["ensemble"] - feats["val_acc_last"]
    out = feats[["id"] + list(CURVE_FEATURES)]
    num = out[list(CURVE_FEATURES)].to_numpy(dtype=float)
    num[~np.isfinite(num)] = np.nan
    out = pd.concat(
        [out[["id"]].reset_index(drop=True), pd.DataFrame(num, columns=list(CURVE_FEATURES))], axis=1
    )
    return out


def _prefix_long(curves, pairs):
    """Long form of every (id, cut) prefix, ids renamed "<id>@<cut>": the input of the fits."""
    c = curves[["id", EPOCH, VAL_ACC]].assign(id=curves["id"].astype(str))
    by_cut: dict = {}
    for i, cut in pairs:
        by_cut.setdefault(cut, []).append(i)
    parts = []
    for cut, ids in by_cut.items():
        p = c[c["id"].isin(ids) & (c[EPOCH] <= cut + 1e-9)]
        parts.append(p.assign(id=p["id"] + f"@{cut:g}"))
    return pd.concat(parts, ignore_index=True)


def _fit_predictions(fits, target_epoch):
    from .fitting import predict_from_fits

    p = predict_from_fits(fits, target_epoch)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(p), np.clip(p, 0.0, 100.0), np.nan)


__all__ = [
    "CURVE_FEATURES",
    "ENSEMBLE_FAMILIES",
    "FEATURE_FAMILIES",
    "ONSET_POINTS",
    "VALUE_EPOCHS",
    "chance_level",
    "prefix_features",
]
