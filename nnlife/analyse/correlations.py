"""Rank correlations of structure features with fitness, per dataset and pooled.

``correlations(table, ...)``: Spearman and Kendall rank correlations of each feature with each
fitness column, with p-values, per dataset and pooled over datasets, plus Spearman partial
correlations controlling for the dataset; Benjamini-Hochberg adjusted p-values; one tidy table.

Rank correlations because the features are heavy-tailed (parameters and FLOPs span six orders
of magnitude) and their relation to accuracy is monotone at best, not linear.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .structure import CORRELATION_FEATURES, DEFAULT_TARGETS, POOLED

# --- correlations ---------------------------------------------------------------------------------
CORRELATION_COLUMNS = ("scope", "method", "feature", "target", "n", "r", "p", "p_bh", "significant", "note")
METHODS = ("spearman", "kendall", "partial_spearman")


def bh_adjust(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (the step-up FDR procedure, Benjamini & Hochberg 1995).

    ``p``: 1-D array-like; nan entries are ignored (not counted among the tests) and stay nan.
    Returns an array of the same shape: ``p_(i) * m / i`` made monotone from the largest down,
    capped at 1; a test is significant at FDR ``q`` when its adjusted value is <= q.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def _rank_pair(x: np.ndarray, y: np.ndarray, method: str):
    """(r, p, note) of one rank correlation; nan with a note when it is undefined."""
    if len(x) < 3:
        return np.nan, np.nan, "fewer than 3 networks"
    if np.all(x == x[0]) or np.all(y == y[0]):
        return np.nan, np.nan, "constant"
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "spearman":
            res = stats.spearmanr(x, y)
        else:
            res = stats.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue), ""


def _partial_spearman(x: np.ndarray, y: np.ndarray, groups: np.ndarray):
    """Spearman partial correlation of x and y controlling for a categorical covariate.

    Ranks over the pooled sample, residuals of a regression on the group dummies (for a single
    categorical covariate: each rank minus its group's mean rank), Pearson correlation of the
    residuals, t test with n - 2 - (groups - 1) degrees of freedom (the usual test of a partial
    correlation with k covariates: df = n - 2 - k).
    """
    from scipy import stats

    n = len(x)
    codes, uniq = pd.factorize(groups)
    k = len(uniq) - 1
    df = n - 2 - k
    if df < 1:
        return np.nan, np.nan, "too few networks for the partial correlation"
    rx = stats.rankdata(x)
    ry = stats.rankdata(y)
    counts = np.bincount(codes).astype(float)
    ex = rx - (np.bincount(codes, rx) / counts)[codes]
    ey = ry - (np.bincount(codes, ry) / counts)[codes]
    sx, sy = math.sqrt(float(ex @ ex)), math.sqrt(float(ey @ ey))
    if sx == 0 or sy == 0:
        return np.nan, np.nan, "constant within every dataset"
    r = float(np.clip((ex @ ey) / (sx * sy), -1.0, 1.0))
    if abs(r) == 1.0:
        return r, 0.0, ""
    t = r * math.sqrt(df / (1.0 - r * r))
    p = float(2 * stats.t.sf(abs(t), df))
    return r, p, ""


def correlations(
    table: pd.DataFrame,
    features=None,
    targets=DEFAULT_TARGETS,
    methods=("spearman", "kendall"),
    by: str = "dataset",
    pooled: bool = True,
    partial: bool = True,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Rank correlations of structure features with fitness, as one tidy table.

    table: the catalog (one row per lifespan; ``nnlife.catalog``), or any DataFrame holding the
        feature and target columns and ``by``.
    features: numeric columns to correlate; default the ``CORRELATION_FEATURES`` present.
    targets: fitness columns (default final and best validation accuracy, percent).
    methods: any of "spearman", "kendall", computed within each value of ``by`` (each dataset)
        and, with ``pooled``, over all rows together (scope "pooled").
    partial: add "partial_spearman" rows (scope "pooled"): Spearman correlation controlling for
        ``by`` (rank residuals on the dataset dummies), when ``by`` has at least two values.
    alpha: false discovery rate for the ``significant`` column.

    Each (feature, target, scope) pair uses the rows where both values are finite. p-values are
    two-sided. ``p_bh`` is the Benjamini-Hochberg adjusted p-value within one family of tests per
    method (every scope, feature and target of that method); ``significant`` is p_bh <= alpha.
    Undefined correlations (a constant column, fewer than 3 rows) have nan r, p and p_bh and say
    why in ``note``.
    Returns the columns CORRELATION_COLUMNS, one row per (scope, method, feature, target).
    Raises ParameterError for an unknown method, a missing target or feature column, or no rows.
    """
    bad = [m for m in methods if m not in ("spearman", "kendall")]
    if bad:
        raise ParameterError(f"unknown correlation method(s) {bad}: use 'spearman' and/or 'kendall'")
    if features is None:
        features = [f for f in CORRELATION_FEATURES if f in table.columns]
    features, targets = list(features), list(targets)
    missing = [c for c in features + targets if c not in table.columns]
    if missing:
        raise ParameterError(
            f"the table has no column(s) {missing}; pass a catalog (nnlife.catalog) or name existing columns"
        )
    if len(table) == 0:
        raise ParameterError("the table has no rows: nothing to correlate")
    groups = table[by].astype(str).to_numpy() if by in table.columns else np.full(len(table), POOLED)
    scopes = [(g, groups == g) for g in sorted(pd.unique(groups))] if by in table.columns else []
    if pooled or not scopes:
        scopes.append((POOLED, np.ones(len(table), dtype=bool)))
    n_groups = len(pd.unique(groups))
    rows = []
    for target in targets:
        yall = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=float)
        for feature in features:
            xall = pd.to_numeric(table[feature], errors="coerce").to_numpy(dtype=float)
            finite = np.isfinite(xall) & np.isfinite(yall)
            for scope, mask in scopes:
                sel = mask & finite
                x, y = xall[sel], yall[sel]
                for method in methods:
                    r, p, note = _rank_pair(x, y, method)
                    rows.append((scope, method, feature, target, int(sel.sum()), r, p, note))
            if partial and by in table.columns and n_groups >= 2:
                x, y, g = xall[finite], yall[finite], groups[finite]
                r, p, note = (
                    _partial_spearman(x, y, g) if len(x) >= 3 else (np.nan, np.nan, "fewer than 3 networks")
                )
                rows.append((POOLED, "partial_spearman", feature, target, int(finite.sum()), r, p, note))
    out = pd.DataFrame(rows, columns=["scope", "method", "feature", "target", "n", "r", "p", "note"])
    out["p_bh"] = np.nan
    for _method, idx in out.groupby("method").groups.items():
        out.loc[idx, "p_bh"] = bh_adjust(out.loc[idx, "p"].to_numpy())
    out["significant"] = out["p_bh"].to_numpy() <= alpha
    return out[list(CORRELATION_COLUMNS)]


