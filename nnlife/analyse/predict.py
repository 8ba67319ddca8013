"""Early prediction of final fitness: PENGUIN replicated, nnlife's own predictor, and a harness.

``penguin_predict`` replicates PENGUIN (Rorabaugh et al., the published dataset's prediction
engine, ``analyzePrediction`` and ``CurveFit.fitAcc``) step by step, scipy ``curve_fit`` included,
so that its numbers are comparable with the published ones.

``ensemble_predict`` is nnlife's predictor (see its docstring): an AICc-weighted average of
Domhan et al.'s 11 families fitted to the partial curve with the batched fitter; a curve that no
family extrapolates plausibly gets the median of its last values.

``prediction_benchmark`` runs the last-value baseline, PENGUIN and nnlife's predictor on every
network and cut-off and returns a tidy table; ``summarize_predictions`` gives MAE and Spearman's
rank correlation per method and cut-off.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from scipy.stats import spearmanr

from ..columns import EPOCH, VAL_ACC, VAL_LOSS
from ..errors import ParameterError
from .families import DOMHAN, PENGUIN_LOWER, PENGUIN_P0, PENGUIN_UPPER
from .fitting import X_PER_EPOCH, fit_curves, predict_from_fits
from .long import ID, as_long

PENGUIN_RESET_A = 199.99  # a fit whose a reaches this (the bound 200 less 0.01) restarts the count


def _penguin_fn(x, a, b, c):
    # PENGUIN's expAccFn, verbatim: a - b**(c - x), x in half epochs
    return a - b ** (c - x)


@dataclass(frozen=True)
class PenguinStep:
    """One step of PENGUIN: a fit to the first ``n_points`` points."""

    n_points: int  # points used by this fit
    last_epoch: float  # epoch of the last point used
    a: float  # fitted a (inf when the fit failed)
    b: float  # fitted b
    c: float  # fitted c
    prediction: float  # fitted value at e_pred, percent (inf when the fit failed)
    action: str  # "skipped", "reset", "appended", "converged" or "stopped"


@dataclass(frozen=True)
class PenguinResult:
    """PENGUIN's answer for one curve."""

    converged: bool  # the last n predictions agreed within threshold
    prediction: float  # predicted val_acc at e_pred (percent); last observed if not converged
    a: float  # a, b, c of the last fit made
    b: float
    c: float
    last_epoch: float  # epoch of the last point used (nan for an empty curve)
    e_pred: float  # epoch predicted for
    steps: tuple = ()  # PenguinStep per fit, in order


