"""Cross-fitted early predictions: the learned predictor and the baselines, with intervals.

``learned_predictions`` evaluates the learned predictor (``nnlife.train_predictor``) the only
honest way: K folds grouped by network (the catalog's ``net_id``: no network, and no seed of the
same network, on both sides); each fold's networks are predicted by a predictor trained on the
other folds' complete curves. The features of every curve at every cut-off are computed once
(they do not depend on the fold); only the trees are fitted per fold.

``conformal_intervals`` gives the baselines (last value, PENGUIN, the family ensemble) intervals
too, so that every method's coverage and width can be compared: for a network of fold k, the
half-width at a cut-off is the split-conformal quantile of the method's absolute errors on the
other folds' networks at that cut-off (Vovk et al.; Lei et al. 2018). Each method is then
judged by its point error and by how wide an honest 80 % interval around it must be.

``interval_summary`` adds interval coverage and mean width to ``summarize_predictions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnlife.errors import ParameterError

from .learned import (
    CALIBRATION_FOLDS,
    FEATURE_CUTOFFS,
    LEVEL,
    _conformal,
    _groups,
    fit_predictor,
    fold_of,
    training_set,
)

FOLDS = 5  # cross-validation folds, grouped by network


def learned_predictions(
    curves: pd.DataFrame,
    catalog=None,
    cutoffs=(2, 5, 10, 20),
    target_epoch=None,
    folds: int = FOLDS,
    seed: int = 0,
    grid=FEATURE_CUTOFFS,
    calibration_folds: int = CALIBRATION_FOLDS,
    scheduler=None,
) -> pd.DataFrame:
    """Cross-fitted predictions of the learned predictor at each cut-off.

    curves, catalog, target_epoch: as ``nnlife.train_predictor`` (the catalog adds the structure
    features and the grouping by ``net_id``; without it each id is its own group). cutoffs:
    epochs observed (added to the training grid). folds: grouped folds (at most the number of
    networks). grid, calibration_folds: the training cut-offs and calibration folds of each
    fold's predictor (``train_predictor``'s cutoffs and calibration_folds). scheduler: None
    (this process) or a Dask scheduler for the folds and the fits.
    Returns id, cutoff, method ("learned"), predicted, lower, upper, truth (percent), fold.
    Raises ParameterError as ``train_predictor`` (e.g. too few networks) or for folds < 2.
    """
    if folds < 2:
        raise ParameterError(f"folds must be >= 2, got {folds}")
    grid = tuple(sorted(set(float(c) for c in grid) | set(float(c) for c in cutoffs)))
    ts = training_set(curves, catalog=catalog, target_epoch=target_epoch, cutoffs=grid, scheduler=scheduler)
    k = min(folds, len(np.unique(ts.groups)))
    fold = fold_of(ts.groups, k, seed)
    want = np.isin(ts.cutoff, np.asarray(cutoffs, dtype=float))

    def one(j):
        p = fit_predictor(ts, seed=seed, rows=np.flatnonzero(fold != j), calibration_folds=calibration_folds)
        te = np.flatnonzero((fold == j) & want)
        out = p._predict_matrix(ts.ids[te], ts.cutoff[te], ts.X[te])
        return out.assign(truth=ts.y[te], fold=j)

    if scheduler is None:
        parts = [one(j) for j in range(k)]
    else:
        import dask

        parts = list(dask.compute(*[dask.delayed(one, pure=False)(j) for j in range(k)], scheduler=scheduler))
    out = pd.concat(parts, ignore_index=True).assign(method="learned")
    out = out.sort_values(["cutoff", "fold", "id"], kind="stable").reset_index(drop=True)
    return out[["id", "cutoff", "method", "predicted", "lower", "upper", "truth", "fold"]]


def assign_folds(ids, catalog=None, folds: int = FOLDS, seed: int = 0) -> pd.Series:
    """The fold of every id, grouped by the catalog's ``net_id`` (as ``learned_predictions``)."""
    ids = [str(i) for i in pd.unique(pd.Series(ids, dtype=str))]
    g = _groups(catalog, ids)
    k = max(1, min(folds, len(np.unique(g))))
    return pd.Series(fold_of(g, k, seed), index=ids)