def correlation_matrix(
    corr: pd.DataFrame, method: str = "spearman", target: str = "final_val_acc"
) -> pd.DataFrame:
    """Features x scopes matrix of r for one method and target (for a heatmap); rows keep the
    order of ``corr``; the pooled scope comes last."""
    sub = corr[(corr["method"] == method) & (corr["target"] == target)]
    if sub.empty:
        raise ParameterError(
            f"no {method} correlations with {target!r} in this table; methods: "
            f"{sorted(corr['method'].unique())}, targets: {sorted(corr['target'].unique())}"
        )
    m = sub.pivot(index="feature", columns="scope", values="r")
    order = list(dict.fromkeys(sub["feature"]))
    scopes = [s for s in m.columns if s != POOLED] + ([POOLED] if POOLED in m.columns else [])
    return m.loc[order, scopes]


def strongest_features(
    corr: pd.DataFrame, target: str = "final_val_acc", n: int = 3, method: str = "spearman"
) -> list:
    """The ``n`` features with the largest |r| (pooled, or partial when present) with ``target``."""
    sub = corr[(corr["target"] == target) & (corr["scope"] == POOLED)]
    pref = sub[sub["method"] == "partial_spearman"]
    sub = pref if not pref.empty and pref["r"].notna().any() else sub[sub["method"] == method]
    sub = sub[np.isfinite(sub["r"].astype(float))]
    return sub.reindex(sub["r"].abs().sort_values(ascending=False).index)["feature"].head(n).tolist()


__all__ = [
    "POOLED",
    "CORRELATION_COLUMNS",
    "METHODS",
    "bh_adjust",
    "correlations",
    "correlation_matrix",
    "strongest_features",
]
