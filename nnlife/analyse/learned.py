"""The learned early predictor: gradient-boosted trees on what the first epochs show.

``train_predictor(curves, catalog=None)`` learns, from complete curves, to predict the validation
accuracy at a target epoch (default: the last epoch of the training curves) from a curve cut
off at any epoch c from 1 to before the target. Each complete curve is cut at every epoch of
``FEATURE_CUTOFFS`` below the target, and each prefix becomes one row of features (see
``FEATURES``):

- the observed prefix: val_acc at fixed epochs, last, mean of the last 2 epochs, best, spread,
  slopes over the last 1, 2 and 5 epochs, gain since the first record;
- the curve families fitted to the prefix by ``nnlife.fit_curves`` (Domhan et al.'s 11 and
  PENGUIN's a - b**(c - x)), each extrapolated to the target, the AICc-best one, and nnlife's
  AICc-weighted ensemble (``nnlife.ensemble_predict`` on the same fits);
- the losses so far: last and best val_loss, last train_loss and its slope, the generalization
  gap (val_loss - train_loss, and train_acc - val_acc where the tables have train_acc);
- the cut-off itself and the dataset's chance level;
- with a catalog: the network's structure and training hyperparameters (``STRUCTURE_FEATURES``,
  the catalog's structure columns).

The method follows Baker et al. (2017, "Accelerating Neural Architecture Search using
Performance Prediction"), who regress the final accuracy on the partial curve, its slopes and
the hyperparameters (nu-SVR and others), with one model per cut-off; here one model over all
cut-offs (the cut-off is a feature) of gradient-boosted trees (scikit-learn's
``HistGradientBoostingRegressor``, which takes missing features natively). Three are fitted
with the pinball loss, for the quantiles 0.1, 0.5 and 0.9; the median is the prediction.

The 80 % interval: conformalized quantile regression (Romano, Patterson & Candes 2019) with the
conformity score max(lower - y, y - upper), calibrated out of fold (``CALIBRATION_FOLDS`` folds
grouped by network: no network, and no seed of one network, on both sides) and separately for
each cut-off of the training grid (a Mondrian split: errors at 2 epochs are not errors at 20).
A cut-off between two grid epochs takes the correction of the grid epoch below it.

Saved predictors (``Predictor.save`` / ``load_predictor``) are one ``.npz`` file of plain numeric
arrays and a JSON header, read with ``numpy.load(allow_pickle=False)``: loading one cannot run
code, and predicting needs neither scikit-learn nor pickle (the trees are evaluated in numpy).
"""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import nnlife

from ..atomic import atomic_write
from ..columns import EPOCH, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from ..errors import NnlifeError, ParameterError, PredictorFileError
from .families import DOMHAN, PENGUIN

FORMAT = "nnlife-predictor"  # the "format" of a saved predictor's header
FORMAT_VERSION = 1
LEVEL = 0.8  # coverage the intervals aim at
QUANTILES = (0.1, 0.5, 0.9)  # lower, median, upper models (pinball loss)
MIN_NETWORKS = 10  # fewer complete curves than this: no predictor
MIN_CUTOFF = 1.0  # epochs: the earliest cut-off a prediction is made from
CALIBRATION_FOLDS = 5  # grouped folds of the conformal calibration
# epochs at which each training curve is cut (those below the target are used)
ANCHOR = "val_acc_last2"  # the trees learn the final val_acc minus this feature
FEATURE_CUTOFFS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 35.0)
# Domhan et al.'s 11 families (the ensemble's) and PENGUIN's function
ENSEMBLE_FAMILIES = DOMHAN
FEATURE_FAMILIES = ENSEMBLE_FAMILIES + (PENGUIN,)
ONSET_POINTS = 10.0  # points above chance that count as having started to learn
VALUE_EPOCHS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)  # val_acc at these epochs, when observed
# catalog columns used as structure and hyperparameter features (numeric; nan when absent)
STRUCTURE_FEATURES = (
    "n_conv",
    "n_hidden_fc",
    "log10_params",
    "log10_flops",
    "receptive_field",
    "rf_fraction",
    "final_size",
    "final_channels",
    "flat_features",
    "total_stride",
    "total_filters",
    "max_filters",
    "mean_kernel",
    "max_kernel",
    "hidden_fc_units",
    "n_pool",
    "n_conv_dropout",
    "n_fc_dropout",
    "conv_dropout_rate",
    "fc_dropout_rate",
    "batch_size",
    "log10_learning_rate",
    "momentum",
    "dampening",
    "weight_decay",
    "train_size",
)
# gradient boosting settings (scikit-learn HistGradientBoostingRegressor)
BOOSTING = {
    "max_iter": 150,
    "learning_rate": 0.08,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "max_bins": 63,
    "early_stopping": False,
}


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