def conformal_intervals(results: pd.DataFrame, folds: pd.Series, level: float = LEVEL) -> pd.DataFrame:
    """Cross-fold split-conformal intervals for predictions without their own.

    results: id, cutoff, method, predicted, truth. folds: id -> fold (``assign_folds``). For
    each method and cut-off, a network of fold k gets predicted +- the conformal quantile
    (``level``) of |predicted - truth| over the networks of the other folds. Returns results
    with lower, upper and fold (rows with lower/upper already given keep them); lower and upper
    are clipped to [0, 100].
    """
    out = results.copy()
    out["fold"] = out["id"].astype(str).map(folds).to_numpy()
    if "lower" not in out.columns:
        out["lower"] = np.nan
        out["upper"] = np.nan
    need = out["lower"].isna() & out["upper"].isna()
    err = (out["predicted"] - out["truth"]).abs().to_numpy(dtype=float)
    for (_m, _c), grp in out[need].groupby(["method", "cutoff"], sort=False):
        idx = grp.index.to_numpy()
        for j in pd.unique(grp["fold"]):
            mine = idx[grp["fold"].to_numpy() == j]
            other = idx[grp["fold"].to_numpy() != j]
            q = _conformal(err[other], level) if other.size else np.nan
            p = out.loc[mine, "predicted"].to_numpy(dtype=float)
            out.loc[mine, "lower"] = np.clip(p - q, 0.0, 100.0)
            out.loc[mine, "upper"] = np.clip(p + q, 0.0, 100.0)
    return out


def interval_summary(results: pd.DataFrame) -> pd.DataFrame:
    """``nnlife.summarize_predictions`` plus coverage (share of truths within [lower, upper]) and
    width (mean upper - lower, points) per method and cut-off."""
    import nnlife

    base = nnlife.summarize_predictions(results)
    if not {"lower", "upper"} <= set(results.columns) or base.empty:
        return base.assign(coverage=np.nan, width=np.nan)
    r = results.assign(
        _in=(results["truth"] >= results["lower"]) & (results["truth"] <= results["upper"]),
        _w=results["upper"] - results["lower"],
    )
    ok = np.isfinite(r["lower"].to_numpy(dtype=float)) & np.isfinite(r["upper"].to_numpy(dtype=float))
    r = r[ok]
    agg = r.groupby(["method", "cutoff"]).agg(coverage=("_in", "mean"), width=("_w", "mean")).reset_index()
    return base.merge(agg, on=["method", "cutoff"], how="left")


BASELINES = ("last_value", "penguin", "nnlife")  # nnlife.prediction_benchmark's methods
METHODS = BASELINES + ("learned",)


