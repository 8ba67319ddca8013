"""Conformal calibration of the learned predictor's intervals (conformalized quantile regression).

Romano, Patterson & Candes (2019, "Conformalized Quantile Regression"): the lower and upper
quantile models give an interval [lo, hi]; the conformity score of a truth y is
max(lo - y, y - hi) (negative inside the interval), and the interval is widened (or narrowed)
by the split-conformal quantile of the scores of networks the models did not see. Here the
scores come out of fold (``folds`` folds grouped by network, as CV+; Barber et al. 2021), so
every training network is used both to fit and to calibrate, and the correction is computed
separately for each cut-off of the training grid (a Mondrian split: errors at 2 epochs are
not errors at 20).

The number of folds matters because the scores come from models fitted on (K - 1) / K of the
networks while the interval is put around models refitted on all of them, and the quantile
trees get markedly better with more networks: their raw 0.1-0.9 band held 45 % of the truths out
of fold and 48 % around the refitted models (80 networks of the reference corpus, 2026-12-02).
A correction calibrated on the weaker fold models is too wide for the refitted ones: with K = 5
the cross-fitted 80 % intervals covered 0.836 on average (8 draws of the folds, all cut-offs;
0.81-0.85 per cut-off), where intervals around the very fold models that were calibrated
covered 0.821 (the expected coverage of the ceil((n + 1) 0.8)-th score is 0.80 for n = 64). With
K = 10 (``CALIBRATION_FOLDS``) the fold models see 9/10 of the networks and the coverage was 0.824
(6 draws; 0.80-0.84 per cut-off) with intervals 2 % narrower. The rest of the spread of one run's
coverage at a cut-off is the small sample: the binomial standard deviation of a coverage of 0.8
over 80 networks is 0.045, and the draw of the folds moves it by a further 0.02-0.04.
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