# --- features of prefixes ---------------------------------------------------------------------
def _chance(dataset) -> float:
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


# --- input checks -----------------------------------------------------------------------------
def _long(curves, what: str) -> pd.DataFrame:
    from .long import as_long

    df = as_long(curves)
    if len(df) == 0:
        raise ParameterError(
            f"{what} is empty: pass learning curves in long form "
            "(id, epoch, val_acc, ...), e.g. nnlife.load_catalog(path).curves"
        )
    missing = [c for c in (EPOCH, VAL_ACC) if c not in df.columns]
    if missing:
        raise ParameterError(f"{what} lacks the columns {missing} (columns: {list(df.columns)})")
    df = df.assign(id=df["id"].astype(str))
    ep = pd.to_numeric(df[EPOCH], errors="coerce")
    return df.assign(**{EPOCH: ep})[np.isfinite(ep.to_numpy(dtype=float))]


def _datasets(df: pd.DataFrame, catalog, what: str, known=None) -> pd.Series:
    """Dataset of every id (original spellings), from the curves or the catalog."""
    from ..datasets import canonical_name

    ids = pd.unique(df["id"])
    if "dataset" in df.columns and df["dataset"].notna().all():
        ds = df.groupby("id")["dataset"].first()
    elif catalog is not None and "dataset" in catalog.columns:
        ds = catalog.assign(id=catalog["id"].astype(str)).set_index("id")["dataset"].reindex(ids)
    elif known is not None and len(known) == 1:
        ds = pd.Series(known[0], index=ids)  # a predictor of one dataset: that one
    else:
        raise ParameterError(
            f"{what} has no 'dataset' column and no catalog gives one: add it "
            "(the catalog's long form has it)"
        )
    bad = ds.index[ds.isna()].tolist()
    if bad:
        raise ParameterError(f"{what}: no dataset known for {len(bad)} id(s), e.g. {bad[:3]}")
    out = {}
    for i, d in ds.items():
        try:
            out[i] = canonical_name(d)
        except ValueError as e:
            raise ParameterError(f"{what}: id {i}: {e}") from None
    return pd.Series(out).reindex(ids)


def _structure(catalog, ids, what: str) -> np.ndarray:
    """(len(ids), len(STRUCTURE_FEATURES)) structure features from the catalog table."""
    if isinstance(catalog, nnlife_catalog_type()):
        catalog = catalog.table
    if not isinstance(catalog, pd.DataFrame) or "id" not in catalog.columns:
        raise ParameterError(
            f"catalog must be the catalog table (Catalog.table) with an 'id' "
            f"column, got {type(catalog).__name__}"
        )
    t = catalog.assign(id=catalog["id"].astype(str)).drop_duplicates("id").set_index("id")
    missing = [i for i in ids if i not in t.index]
    if missing:
        raise ParameterError(
            f"{what}: {len(missing)} id(s) are not in the catalog, e.g. "
            f"{missing[:3]}; pass the catalog of these curves"
        )
    cols = {
        c: pd.to_numeric(t[c], errors="coerce") if c in t.columns else pd.Series(np.nan, index=t.index)
        for c in STRUCTURE_FEATURES
    }
    return pd.DataFrame(cols).reindex(list(ids)).to_numpy(dtype=float)


def nnlife_catalog_type():
    from .catalog import Catalog

    return Catalog