def _penguin_fit(x, y):
    """PENGUIN's fitAcc: (a, b, c), or (inf, inf, inf) when curve_fit fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, _ = curve_fit(_penguin_fn, x, y, p0=list(PENGUIN_P0), bounds=[PENGUIN_LOWER, PENGUIN_UPPER])
        return float(p[0]), float(p[1]), float(p[2])
    except Exception:  # noqa: BLE001 - PENGUIN catches every failure of curve_fit the same way
        return np.inf, np.inf, np.inf


def penguin_predict(epochs, val_acc, e_pred, n: int = 3, threshold: float = 0.5) -> PenguinResult:
    """PENGUIN's prediction of val_acc at epoch ``e_pred`` from a (partial) curve, step by step.

    epochs: (m,) epochs of the points (0.5, 1.0, ...); val_acc: (m,) percent. n: predictions
    that must agree; threshold: points within which they must agree.

    The engine, as PENGUIN runs it: x = 2 * epoch (half-epoch steps). Step i fits
    a - b**(c - x) to the first i points (i = 2, 3, ...) with scipy ``curve_fit``, p0 = (10,
    1.001, 100) and bounds (0.5, 1, 0) to (200, inf, inf); its prediction is the fitted function
    at x = 2 * e_pred. A step is judged only while an unused point remains: the step whose fit
    would use every point stops the engine without being judged (no convergence; the prediction
    is then the last observed val_acc). A judged step is skipped when its fit fails or its
    prediction is not finite; a fit with a >= 199.99 empties the list of recent predictions;
    otherwise the prediction is appended and, once there are n, the engine has converged when
    every one of the last n lies within ``threshold`` of their median and the prediction is in
    (0, 100]; only the last n are kept.
    Returns a ``PenguinResult`` (steps holds every step). Never raises on bad values (a nan makes
    curve_fit fail, and the step is skipped); raises ParameterError for mismatched lengths or
    n < 1.
    """
    ep = np.asarray(epochs, dtype=float).ravel()
    y = np.asarray(val_acc, dtype=float).ravel()
    if ep.shape != y.shape:
        raise ParameterError(f"epochs and val_acc differ in length ({ep.size} vs {y.size})")
    if n < 1:
        raise ParameterError(f"n must be >= 1, got {n}")
    m = ep.size
    x = X_PER_EPOCH * ep
    xp = X_PER_EPOCH * float(e_pred)
    if m == 0:
        return PenguinResult(False, np.nan, np.inf, np.inf, np.inf, np.nan, float(e_pred))
    recent: list[float] = []
    steps = []
    i = 2
    while True:
        a, b, c = _penguin_fit(x[:i], y[:i])
        with np.errstate(all="ignore"):
            # numpy scalars, as curve_fit returns them: an overflow gives inf, not an exception
            pred = float(_penguin_fn(np.float64(xp), *np.float64((a, b, c)))) if np.isfinite(a) else np.inf
        used = min(i, m)
        if i + 1 > m:  # this fit used every point: stop, unjudged
            steps.append(PenguinStep(used, ep[used - 1], a, b, c, pred, "stopped"))
            return PenguinResult(
                False, float(y[-1]), a, b, c, float(ep[used - 1]), float(e_pred), tuple(steps)
            )
        if not (np.isfinite(a) and np.isfinite(pred)):
            action = "skipped"
        elif a >= PENGUIN_RESET_A:
            recent = []
            action = "reset"
        else:
            recent.append(pred)
            action = "appended"
            if len(recent) >= n:
                last = recent[-n:]
                med = float(np.median(last))
                within = all(med - threshold <= v <= med + threshold for v in last)
                recent = recent[-(n - 1) :] if n > 1 else []
                if within and 0.0 < pred <= 100.0:
                    steps.append(PenguinStep(i, ep[i - 1], a, b, c, pred, "converged"))
                    return PenguinResult(True, pred, a, b, c, float(ep[i - 1]), float(e_pred), tuple(steps))
        steps.append(PenguinStep(i, ep[i - 1], a, b, c, pred, action))
        i += 1


# --- nnlife's predictor ---------------------------------------------------------------------------

ENSEMBLE_FAMILIES = DOMHAN  # Domhan et al.'s 11
# The Domhan families with a finite asymptote: a more cautious ensemble for short cut-offs
# (vap3 and loglog_linear2 grow without bound and can overshoot when the curve has not bent yet).
SATURATING_FAMILIES = ("pow3", "logpower3", "hill3", "mmf4", "exp4", "janoschek4", "weibull4", "pow4")
ANCHOR_ROWS = 4  # rows (2 epochs) whose median anchors a curve that no family extrapolates


def ensemble_predict(
    curves: pd.DataFrame,
    target_epoch,
    families=ENSEMBLE_FAMILIES,
    metric: str = VAL_ACC,
    scheduler=None,
    fits: pd.DataFrame | None = None,
    valid_range=(0.0, 100.0),
) -> pd.DataFrame:
    """nnlife's early predictor: an AICc-weighted ensemble of curve families, per network.

    For every network of ``curves`` (long form, the partial curves observed so far): fit each
    family to its ``metric`` with the batched fitter; keep the fits that succeeded and whose value
    at ``target_epoch`` lies in ``valid_range`` ([0, 100]: an accuracy); weight them by Akaike weights,
    w = exp(-(AICc - min AICc) / 2), the model averaging of Burnham & Anderson (2002) over
    Domhan et al.'s families (their ensemble weights by MCMC likelihood instead); the prediction
    is the weighted mean. A network without such a fit gets the median of its last
    ``ANCHOR_ROWS`` values (robust to a single bad half epoch).
    target_epoch: epochs; a number, or {id: epoch}. fits: a table from ``fit_curves`` on the same
    partial curves, to reuse. families: ids to average (``SATURATING_FAMILIES`` is a more cautious
    choice when the cut-off is short). Returns columns id, predicted (units of ``metric``),
    n_models (fits averaged), anchor (the median of the last values). Raises ParameterError when
    ``curves`` lacks ``metric``.
    """
    df = as_long(curves)
    if metric not in df.columns:
        raise ParameterError(f"curves has no column {metric!r}")
    ids = pd.unique(df[ID].astype(str))
    df = df[np.isfinite(pd.to_numeric(df[metric], errors="coerce"))]
    if fits is None:
        fits = fit_curves(df, metric=metric, families=families, scheduler=scheduler)
    if isinstance(target_epoch, dict):
        tgt = fits["id"].map(lambda i: float(target_epoch[i])).to_numpy()
    else:
        tgt = float(target_epoch)
    pred = predict_from_fits(fits, tgt)
    lo, hi = valid_range
    ok = fits["success"].to_numpy(bool) & np.isfinite(pred) & (pred >= lo) & (pred <= hi)
    f = pd.DataFrame({"id": fits["id"].to_numpy(), "pred": pred, "aicc": fits["aicc"].to_numpy()})[ok]
    f = f[np.isfinite(f["aicc"])]
    f["w"] = np.exp(-0.5 * (f["aicc"] - f.groupby("id")["aicc"].transform("min")))
    num = (f["w"] * f["pred"]).groupby(f["id"]).sum()
    den = f["w"].groupby(f["id"]).sum()
    ens = (num / den).reindex(ids)
    n_models = f.groupby("id").size().reindex(ids).fillna(0).astype(int)
    srt = df.sort_values([ID, EPOCH], kind="stable")
    anchor = (
        srt.groupby(srt[ID].astype(str))[metric]
        .apply(lambda s: float(np.median(s.to_numpy()[-ANCHOR_ROWS:])))
        .reindex(ids)
    )
    out = pd.DataFrame(
        {
            "id": ids,
            "predicted": ens.fillna(anchor).to_numpy(),
            "n_models": n_models.to_numpy(),
            "anchor": anchor.to_numpy(),
        }
    )
    return out


# --- the harness ----------------------------------------------------------------------------------

METHODS = ("last_value", "penguin", "nnlife")
LEARNED = "learned"  # the learned predictor, cross-fitted (nnlife.analyse.crossfit); not a default


def penguin_predict_prefixes(
    epochs, val_acc, e_pred, n_points, n: int = 3, threshold: float = 0.5
) -> np.ndarray:
    """PENGUIN's predictions from several prefixes of one curve, in one run of the engine.

    The same numbers as ``penguin_predict(epochs[:m], val_acc[:m], e_pred, n, threshold).prediction``
    for each m of ``n_points`` (points of each prefix, each at least 1 and at most the curve's),
    for the cost of the longest prefix alone: step i of the engine fits the first i points
    whatever follows, so the run on the longest prefix makes every step the shorter ones make.
    A prefix of m points converges where that run converges at a step judged before m (i < m:
    a step is judged only while an unused point remains); otherwise it stops at step m with its
    last observed value. Returns an (len(n_points),) array, percent.
    """
    m = np.asarray(n_points, dtype=int).ravel()
    y = np.asarray(val_acc, dtype=float).ravel()
    if m.size == 0:
        return np.empty(0)
    if m.min() < 1 or m.max() > y.size:
        raise ParameterError(f"n_points must lie in 1..{y.size} (the curve's points), got {m.tolist()}")
    longest = int(m.max())
    r = penguin_predict(np.asarray(epochs, dtype=float).ravel()[:longest], y[:longest], e_pred, n, threshold)
    at = r.steps[-1].n_points if r.converged else longest  # the step that converged
    return np.array([r.prediction if r.converged and at < k else y[k - 1] for k in m], dtype=float)


def _penguin_many(items, n, threshold):
    return [penguin_predict_prefixes(e, y, t, ks, n=n, threshold=threshold) for e, y, t, ks in items]


def prediction_benchmark(
    curves: pd.DataFrame,
    cutoffs=(5, 10, 20),
    target_epoch=None,
    methods=METHODS,
    scheduler=None,
    penguin_n: int = 3,
    penguin_threshold: float = 0.5,
    chunk_size: int = 50,
    skip_nonfinite: bool = True,
    catalog=None,
    folds: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Predict every network's val_acc at ``target_epoch`` from its first ``cutoff`` epochs.

    curves: long form (id, epoch, val_acc). cutoffs: epochs observed. target_epoch: epoch to
    predict (None: each network's final epoch, so the truth is its final val_acc). A network is
    left out of a cut-off when the cut-off is not before its target or leaves fewer than two
    finite points, or its truth is not finite; with ``skip_nonfinite`` (the default) so is every
    network with a nan or inf anywhere in its val_acc or val_loss, as PENGUIN skips such tables
    (training that diverged: its "final" accuracy is a collapse no curve fit foresees).
    methods: any of "last_value" (the last observed val_acc), "penguin" (``penguin_predict`` with
    e_pred = target, n = penguin_n, threshold = penguin_threshold) and "nnlife"
    (``ensemble_predict``), and "learned" (``nnlife.train_predictor``, cross-fitted by
    ``nnlife.analyse.crossfit.learned_predictions``: ``folds`` folds grouped by the ``catalog``'s
    net_id, so no network and no seed of it is on both sides; the catalog also adds the structure
    features; it needs ``MIN_NETWORKS`` complete curves). scheduler: None (this process) or a
    Dask scheduler/client for the PENGUIN runs (the slow part: one scipy fit per point) and the
    fits. seed: of the learned predictor's folds and trees.
    Returns a tidy table: id, cutoff, method, predicted, truth (percent); with "learned" also
    lower and upper, its 80 % interval (nan for the other methods: ``crossfit.benchmark`` gives
    them split-conformal ones).
    """
    unknown = set(methods) - set(METHODS) - {LEARNED}
    if unknown:
        raise ParameterError(f"unknown methods {sorted(unknown)}: use {list(METHODS) + [LEARNED]}")
    full = as_long(curves)
    df = full[[ID, EPOCH, VAL_ACC]].copy()
    df[ID] = df[ID].astype(str)
    if skip_nonfinite:
        cols = [c for c in (VAL_ACC, VAL_LOSS) if c in full.columns]
        bad = ~np.isfinite(full[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)).all(axis=1)
        df = df[~df[ID].isin(set(df.loc[bad, ID]))]
    df = df.sort_values([ID, EPOCH], kind="stable")
    g = df.groupby(ID, sort=False)
    if target_epoch is None:
        tgt = g[EPOCH].max()
    else:
        tgt = pd.Series(float(target_epoch), index=g.size().index)
    at = df.assign(target=df[ID].map(tgt).to_numpy(dtype=float))
    truth = at[at[EPOCH] == at["target"]].groupby(ID)[VAL_ACC].last()
    truth = truth[np.isfinite(truth)]
    rows, kept = [], set()
    if "penguin" in methods:  # every cut-off of a network in one run of the engine
        peng = _penguin_cutoffs(at, truth, tgt, cutoffs, penguin_n, penguin_threshold, chunk_size, scheduler)
    for cut in cutoffs:
        part = at[(at[EPOCH] <= cut) & np.isfinite(at[VAL_ACC])]
        n_pts = part.groupby(ID).size()
        keep = [i for i in truth.index if n_pts.get(i, 0) >= 2 and tgt[i] > cut]
        kept |= {(i, float(cut)) for i in keep}
        part = part[part[ID].isin(keep)]
        if not keep:
            continue
        pg = part.groupby(ID, sort=False)
        base = pd.DataFrame({"id": keep, "cutoff": float(cut), "truth": truth[keep].to_numpy()})
        if "last_value" in methods:
            rows.append(base.assign(method="last_value", predicted=pg[VAL_ACC].last()[keep].to_numpy()))
        if "penguin" in methods:
            rows.append(base.assign(method="penguin", predicted=[peng[(i, float(cut))] for i in keep]))
        if "nnlife" in methods:
            e = ensemble_predict(
                part[[ID, EPOCH, VAL_ACC]], {i: float(tgt[i]) for i in keep}, scheduler=scheduler
            ).set_index("id")
            rows.append(base.assign(method="nnlife", predicted=e["predicted"][keep].to_numpy()))
    cols = ["id", "cutoff", "method", "predicted", "truth"]
    if LEARNED in methods:
        from .crossfit import learned_predictions  # it builds on this module

        lp = learned_predictions(
            full,
            catalog=catalog,
            cutoffs=cutoffs,
            target_epoch=target_epoch,
            folds=folds,
            seed=seed,
            scheduler=scheduler,
        )
        lp = lp[[(i, c) in kept for i, c in zip(lp["id"].astype(str), lp["cutoff"])]]
        rows.append(lp.drop(columns="fold"))
        cols += ["lower", "upper"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


def _penguin_cutoffs(at, truth, tgt, cutoffs, n, threshold, chunk_size, scheduler) -> dict:
    """{(id, cutoff): PENGUIN's prediction} for every network of ``truth`` and every cut-off that
    ``prediction_benchmark`` keeps (before the target, at least two finite points), one engine
    run per network (``penguin_predict_prefixes``); ``at`` is sorted by id and epoch."""
    fin = at[np.isfinite(at[VAL_ACC])]
    items, keys = [], []
    for i, grp in fin[fin[ID].isin(set(truth.index))].groupby(ID, sort=False):
        e, y = grp[EPOCH].to_numpy(dtype=float), grp[VAL_ACC].to_numpy(dtype=float)
        cuts = [float(c) for c in cutoffs if tgt[i] > c and int((e <= c).sum()) >= 2]
        if cuts:
            items.append((e, y, float(tgt[i]), [int((e <= c).sum()) for c in cuts]))
            keys.append([(i, c) for c in cuts])
    chunks = [items[k : k + chunk_size] for k in range(0, len(items), chunk_size)]
    if scheduler is None:
        preds = [p for c in chunks for p in _penguin_many(c, n, threshold)]
    else:
        import dask

        tasks = [dask.delayed(_penguin_many, pure=False)(c, n, threshold) for c in chunks]
        preds = [p for r in dask.compute(*tasks, scheduler=scheduler) for p in r]
    return {k: float(v) for ks, ps in zip(keys, preds) for k, v in zip(ks, ps)}


def summarize_predictions(results: pd.DataFrame) -> pd.DataFrame:
    """MAE, RMSE, median absolute error, bias and Spearman's rho per method and cut-off.

    results: a table from ``prediction_benchmark``. Returns one row per (method, cutoff) with n,
    mae, rmse, median_ae (points), bias (mean predicted - truth, points) and spearman (rank
    correlation of predicted and truth across networks; nan below 3 networks).
    """
    out = []
    for (m, c), grp in results.groupby(["method", "cutoff"], sort=False):
        err = grp["predicted"].to_numpy(float) - grp["truth"].to_numpy(float)
        ok = np.isfinite(err)
        rho = np.nan
        if ok.sum() >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho = float(
                    spearmanr(
                        grp["predicted"].to_numpy(float)[ok], grp["truth"].to_numpy(float)[ok]
                    ).statistic
                )
        out.append(
            {
                "method": m,
                "cutoff": c,
                "n": int(ok.sum()),
                "mae": float(np.mean(np.abs(err[ok]))) if ok.any() else np.nan,
                "rmse": float(np.sqrt(np.mean(err[ok] ** 2))) if ok.any() else np.nan,
                "median_ae": float(np.median(np.abs(err[ok]))) if ok.any() else np.nan,
                "bias": float(np.mean(err[ok])) if ok.any() else np.nan,
                "spearman": rho,
            }
        )
    cols = ["method", "cutoff", "n", "mae", "rmse", "median_ae", "bias", "spearman"]
    if not out:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(out, columns=cols).sort_values(["cutoff", "method"]).reset_index(drop=True)
