"""Early termination, replayed: how much training a predictor saves, and what it costs.

PENGUIN was built for this (PEng4NN, Keller Rorabaugh et al.): stop training the networks whose
predicted fitness cannot compete. ``simulate_early_stopping`` replays a search over a set of
complete lifespans, each network trained in turn, with two rules:

- ``upper_below_kth`` (the predictor's rule, parameter k): at each cut-off c, a network stops
  when the upper end of its predicted final accuracy's 80 % interval is below the k-th best
  score so far; a network's score is its true final accuracy if it was trained to the end, its
  prediction if it was stopped. Larger k stops less. Networks come in a random order (the
  result is averaged over ``n_orders`` orders).
- ``successive_halving`` (the baseline, parameter eta; Jamieson & Talwalkar 2016, Li et al.
  2017): all networks start together; at each cut-off only the best 1/eta of those still
  training, ranked by the method's prediction, go on (ranked by the last value it is the classic
  successive halving). Larger eta stops more.

For each rule, parameter and method: ``savings``, the fraction of the training epochs of a full
search not spent; ``regret``, the true best final accuracy minus the best true final accuracy
among the networks trained to the end (points); ``recall``, the share of the true top ``top``
networks trained to the end; ``kept``, networks trained to the end. The learned predictor's
predictions are cross-fitted (``nnlife.analyse.crossfit``): no network is judged by a predictor
that was trained on it or on another seed of it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nnlife.errors import ParameterError

from .crossfit import METHODS, benchmark

KS = (1, 2, 3, 5, 10, 20, 40)  # k of the upper_below_kth rule
ETAS = (1.25, 1.5, 2.0, 3.0, 4.0)  # eta of successive halving
RESULT_COLUMNS = (
    "rule",
    "method",
    "param",
    "savings",
    "regret",
    "recall",
    "kept",
    "n_networks",
    "savings_sd",
    "regret_sd",
)


def _replay_kth(order, pred, upper, truth, cuts, target, k):
    """One search in ``order``: (epochs spent, kept mask) under the upper_below_kth rule."""
    scores: list = []
    kept = np.zeros(truth.size, dtype=bool)
    spent = 0.0
    for i in order:
        stop_at = None
        if len(scores) >= k:
            kth = np.partition(np.asarray(scores), -k)[-k]
            for j, _c in enumerate(cuts):
                if np.isfinite(upper[i, j]) and upper[i, j] < kth:
                    stop_at = j
                    break
        if stop_at is None:
            spent += target
            kept[i] = True
            scores.append(truth[i])
        else:
            spent += cuts[stop_at]
            scores.append(pred[i, stop_at])
    return spent, kept


def _halving(pred, cuts, target, eta):
    """(epochs spent, kept mask) of one synchronous successive halving over every network."""
    n = pred.shape[0]
    alive = np.ones(n, dtype=bool)
    spent = np.full(n, float(target))
    for j, c in enumerate(cuts):
        idx = np.flatnonzero(alive)
        n_keep = max(1, math.ceil(idx.size / eta))
        score = np.where(np.isfinite(pred[idx, j]), pred[idx, j], -np.inf)
        rank = np.argsort(-score, kind="stable")
        drop = idx[rank[n_keep:]]
        alive[drop] = False
        spent[drop] = c
    return float(spent.sum()), alive


def _outcome(kept, truth, spent, n, target, top):
    best = float(truth.max())
    top_ids = np.argsort(-truth, kind="stable")[:top]
    return {
        "savings": 1.0 - spent / (n * target),
        "regret": best - float(truth[kept].max()) if kept.any() else best,
        "recall": float(kept[top_ids].mean()),
        "kept": int(kept.sum()),
    }


def replay(
    predictions: pd.DataFrame, target_epoch: float, ks=KS, etas=ETAS, n_orders: int = 5, seed=0, top: int = 10
) -> pd.DataFrame:
    """Replay both rules on a table of predictions (``nnlife.analyse.crossfit.benchmark``'s:
    id, cutoff, method, predicted, upper, truth). Networks missing at some cut-off for a method
    are left out of that method's replay. Returns ``RESULT_COLUMNS`` (savings and regret are
    means over the orders; *_sd their standard deviations; successive halving has one order)."""
    if predictions.empty:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    cuts = np.array(sorted(c for c in pd.unique(predictions["cutoff"]) if c < target_epoch), dtype=float)
    ids_all = sorted(pd.unique(predictions["id"].astype(str)))
    orders = [rng.permutation(len(ids_all)) for _ in range(n_orders)]
    rows = []
    for m, grp in predictions.groupby("method", sort=False):
        # unstack, not pivot_table: a method without intervals at a cut-off (nan upper) keeps its rows
        P = grp.groupby(["id", "cutoff"])["predicted"].mean().unstack().reindex(columns=cuts)
        U = grp.groupby(["id", "cutoff"])["upper"].mean().unstack().reindex(index=P.index, columns=cuts)
        T = grp.groupby("id")["truth"].first()
        ok = P.notna().all(axis=1) & T.notna()
        ids = [i for i in ids_all if i in ok.index and ok[i]]
        if len(ids) < 2:
            continue
        pred, upper = P.loc[ids].to_numpy(dtype=float), U.loc[ids].to_numpy(dtype=float)
        truth = T.loc[ids].to_numpy(dtype=float)
        pos = {i: k for k, i in enumerate(ids)}
        n = len(ids)
        for k in ks:
            outs = []
            for o in orders:
                order = [pos[ids_all[q]] for q in o if ids_all[q] in pos]
                spent, kept = _replay_kth(order, pred, upper, truth, cuts, target_epoch, k)
                outs.append(_outcome(kept, truth, spent, n, target_epoch, top))
            o = pd.DataFrame(outs)
            rows.append(
                {
                    "rule": "upper_below_kth",
                    "method": m,
                    "param": float(k),
                    "savings": o["savings"].mean(),
                    "regret": o["regret"].mean(),
                    "recall": o["recall"].mean(),
                    "kept": o["kept"].mean(),
                    "n_networks": n,
                    "savings_sd": o["savings"].std(ddof=0),
                    "regret_sd": o["regret"].std(ddof=0),
                }
            )
        for eta in etas:
            spent, kept = _halving(pred, cuts, target_epoch, eta)
            r = _outcome(kept, truth, spent, n, target_epoch, top)
            rows.append(
                {
                    "rule": "successive_halving",
                    "method": m,
                    "param": float(eta),
                    **r,
                    "n_networks": n,
                    "savings_sd": 0.0,
                    "regret_sd": 0.0,
                }
            )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def simulate_early_stopping(
    curves: pd.DataFrame,
    predictor=("last_value", "penguin", "nnlife", "learned"),
    catalog=None,
    cutoffs=(2, 5, 10, 20),
    target_epoch=None,
    ks=KS,
    etas=ETAS,
    n_orders: int = 5,
    top: int = 10,
    folds: int = 5,
    seed: int = 0,
    predictions: pd.DataFrame | None = None,
    scheduler=None,
    penguin_ids=None,
) -> pd.DataFrame:
    """Replay a search over the lifespans of ``curves`` with early stopping (module docstring).

    curves: long form of complete curves (the truth is each network's val_acc at the target).
    predictor: a method of ``nnlife.analyse.crossfit.METHODS`` ("last_value", "penguin",
        "nnlife" = the family ensemble, "learned" = cross-fitted) or a list of them; or a
        ``Predictor`` trained elsewhere (it must not have seen these networks: its predictions
        are used as they are, under the method name "predictor").
    catalog: the catalog table (learned features, and the grouping of seeds by ``net_id``).
    cutoffs: epochs at which the rules may stop a network. predictions: a table from
        ``crossfit.benchmark`` to reuse instead of predicting again. ks, etas: rule parameters.
    n_orders: random orders of the sequential rule (seed draws them). top: the recall's top.
    penguin_ids: run PENGUIN on these networks only (PENGUIN's replay then covers them only).
    Returns ``RESULT_COLUMNS``: one row per rule, method and parameter.
    Raises ParameterError for unknown methods or no complete curve.
    """
    from .long import as_long

    df = as_long(curves)
    if len(df) == 0:
        raise ParameterError("curves is empty: pass complete curves in long form")
    tgt = float(df["epoch"].max()) if target_epoch is None else float(target_epoch)
    if predictions is None:
        if hasattr(predictor, "predict"):
            predictions = _with_predictor(df, predictor, catalog, cutoffs, tgt)
        else:
            methods = (predictor,) if isinstance(predictor, str) else tuple(predictor)
            unknown = set(methods) - set(METHODS)
            if unknown:
                raise ParameterError(
                    f"unknown predictor(s) {sorted(unknown)}: use {list(METHODS)} or a Predictor"
                )
            predictions = benchmark(
                df,
                catalog=catalog,
                cutoffs=cutoffs,
                methods=methods,
                target_epoch=tgt,
                folds=folds,
                seed=seed,
                scheduler=scheduler,
                penguin_ids=penguin_ids,
            )
    predictions = predictions[predictions["cutoff"].isin([float(c) for c in cutoffs])]
    return replay(predictions, tgt, ks=ks, etas=etas, n_orders=n_orders, seed=seed, top=top)


def _with_predictor(df, predictor, catalog, cutoffs, target):
    at = df[np.isclose(df["epoch"], target)].groupby(df["id"].astype(str))["val_acc"].last()
    at = at[np.isfinite(at)]
    parts = []
    for c in cutoffs:
        part = df[df["id"].astype(str).isin(at.index) & (df["epoch"] <= c)]
        p = predictor.predict(part, catalog=catalog)
        parts.append(p.assign(method="predictor", truth=at.reindex(p["id"]).to_numpy()))
    return pd.concat(parts, ignore_index=True)


def savings_at_regret(stopping: pd.DataFrame, max_regret: float = 0.0) -> pd.DataFrame:
    """Per rule and method, the setting that saves the most training with a regret of at most
    ``max_regret`` points: rule, method, param, savings, regret, recall, kept (nan where no
    setting qualifies), and worst_regret (the largest regret over all its settings)."""
    cols = ["rule", "method", "param", "savings", "regret", "recall", "kept", "worst_regret"]
    rows = []
    if stopping is None or stopping.empty:
        return pd.DataFrame(columns=cols)
    for (rule, m), grp in stopping.groupby(["rule", "method"], sort=False):
        ok = grp[grp["regret"] <= max_regret + 1e-9]
        best = ok.sort_values(["savings", "recall"]).iloc[-1] if len(ok) else None
        rows.append(
            {
                "rule": rule,
                "method": m,
                **{
                    k: (np.nan if best is None else best[k])
                    for k in ("param", "savings", "regret", "recall", "kept")
                },
                "worst_regret": float(grp["regret"].max()),
            }
        )
    return pd.DataFrame(rows, columns=cols)


__all__ = ["ETAS", "KS", "RESULT_COLUMNS", "replay", "savings_at_regret", "simulate_early_stopping"]