def _groups(catalog, ids) -> np.ndarray:
    """Group of every id for grouped folds: the catalog's net_id (all seeds of one network
    together), else the id itself."""
    ids = [str(i) for i in ids]
    if catalog is not None:
        t = catalog.table if isinstance(catalog, nnlife_catalog_type()) else catalog
        if isinstance(t, pd.DataFrame) and "net_id" in t.columns and "id" in t.columns:
            g = t.assign(id=t["id"].astype(str)).drop_duplicates("id").set_index("id")["net_id"]
            g = g.reindex(ids)
            return np.where(g.notna(), g.astype(str), np.asarray(ids, dtype=object)).astype(str)
    return np.asarray(ids, dtype=str)


def fold_of(groups, n_folds: int, seed=0) -> np.ndarray:
    """Fold (0 .. n_folds-1) of each entry of ``groups``: whole groups, drawn with ``seed``."""
    uniq = np.unique(np.asarray(groups, dtype=str))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    fold = {g: k % n_folds for k, g in enumerate(rng.permutation(uniq))}
    return np.array([fold[g] for g in np.asarray(groups, dtype=str)], dtype=int)


# --- trees as arrays --------------------------------------------------------------------------
TREE_ARRAYS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value", "roots")


def _export(model) -> dict:
    """A fitted HistGradientBoostingRegressor as plain arrays (see ``_tree_predict``)."""
    nodes = [p.nodes for it in model._predictors for p in it]
    if any(n["is_categorical"].any() for n in nodes):
        raise NnlifeError("categorical splits are not exported")  # never: no categorical features
    sizes = np.array([len(n) for n in nodes])
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cat = np.concatenate(nodes)
    shift = np.repeat(offs, sizes)
    return {
        "feature": cat["feature_idx"].astype(np.int64),
        "threshold": cat["num_threshold"].astype(float),
        "missing_left": cat["missing_go_to_left"].astype(bool),
        "left": cat["left"].astype(np.int64) + shift,
        "right": cat["right"].astype(np.int64) + shift,
        "leaf": cat["is_leaf"].astype(bool),
        "value": cat["value"].astype(float),
        "roots": offs.astype(np.int64),
        "baseline": np.asarray(float(np.ravel(model._baseline_prediction)[0])),
    }


def _tree_predict(t: dict, X: np.ndarray) -> np.ndarray:
    """Sum of the trees' leaf values plus the baseline, as scikit-learn's predict: a sample goes
    left when x <= threshold, or when x is nan and the node sends missing values left."""
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    node = np.broadcast_to(t["roots"], (n, t["roots"].size)).copy()
    rows = np.arange(n)[:, None]
    for _ in range(64):
        leaf = t["leaf"][node]
        if leaf.all():
            break
        x = X[rows, t["feature"][node]]
        with np.errstate(invalid="ignore"):
            left = np.where(np.isnan(x), t["missing_left"][node], x <= t["threshold"][node])
        node = np.where(leaf, node, np.where(left, t["left"][node], t["right"][node]))
    return float(t["baseline"]) + t["value"][node].sum(axis=1)


def _fit_quantile(X, y, q, seed):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    # a feature that is nan in every training row (train_acc gaps of the published tables, which
    # have no train_acc) would break the binning: make it a constant, which is never split on
    X = np.where(np.isnan(X).all(axis=0), 0.0, X)
    m = HistGradientBoostingRegressor(loss="quantile", quantile=q, random_state=seed, **BOOSTING)
    # one OpenMP thread: on a busy machine more threads made a fit 20x slower (spin-waiting),
    # and the benchmarks parallelise over folds instead
    with threadpool_limits(1):
        return _export(m.fit(X, y))


