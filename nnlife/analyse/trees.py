"""Gradient-boosted trees as plain arrays: fitted with scikit-learn, evaluated with numpy.

``fit_quantile(X, y, q, seed)`` fits scikit-learn's ``HistGradientBoostingRegressor`` with the
pinball loss for the quantile ``q`` (it takes missing features, nan, natively) and returns the
fitted trees as a dict of numeric arrays (``TREE_ARRAYS`` and ``baseline``); ``predict_trees``
evaluates such a dict exactly as scikit-learn's ``predict`` does. A saved predictor holds only
these arrays, so predicting needs neither scikit-learn nor pickle.
"""

from __future__ import annotations

import numpy as np

from ..errors import NnlifeError

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
# the arrays of one model, one entry per node of all its trees (plus "baseline", a scalar)
TREE_ARRAYS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value", "roots")


def export_trees(model) -> dict:
    """A fitted HistGradientBoostingRegressor as plain arrays (see ``predict_trees``)."""
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


def predict_trees(t: dict, X: np.ndarray) -> np.ndarray:
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


def fit_quantile(X, y, q: float, seed) -> dict:
    """Trees (``export_trees``) fitted to predict the ``q`` quantile of ``y`` from ``X``."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    # a feature that is nan in every training row (train_acc gaps of the published tables, which
    # have no train_acc) would break the binning: make it a constant, which is never split on
    X = np.where(np.isnan(X).all(axis=0), 0.0, X)
    m = HistGradientBoostingRegressor(loss="quantile", quantile=q, random_state=seed, **BOOSTING)
    # one OpenMP thread: on a busy machine more threads made a fit 20x slower (spin-waiting),
    # and the benchmarks parallelise over folds instead
    with threadpool_limits(1):
        return export_trees(m.fit(X, y))


__all__ = ["BOOSTING", "TREE_ARRAYS", "export_trees", "fit_quantile", "predict_trees"]
