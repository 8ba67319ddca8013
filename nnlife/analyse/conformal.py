"""Conformal calibration of the learned predictor's intervals (conformalized quantile regression).

Romano, Patterson & Candes (2019, "Conformalized Quantile Regression"): the lower and upper
quantile models give an interval [lo, hi]; the conformity score of a truth y is
max(lo - y, y - hi) (negative inside the interval), and the interval is widened (or narrowed)
by the split-conformal quantile of the scores of networks the models did not see. Here the
scores come out of fold (``folds`` folds grouped by network, as CV+; Barber et al. 2021), so
every training network is used both to fit and to calibrate, and the correction is computed
separately for each cut-off of the training grid (a Mondrian split: errors at 2 epochs are
not errors at 20).
"""

from __future__ import annotations

import math

import numpy as np

from .predictor_input import fold_of
from .trees import fit_quantile, predict_trees


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile of ``scores``: the ceil((n + 1) level)-th smallest (the
    largest when n is too small for that); 0 when there is no finite score."""
    s = np.sort(scores[np.isfinite(scores)])
    if s.size == 0:
        return 0.0
    k = min(int(math.ceil((s.size + 1) * level)), s.size) - 1
    return float(s[k])


def out_of_fold_scores(X, y, groups, quantiles: tuple, folds: int, seed) -> np.ndarray:
    """The CQR score max(lo - y, y - hi) of every row, its lo and hi from quantile models
    (``quantiles``: lower, upper) fitted without the row's fold (``folds`` grouped folds)."""
    fold = fold_of(groups, folds, seed)
    score = np.full(y.size, np.nan)
    for j in range(folds):
        tr, te = fold != j, fold == j
        lo = predict_trees(fit_quantile(X[tr], y[tr], quantiles[0], seed), X[te])
        hi = predict_trees(fit_quantile(X[tr], y[tr], quantiles[1], seed), X[te])
        score[te] = np.maximum(lo - y[te], y[te] - hi)
    return score


def corrections(score: np.ndarray, cutoff: np.ndarray, level: float) -> tuple[tuple, tuple]:
    """(grid, correction per grid cut-off): the conformal quantile of the scores at each
    distinct cut-off of ``cutoff``."""
    grid = tuple(sorted(set(np.asarray(cutoff, dtype=float).tolist())))
    return grid, tuple(conformal_quantile(score[np.isclose(cutoff, c)], level) for c in grid)


__all__ = ["conformal_quantile", "corrections", "out_of_fold_scores"]