def benchmark(
    curves: pd.DataFrame,
    catalog=None,
    cutoffs=(2, 5, 10, 20),
    methods=METHODS,
    target_epoch=None,
    folds: int = FOLDS,
    seed: int = 0,
    scheduler=None,
    penguin_ids=None,
) -> pd.DataFrame:
    """Every method at every cut-off, cross-fitted, with 80 % intervals.

    The baselines come from ``nnlife.prediction_benchmark`` (they learn nothing; their intervals
    from ``conformal_intervals`` over the same grouped folds), the learned predictor from
    ``learned_predictions``. penguin_ids: when given, PENGUIN (about 1 s per network) runs on these
    networks only (a sample; the other methods on all). Returns id, cutoff, method, predicted,
    lower, upper, truth, fold; only networks that every method could predict at a cut-off
    (PENGUIN's sample aside) are kept, so the methods are compared on the same curves.
    """
    import nnlife

    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ParameterError(f"unknown methods {sorted(unknown)}: use {list(METHODS)}")
    from .long import as_long

    df = as_long(curves)
    parts = []
    base = [m for m in methods if m in BASELINES and m != "penguin"]
    if base:
        parts.append(
            nnlife.prediction_benchmark(
                df, cutoffs=cutoffs, target_epoch=target_epoch, methods=base, scheduler=scheduler
            )
        )
    if "penguin" in methods:
        sub = df if penguin_ids is None else df[df["id"].astype(str).isin(set(map(str, penguin_ids)))]
        parts.append(
            nnlife.prediction_benchmark(
                sub, cutoffs=cutoffs, target_epoch=target_epoch, methods=("penguin",), scheduler=scheduler
            )
        )
    if "learned" in methods:
        parts.append(
            learned_predictions(
                df,
                catalog=catalog,
                cutoffs=cutoffs,
                target_epoch=target_epoch,
                folds=folds,
                seed=seed,
                scheduler=scheduler,
            ).drop(columns="fold")
        )
    res = pd.concat(parts, ignore_index=True)
    res["id"] = res["id"].astype(str)
    # the same networks for every method at a cut-off (PENGUIN's sample is a subset of them)
    full = [m for m in pd.unique(res["method"]) if not (m == "penguin" and penguin_ids is not None)]
    common = None
    for m in full:
        s = set(zip(res.loc[res["method"] == m, "id"], res.loc[res["method"] == m, "cutoff"]))
        common = s if common is None else common & s
    key = list(zip(res["id"], res["cutoff"]))
    res = res[[k in common for k in key]].reset_index(drop=True)
    fold = assign_folds(res["id"], catalog, folds=folds, seed=seed)
    res = conformal_intervals(res, fold)
    cols = ["id", "cutoff", "method", "predicted", "lower", "upper", "truth", "fold"]
    return res[cols].sort_values(["cutoff", "method", "id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class PredictionStudy:
    """Everything the prediction report shows, from ``prediction_study``."""

    results: pd.DataFrame  # cross-fitted predictions with intervals (``benchmark``)
    summary: pd.DataFrame  # per method and cut-off: n, mae, rmse, spearman, coverage, width
    stopping: pd.DataFrame  # the early-stopping replay (``simulate_early_stopping``)
    notes: tuple  # what was left out and why, for the reader
    seconds: dict  # wall-clock seconds of each step


def prediction_study(
    catalog,
    cutoffs=(2, 5, 10, 20),
    methods=METHODS,
    folds: int = FOLDS,
    seed: int = 0,
    penguin_networks: int | None = None,
    scheduler=None,
    **stopping_options,
) -> PredictionStudy:
    """Benchmark every method and replay early stopping on a ``Catalog``; never fails for want
    of data: with fewer than ``MIN_NETWORKS`` complete curves the learned predictor is left out
    (and said so in ``notes``), with none everything is empty.

    penguin_networks: run PENGUIN (about 1 s per network, every cut-off in one run) on a seeded
    sample of this many networks (None: all). stopping_options: passed to ``simulate_early_stopping``.
    """
    import time

    from .early_stopping import simulate_early_stopping
    from .learned import MIN_NETWORKS

    curves, table = catalog.curves, catalog.table
    notes, secs = [], {}
    complete = table[table["status"] == "complete"] if "status" in table.columns else table
    methods = list(methods)
    # the learned predictor learns the val_acc at one target epoch: the last epoch of the curves
    last = curves.groupby("id")["epoch"].max() if len(curves) else pd.Series(dtype=float)
    target = float(last.max()) if len(last) else np.nan
    reach = complete["id"].astype(str).isin(set(last.index[last == target].astype(str)))
    if "learned" in methods and int(reach.sum()) < MIN_NETWORKS:
        methods.remove("learned")
        notes.append(
            f"too few networks to train a predictor: {int(reach.sum())} complete curve(s) reach "
            f"epoch {target:g}, {MIN_NETWORKS} needed; the learned predictor is left out"
        )
    elif "learned" in methods and not reach.all():
        notes.append(
            f"{int((~reach).sum())} complete curve(s) end before epoch {target:g}: the methods are "
            f"compared on the {int(reach.sum())} that reach it"
        )
    penguin_ids = None
    # PENGUIN's sample from the networks the methods are compared on (with the learned predictor:
    # those that reach its target epoch), so that every network drawn is predicted
    pool = complete[reach] if "learned" in methods else complete
    if "penguin" in methods and penguin_networks is not None and len(pool) > penguin_networks:
        rng = np.random.default_rng(seed)
        penguin_ids = list(rng.choice(pool["id"].astype(str).to_numpy(), penguin_networks, replace=False))
        notes.append(
            f"PENGUIN ran on a seeded random sample of {penguin_networks} of the "
            f"{len(pool)} networks (seed {seed}; about 1 s per network)"
        )
    empty = pd.DataFrame()
    if len(complete) == 0 or not methods:
        notes.append("no complete curve to predict")
        return PredictionStudy(empty, empty, empty, tuple(notes), secs)
    t0 = time.perf_counter()
    res = benchmark(
        curves,
        catalog=table,
        cutoffs=cutoffs,
        methods=methods,
        folds=folds,
        seed=seed,
        scheduler=scheduler,
        penguin_ids=penguin_ids,
    )
    secs["benchmark"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stop = simulate_early_stopping(
        curves, catalog=table, cutoffs=cutoffs, predictions=res, seed=seed, **stopping_options
    )
    secs["early_stopping"] = time.perf_counter() - t0
    return PredictionStudy(res, interval_summary(res), stop, tuple(notes), secs)


__all__ = [
    "BASELINES",
    "METHODS",
    "PredictionStudy",
    "benchmark",
    "prediction_study",
    "FOLDS",
    "assign_folds",
    "conformal_intervals",
    "interval_summary",
    "learned_predictions",
]
