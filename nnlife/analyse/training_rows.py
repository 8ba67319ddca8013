"""The rows a learned predictor learns from: complete curves cut at a grid of epochs.

``training_set(curves, catalog, target_epoch)`` keeps the curves that reach the target epoch with
finite values, cuts each at every epoch of the grid (``FEATURE_CUTOFFS`` below the target) and
makes one row per (network, cut-off): the prefix's features (``nnlife.analyse.prefix``), with a
catalog the network's structure and hyperparameters, the true val_acc at the target, and the
network's group (its ``net_id``: the seeds of one network are one group) for grouped folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..columns import EPOCH, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from ..errors import ParameterError
from .predictor_input import (
    STRUCTURE_FEATURES,
    catalog_table,
    datasets_of,
    groups_of,
    long_curves,
    structure_matrix,
)
from .prefix import CURVE_FEATURES, chance_level, prefix_features

MIN_NETWORKS = 10  # fewer complete curves than this: no predictor
MIN_CUTOFF = 1.0  # epochs: the earliest cut-off a prediction is made from
# epochs at which each training curve is cut (those below the target are used)
FEATURE_CUTOFFS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 35.0)


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
    df = long_curves(curves, "curves")
    table = catalog_table(catalog)
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
    ds = datasets_of(df, table, "curves")
    chance = {i: chance_level(d) for i, d in ds.items()}
    y = at.drop_duplicates("id", keep="last").set_index("id")[VAL_ACC].reindex(ok).to_numpy(dtype=float)
    f = prefix_features(df, {i: list(grid) for i in ok}, target_epoch, chance, scheduler=scheduler)
    X = f[list(CURVE_FEATURES)].to_numpy(dtype=float)
    features = CURVE_FEATURES
    if table is not None:
        S = structure_matrix(table, ok, "curves")
        X = np.hstack([X, S[pd.Index(ok).get_indexer(f["id"])]])
        features = CURVE_FEATURES + tuple(f"net_{c}" for c in STRUCTURE_FEATURES)
    row_id = f["id"].to_numpy(dtype=str)
    yy = pd.Series(y, index=ok).reindex(row_id).to_numpy(dtype=float)
    g = pd.Series(groups_of(table, ok), index=ok).reindex(row_id).to_numpy(dtype=str)
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


__all__ = ["FEATURE_CUTOFFS", "MIN_CUTOFF", "MIN_NETWORKS", "TrainingSet", "training_set"]
