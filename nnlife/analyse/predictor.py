"""The learned early predictor: quantile gradient-boosted trees with conformal intervals.

``train_predictor(curves, catalog=None, target_epoch=None, seed=0)`` learns, from complete
curves, to predict the validation accuracy at a target epoch from a curve cut off at any epoch
from 1 to before the target; ``Predictor.predict`` does so for partial curves. The rows it learns
from are ``nnlife.analyse.training_rows``; their features ``nnlife.analyse.prefix`` (with a
catalog also the network's structure and hyperparameters).

Three models of boosted trees (``nnlife.analyse.trees``) are fitted with the pinball loss, for
the quantiles 0.1, 0.5 and 0.9 of the final val_acc minus the mean val_acc of the last 2 epochs
seen (``ANCHOR``); the median is the prediction. The 80 % interval [lower, upper] is the outer
two, corrected by conformalized quantile regression (``nnlife.analyse.conformal``); a cut-off
between two grid epochs takes the correction of the grid epoch below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..columns import EPOCH, VAL_ACC
from ..errors import ParameterError
from .conformal import corrections, out_of_fold_scores
from .predictor_input import catalog_table, datasets_of, long_curves, structure_matrix
from .prefix import CURVE_FEATURES, chance_level, prefix_features
from .training_rows import FEATURE_CUTOFFS, MIN_CUTOFF, TrainingSet, training_set
from .trees import fit_quantile, predict_trees

LEVEL = 0.8  # coverage the intervals aim at
QUANTILES = (0.1, 0.5, 0.9)  # lower, median, upper models (pinball loss)
# grouped folds of the conformal calibration: 10, so that the fold models whose errors set the
# correction saw 9/10 of the networks, nearly as many as the models refitted on all (with 5 the
# intervals over-covered; see nnlife.analyse.conformal)
CALIBRATION_FOLDS = 10
ANCHOR = "val_acc_last2"  # the trees learn the final val_acc minus this feature


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
    calibration_folds: int | None = None  # grouped folds of the corrections (None: not recorded)

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
        df = long_curves(curves, "curves")
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
        ds = datasets_of(df, catalog_table(catalog), "curves", known=self.datasets)
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
        chance = {i: chance_level(d) for i, d in ds.items()}
        f = prefix_features(df, cuts, self.target_epoch, chance, scheduler=scheduler)
        f = f.set_index("id").reindex(list(cuts))
        X = f[list(CURVE_FEATURES)].to_numpy(dtype=float)
        if self.structure:
            X = np.hstack([X, structure_matrix(catalog, list(cuts), "curves")])
        return X

    def _predict_matrix(self, ids, cut, X) -> pd.DataFrame:
        a = _anchor(X, self.features)
        med = a + predict_trees(self.models["median"], X)
        lo = a + predict_trees(self.models["lower"], X)
        hi = a + predict_trees(self.models["upper"], X)
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

    # -- files (nnlife.analyse.predictor_file) --
    def header(self) -> dict:
        """The JSON header of a saved predictor (everything but the tree arrays)."""
        from .predictor_file import predictor_header

        return predictor_header(self)

    def save(self, path) -> Path:
        """Write the predictor to ``path`` (a .npz file: a JSON header and numeric arrays only;
        ``load_predictor`` reads it without pickle). Written atomically. Returns the path."""
        from .predictor_file import save_predictor

        return save_predictor(self, path)


def _anchor(X, features) -> np.ndarray:
    """What the trees predict the change from: the mean val_acc of the last 2 epochs (the last
    value where that is missing). Learning the change, not the level, keeps a late cut-off's
    prediction near the curve, where boosting from scratch needs many splits to get back to it."""
    f = list(features)
    a = X[:, f.index(ANCHOR)]
    return np.where(np.isfinite(a), a, X[:, f.index("val_acc_last")])


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
    score = out_of_fold_scores(X, y, g, (QUANTILES[0], QUANTILES[2]), k, seed)
    grid, corr = corrections(score, cut, LEVEL)
    models = {name: fit_quantile(X, y, q, seed) for name, q in zip(("lower", "median", "upper"), QUANTILES)}
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
        calibration_folds=int(k),
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
    "ANCHOR",
    "CALIBRATION_FOLDS",
    "LEVEL",
    "QUANTILES",
    "Predictor",
    "fit_predictor",
    "train_predictor",
]