# --- the predictor ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Predictor:
    """A learned early predictor of val_acc at ``target_epoch`` (see the module docstring)."""

    target_epoch: float  # epoch predicted (epochs)
    features: tuple  # feature names, the column order of the models
    structure: bool  # trained with catalog features (predict then needs the catalog)
    datasets: tuple  # datasets of the training curves (original spellings)
    cutoffs: tuple  # cut-off grid of the training set (epochs)
    corrections: tuple  # conformal widening of the interval at each grid cut-off (points)
    n_networks: int  # complete curves trained on
    n_groups: int  # distinct networks among them (seeds of one network: one)
    seed: int  # seed of the trees and the calibration folds
    models: dict = field(repr=False)  # "lower", "median", "upper" -> tree arrays
    level: float = LEVEL  # nominal coverage of [lower, upper]

    # -- prediction --
    def predict(self, curves: pd.DataFrame, catalog=None, scheduler=None) -> pd.DataFrame:
        """Predict val_acc at ``target_epoch`` for every network of ``curves``.

        curves: long form (id, epoch, val_acc, val_loss, train_loss; dataset or a catalog that
        gives it), each network's curve observed so far; its cut-off is its last epoch, from 1
        to before the target. catalog: the catalog table (or Catalog), needed when the
        predictor was trained with one. Returns id, cutoff, predicted, lower, upper (percent;
        [lower, upper] is the ``level`` interval), in the order of first appearance.
        Raises ParameterError for empty curves, a cut-off below 1 epoch or not before the
        target, a curve with a nan or inf val_acc, a dataset the predictor was not trained on,
        or ids missing from the catalog.
        """
        df = _long(curves, "curves")
        ids = pd.unique(df["id"])
        acc = pd.to_numeric(df[VAL_ACC], errors="coerce").to_numpy(dtype=float)
        bad = pd.unique(df["id"][~np.isfinite(acc)])
        if len(bad):
            raise ParameterError(
                f"curves: val_acc is nan or inf in {len(bad)} curve(s), e.g. "
                f"{list(bad[:3])}: a run that diverged has nothing to predict; "
                "drop those ids"
            )
        cut = df.groupby("id")[EPOCH].max().reindex(ids)
        late = cut[cut >= self.target_epoch - 1e-9]
        if len(late):
            raise ParameterError(
                f"curves: {len(late)} curve(s) reach epoch {late.iloc[0]:g} (e.g. {late.index[0]}), "
                f"not before the predictor's target epoch {self.target_epoch:g}: cut them before "
                "it (e.g. curves[curves.epoch <= 10])"
            )
        early = cut[cut < MIN_CUTOFF - 1e-9]
        if len(early):
            raise ParameterError(
                f"curves: {len(early)} curve(s) end before epoch {MIN_CUTOFF:g} "
                f"(e.g. {early.index[0]} at {early.iloc[0]:g}): the predictor "
                "needs at least one epoch"
            )
        ds = _datasets(
            df,
            catalog.table if isinstance(catalog, nnlife_catalog_type()) else catalog,
            "curves",
            known=self.datasets,
        )
        unseen = sorted(set(ds) - set(self.datasets))
        if unseen:
            raise ParameterError(
                f"curves: dataset(s) {unseen} were not in this predictor's "
                f"training curves ({list(self.datasets)}): train one on them"
            )
        if self.structure and catalog is None:
            raise ParameterError(
                "this predictor was trained with catalog features: pass "
                "catalog= (the catalog table of these curves)"
            )
        X = self._matrix(df, {i: float(cut[i]) for i in ids}, ds, catalog, scheduler)
        return self._predict_matrix(ids, cut.to_numpy(dtype=float), X)

    def _matrix(self, df, cuts, ds, catalog, scheduler):
        chance = {i: _chance(d) for i, d in ds.items()}
        f = prefix_features(df, cuts, self.target_epoch, chance, scheduler=scheduler)
        f = f.set_index("id").reindex(list(cuts))
        X = f[list(CURVE_FEATURES)].to_numpy(dtype=float)
        if self.structure:
            X = np.hstack([X, _structure(catalog, list(cuts), "curves")])
        return X

    def _predict_matrix(self, ids, cut, X) -> pd.DataFrame:
        a = _anchor(X, self.features)
        med = a + _tree_predict(self.models["median"], X)
        lo = a + _tree_predict(self.models["lower"], X)
        hi = a + _tree_predict(self.models["upper"], X)
        corr = self.correction(cut)
        lo, hi = lo - corr, hi + corr
        med = np.clip(med, 0.0, 100.0)
        lo = np.clip(np.minimum(lo, med), 0.0, 100.0)
        hi = np.clip(np.maximum(hi, med), 0.0, 100.0)
        return pd.DataFrame(
            {
                "id": list(ids),
                "cutoff": np.asarray(cut, dtype=float),
                "predicted": med,
                "lower": lo,
                "upper": hi,
            }
        )

    def correction(self, cutoff) -> np.ndarray:
        """Conformal widening (points) at each ``cutoff``: that of the grid cut-off at or below."""
        grid = np.asarray(self.cutoffs, dtype=float)
        k = np.searchsorted(grid, np.asarray(cutoff, dtype=float) + 1e-9, side="right") - 1
        return np.asarray(self.corrections, dtype=float)[np.clip(k, 0, grid.size - 1)]

    # -- files --
    def header(self) -> dict:
        """The JSON header of a saved predictor (everything but the tree arrays)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nnlife_version": nnlife.__version__,
            "target_epoch": self.target_epoch,
            "features": list(self.features),
            "structure": self.structure,
            "datasets": list(self.datasets),
            "cutoffs": list(self.cutoffs),
            "corrections": list(self.corrections),
            "n_networks": self.n_networks,
            "n_groups": self.n_groups,
            "seed": self.seed,
            "level": self.level,
            "quantiles": list(QUANTILES),
            "anchor": ANCHOR,
            "boosting": BOOSTING,
        }

    def save(self, path) -> Path:
        """Write the predictor to ``path`` (a .npz file: a JSON header and numeric arrays only;
        ``load_predictor`` reads it without pickle). Written atomically. Returns the path."""
        path = Path(path)
        arrays = {"header": np.array(json.dumps(self.header()))}
        for name, t in self.models.items():
            for k, v in t.items():
                arrays[f"{name}.{k}"] = np.asarray(v)
        return atomic_write(path, write=lambda fh: np.savez_compressed(fh, **arrays))


def load_predictor(path) -> Predictor:
    """Read a predictor written by ``Predictor.save``.

    The file is read with ``numpy.load(allow_pickle=False)``: only plain numeric and string
    arrays are accepted, so a crafted file cannot run code. Raises PredictorFileError (a
    ValueError) naming the file when it is not such a predictor (FileNotFoundError when absent).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no predictor file at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise PredictorFileError(f"{path}: not a saved nnlife predictor ({e})") from None
    try:
        head = json.loads(str(arrays.pop("header")))
    except (KeyError, ValueError) as e:
        raise PredictorFileError(f"{path}: no readable header ({e})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise PredictorFileError(
            f"{path}: not a saved nnlife predictor (format "
            f"{head.get('format') if isinstance(head, dict) else head!r})"
        )
    if head.get("format_version") != FORMAT_VERSION:
        raise PredictorFileError(
            f"{path}: predictor format {head.get('format_version')}, this "
            f"nnlife reads {FORMAT_VERSION}: train it again"
        )
    models = {}
    for name in ("lower", "median", "upper"):
        try:
            t = {k: arrays[f"{name}.{k}"] for k in TREE_ARRAYS + ("baseline",)}
        except KeyError as e:
            raise PredictorFileError(f"{path}: model {name!r} lacks the array {e}") from None
        n = t["value"].size
        for k in ("left", "right", "roots", "feature"):
            if t[k].dtype.kind not in "iu" or (
                t[k].size
                and (t[k].min() < 0 or t[k].max() >= max(n, len(head["features"]) if k == "feature" else n))
            ):
                raise PredictorFileError(f"{path}: model {name!r} has a bad {k!r} array")
        models[name] = t
    try:
        return Predictor(
            target_epoch=float(head["target_epoch"]),
            features=tuple(head["features"]),
            structure=bool(head["structure"]),
            datasets=tuple(head["datasets"]),
            cutoffs=tuple(float(c) for c in head["cutoffs"]),
            corrections=tuple(float(c) for c in head["corrections"]),
            n_networks=int(head["n_networks"]),
            n_groups=int(head["n_groups"]),
            seed=int(head["seed"]),
            models=models,
            level=float(head["level"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise PredictorFileError(f"{path}: header lacks or has a bad field ({e})") from None


# --- training ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TrainingSet:
    """Rows of features of complete curves cut at the grid's cut-offs, with their truths."""

    ids: np.ndarray  # (n,) network id of each row
    groups: np.ndarray  # (n,) group (net_id) of each row
    cutoff: np.ndarray  # (n,) epochs observed
    X: np.ndarray  # (n, features)
    y: np.ndarray  # (n,) val_acc at the target (percent)
    features: tuple  # column names of X
    target_epoch: float  # epoch predicted
    datasets: tuple  # datasets of the curves
    structure: bool  # X has the catalog's structure columns


def training_set(
    curves: pd.DataFrame, catalog=None, target_epoch=None, cutoffs=FEATURE_CUTOFFS, scheduler=None
) -> TrainingSet:
    """The rows a predictor learns from (see ``train_predictor`` for the arguments).

    A curve is used when it has a finite val_acc at the target epoch and finite values up to
    it; the others (runs that diverged, or shorter than the target) are left out.
    Raises ParameterError for empty curves, a target below 2 epochs, or fewer than
    ``MIN_NETWORKS`` usable curves.
    """
    df = _long(curves, "curves")
    table = catalog.table if isinstance(catalog, nnlife_catalog_type()) else catalog
    if target_epoch is None:
        target_epoch = float(df.groupby("id")[EPOCH].max().max())
    target_epoch = float(target_epoch)
    grid = tuple(float(c) for c in cutoffs if MIN_CUTOFF - 1e-9 <= c < target_epoch - 1e-9)
    if not grid:
        raise ParameterError(
            f"target_epoch {target_epoch:g}: no cut-off of {tuple(cutoffs)} lies "
            f"from {MIN_CUTOFF:g} to before it; use a target of 2 epochs or more"
        )
    df = df[df[EPOCH] <= target_epoch + 1e-9]
    cols = [c for c in (VAL_ACC, VAL_LOSS, TRAIN_LOSS) if c in df.columns]
    fin = np.isfinite(df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)).all(axis=1)
    bad = set(df["id"][~fin])
    at = df[np.isclose(df[EPOCH], target_epoch)]
    ok = sorted(set(at["id"]) - bad, key=list(pd.unique(df["id"])).index)
    if len(ok) < MIN_NETWORKS:
        raise ParameterError(
            f"too few networks to train a predictor: {len(ok)} curve(s) reach "
            f"epoch {target_epoch:g} with finite values, {MIN_NETWORKS} needed"
        )
    df = df[df["id"].isin(ok)]
    ds = _datasets(df, table, "curves")
    chance = {i: _chance(d) for i, d in ds.items()}
    y = at.drop_duplicates("id", keep="last").set_index("id")[VAL_ACC].reindex(ok).to_numpy(dtype=float)
    f = prefix_features(df, {i: list(grid) for i in ok}, target_epoch, chance, scheduler=scheduler)
    X = f[list(CURVE_FEATURES)].to_numpy(dtype=float)
    features = CURVE_FEATURES
    if table is not None:
        S = _structure(table, ok, "curves")
        X = np.hstack([X, S[pd.Index(ok).get_indexer(f["id"])]])
        features = CURVE_FEATURES + tuple(f"net_{c}" for c in STRUCTURE_FEATURES)
    row_id = f["id"].to_numpy(dtype=str)
    yy = pd.Series(y, index=ok).reindex(row_id).to_numpy(dtype=float)
    g = pd.Series(_groups(table, ok), index=ok).reindex(row_id).to_numpy(dtype=str)
    return TrainingSet(
        ids=row_id,
        groups=g,
        cutoff=f["cutoff"].to_numpy(dtype=float),
        X=X,
        y=yy,
        features=tuple(features),
        target_epoch=target_epoch,
        datasets=tuple(sorted(set(ds))),
        structure=table is not None,
    )


def _anchor(X, features) -> np.ndarray:
    """What the trees predict the change from: the mean val_acc of the last 2 epochs (the last
    value where that is missing). Learning the change, not the level, keeps a late cut-off's
    prediction near the curve, where boosting from scratch needs many splits to get back to it."""
    f = list(features)
    a = X[:, f.index(ANCHOR)]
    return np.where(np.isfinite(a), a, X[:, f.index("val_acc_last")])


def _conformal(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile of ``scores``: the ceil((n + 1) level)-th smallest (the
    largest when n is too small for that)."""
    s = np.sort(scores[np.isfinite(scores)])
    if s.size == 0:
        return 0.0
    k = min(int(math.ceil((s.size + 1) * level)), s.size) - 1
    return float(s[k])


def fit_predictor(
    ts: TrainingSet, seed: int = 0, rows=None, calibration_folds: int = CALIBRATION_FOLDS
) -> Predictor:
    """Fit a ``Predictor`` on the rows ``rows`` (default all) of a training set: the three
    quantile models on all of them, the conformal corrections out of ``calibration_folds``
    folds grouped by network (at least 2)."""
    rows = np.arange(ts.y.size) if rows is None else np.asarray(rows)
    X, g, cut = ts.X[rows], ts.groups[rows], ts.cutoff[rows]
    y = ts.y[rows] - _anchor(X, ts.features)
    n_groups = len(np.unique(g))
    if calibration_folds < 2:
        raise ParameterError(f"calibration_folds must be >= 2, got {calibration_folds}")
    k = min(calibration_folds, n_groups)
    fold = fold_of(g, k, seed)
    score = np.full(y.size, np.nan)
    for j in range(k):
        tr, te = fold != j, fold == j
        lo = _tree_predict(_fit_quantile(X[tr], y[tr], QUANTILES[0], seed), X[te])
        hi = _tree_predict(_fit_quantile(X[tr], y[tr], QUANTILES[2], seed), X[te])
        score[te] = np.maximum(lo - y[te], y[te] - hi)
    grid = tuple(sorted(set(cut.tolist())))
    corr = tuple(_conformal(score[np.isclose(cut, c)], LEVEL) for c in grid)
    models = {name: _fit_quantile(X, y, q, seed) for name, q in zip(("lower", "median", "upper"), QUANTILES)}
    return Predictor(
        target_epoch=ts.target_epoch,
        features=ts.features,
        structure=ts.structure,
        datasets=ts.datasets,
        cutoffs=grid,
        corrections=corr,
        n_networks=len(np.unique(ts.ids[rows])),
        n_groups=n_groups,
        seed=int(seed),
        models=models,
    )


def train_predictor(
    curves: pd.DataFrame,
    catalog=None,
    target_epoch=None,
    seed: int = 0,
    cutoffs=FEATURE_CUTOFFS,
    calibration_folds: int = CALIBRATION_FOLDS,
    scheduler=None,
) -> Predictor:
    """Learn an early predictor of val_acc at ``target_epoch`` from complete curves.

    curves: long form (``Catalog.curves``: id, dataset, epoch, val_acc, val_loss, train_loss,
    train_acc), at least ``MIN_NETWORKS`` curves that reach the target with finite values.
    catalog: the catalog table (or Catalog) of these curves: adds the structure and
    hyperparameter features (predictions then need it too) and groups the seeds of one
    network (``net_id``) in the calibration folds. target_epoch: epochs (None: the last epoch
    of the curves). seed: of the trees and the folds. cutoffs: the epochs each curve is cut at
    to make the training rows (those from 1 to before the target). calibration_folds: grouped
    folds of the conformal calibration. scheduler: for the fits (``nnlife.fit_curves``).
    Returns a ``Predictor``. Raises ParameterError for empty curves, too few usable curves or
    a target without cut-offs before it.
    """
    ts = training_set(
        curves, catalog=catalog, target_epoch=target_epoch, cutoffs=cutoffs, scheduler=scheduler
    )
    return fit_predictor(ts, seed=seed, calibration_folds=calibration_folds)


__all__ = [
    "CURVE_FEATURES",
    "FEATURE_CUTOFFS",
    "FEATURE_FAMILIES",
    "LEVEL",
    "MIN_NETWORKS",
    "Predictor",
    "PredictorFileError",
    "STRUCTURE_FEATURES",
    "TrainingSet",
    "fit_predictor",
    "fold_of",
    "load_predictor",
    "prefix_features",
    "train_predictor",
    "training_set",
]
