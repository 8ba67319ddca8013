"""Structure against fitness: structure features of a network, and their rank correlations.

Two halves, both plain Python / numpy / scipy (the analysis side never imports torch):

- ``structure_features(net, train)``: one flat dict per lifespan (conv and FC layer counts,
  parameters, FLOPs per image, receptive field, final feature-map size, pooling and dropout
  counts, training hyperparameters, dataset). The catalog stores it, one row per lifespan.
- ``correlations(table, ...)``: Spearman and Kendall rank correlations of each feature with each
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

from ..datasets import N_CLASSES
from ..errors import ParameterError
from ..spec import NetSpec, TrainSpec, net_id

# --- features -------------------------------------------------------------------------------------
# name -> axis label with unit. The order is the column order of the catalog's structure part;
# every numeric entry is a candidate for the correlations (see CORRELATION_FEATURES).
FEATURE_LABELS = {
    "dataset": "dataset",
    "n_classes": "classes",
    "chance_acc": "chance accuracy (%)",
    "n_conv": "conv layers",
    "n_fc": "FC layers (incl. output)",
    "n_hidden_fc": "hidden FC layers",
    "n_params": "parameters",
    "log10_params": "log10 parameters",
    "flops_per_image": "FLOPs per image",
    "log10_flops": "log10 FLOPs per image",
    "receptive_field": "receptive field (input pixels)",
    "rf_fraction": "receptive field / input side",
    "final_size": "final feature map side (pixels)",
    "final_channels": "final feature map channels",
    "flat_features": "inputs of the first FC layer",
    "total_stride": "total downsampling (product of strides)",
    "total_filters": "conv filters, all layers",
    "max_filters": "conv filters, widest layer",
    "mean_kernel": "mean conv kernel side (pixels)",
    "max_kernel": "largest conv kernel side (pixels)",
    "hidden_fc_units": "hidden FC units, all layers",
    "n_pool": "pooling layers",
    "n_conv_dropout": "conv layers with dropout",
    "n_fc_dropout": "hidden FC layers with dropout",
    "conv_dropout_rate": "conv dropout rate",
    "fc_dropout_rate": "FC dropout rate",
    "batch_size": "batch size (images)",
    "learning_rate": "learning rate (SGD step)",
    "log10_learning_rate": "log10 learning rate",
    "momentum": "SGD momentum",
    "dampening": "SGD dampening",
    "weight_decay": "weight decay (L2)",
    "epochs": "epochs planned",
    "eval_interval": "epochs between records",
    "seed": "training seed",
    "train_size": "training images used",
    "val_size": "validation images used",
    "lr_schedule": "learning-rate schedule",
    "device": "device",
    "net_id": "network id",
    "architecture": "architecture (canonical string)",
}
STRUCTURE_COLUMNS = tuple(FEATURE_LABELS)

# Features that describe the network or its training and may go with fitness. Left out on
# purpose: log10 copies (ranks equal the originals'), seeds, ids, the run's length and cadence
# (the same for a whole batch), chance level and class count (they are the dataset).
CORRELATION_FEATURES = (
    "n_conv",
    "n_hidden_fc",
    "n_params",
    "flops_per_image",
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
    "learning_rate",
    "momentum",
    "dampening",
    "weight_decay",
)
# Fitness columns (from nnlife.lifecycle, stored in the catalog) with their labels.
TARGET_LABELS = {
    "final_val_acc": "final validation accuracy (%)",
    "best_val_acc": "best validation accuracy (%)",
    "auc_mean": "mean validation accuracy over the run (%)",
    "final_val_loss": "final validation loss",
    "min_val_loss": "lowest validation loss",
}
DEFAULT_TARGETS = ("final_val_acc", "best_val_acc")


def label(column: str) -> str:
    """Axis label, with unit, of a catalog column (the column name itself when unknown)."""
    return FEATURE_LABELS.get(column) or TARGET_LABELS.get(column) or column.replace("_", " ")


def structure_features(net: NetSpec, train: TrainSpec) -> dict:
    """Structure and training features of one lifespan, as a flat dict (keys: STRUCTURE_COLUMNS).

    Counts are plain ints, sizes in pixels, rates as probabilities, ``chance_acc`` in percent
    (100 / classes). ``n_params`` and ``flops_per_image`` are NetSpec's analytic counts (equal
    to torch's ``numel`` sum and FlopCounterMode). ``final_size`` is the side of the last
    feature map (inputs and windows are square); ``total_stride`` the product of every conv and
    pooling stride; ``rf_fraction`` the receptive field over the input side (above 1 when it
    reaches past the image, e.g. through padding).
    """
    shapes = net.feature_shapes()
    c_last, h_last, _ = shapes[-1]
    flat = c_last * h_last * shapes[-1][2]
    n_params = net.n_params
    flops = net.flops_per_image
    rf = net.receptive_field()
    stride = 1
    for layer in net.conv:
        stride *= layer.stride * (layer.pool.stride if layer.pool is not None else 1)
    filters = [layer.filters for layer in net.conv]
    kernels = [layer.kernel for layer in net.conv]
    n_classes = net.fc[-1]
    canonical = net.canonical()  # once: NetSpec.id would build it again (the catalog calls this 6000 times)
    return {
        "dataset": train.dataset,
        "n_classes": n_classes,
        "chance_acc": 100.0 / N_CLASSES.get(train.dataset, n_classes),
        "n_conv": len(net.conv),
        "n_fc": len(net.fc),
        "n_hidden_fc": len(net.fc) - 1,
        "n_params": n_params,
        "log10_params": math.log10(n_params),
        "flops_per_image": flops,
        "log10_flops": math.log10(flops) if flops > 0 else float("nan"),
        "receptive_field": rf,
        "rf_fraction": rf / net.input_shape[1],
        "final_size": h_last,
        "final_channels": c_last,
        "flat_features": flat,
        "total_stride": stride,
        "total_filters": sum(filters),
        "max_filters": max(filters),
        "mean_kernel": sum(kernels) / len(kernels),
        "max_kernel": max(kernels),
        "hidden_fc_units": sum(net.fc[:-1]),
        "n_pool": sum(1 for layer in net.conv if layer.pool is not None),
        "n_conv_dropout": sum(1 for layer in net.conv if layer.dropout),
        "n_fc_dropout": sum(1 for f in net.fc_dropout if f),
        "conv_dropout_rate": float(net.conv_dropout_rate),
        "fc_dropout_rate": float(net.fc_dropout_rate),
        "batch_size": train.batch_size,
        "learning_rate": float(train.learning_rate),
        "log10_learning_rate": math.log10(train.learning_rate),
        "momentum": float(train.momentum),
        "dampening": float(train.dampening),
        "weight_decay": float(train.weight_decay),
        "epochs": float(train.epochs),
        "eval_interval": float(train.eval_interval),
        "seed": train.seed,
        # None (the whole split) becomes nan, so the column stays numeric
        "train_size": float("nan") if train.train_size is None else train.train_size,
        "val_size": float("nan") if train.val_size is None else train.val_size,
        "lr_schedule": train.lr_schedule,
        "device": train.device,
        "net_id": net_id(canonical),  # = NetSpec.id, from the canonical string computed once
        "architecture": canonical,
    }


# --- correlations ---------------------------------------------------------------------------------
POOLED = "pooled"  # the scope of correlations over all datasets together
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


def extremes(
    table: pd.DataFrame,
    target: str = "final_val_acc",
    n: int = 5,
    by: str = "dataset",
    columns=("id", "n_params", "receptive_field", "learning_rate", "batch_size", "architecture"),
) -> pd.DataFrame:
    """The ``n`` best and ``n`` worst networks by ``target`` within each value of ``by``.

    Returns one row per network: ``by``, ``rank`` ("best 1", ..., "worst 1", ...), ``target``
    and ``columns`` (those present), best first. Rows with a non-finite target are skipped.
    """
    if target not in table.columns:
        raise ParameterError(f"the table has no column {target!r}")
    keep = [c for c in columns if c in table.columns and c not in (by, target)]
    frames = []
    groups = table.groupby(by, sort=True) if by in table.columns else [(POOLED, table)]
    for key, grp in groups:
        grp = grp[np.isfinite(pd.to_numeric(grp[target], errors="coerce"))]
        best = grp.nlargest(n, target).assign(rank=[f"best {i + 1}" for i in range(min(n, len(grp)))])
        rest = grp.drop(best.index)
        worst = rest.nsmallest(n, target)
        worst = worst.assign(rank=[f"worst {i + 1}" for i in range(len(worst))])
        frames.append(pd.concat([best, worst.iloc[::-1]]).assign(**{by: key}))
    if not frames:
        return pd.DataFrame(columns=[by, "rank", target] + keep)
    return pd.concat(frames, ignore_index=True)[[by, "rank", target] + keep]


def spread_ids(table: pd.DataFrame, n: int = 6, column: str = "final_val_acc") -> list:
    """``n`` ids spread over the range of ``column``: the networks at evenly spaced quantiles
    (best, worst and between), for example figures that show the whole range."""
    vals = pd.to_numeric(table[column], errors="coerce") if column in table.columns else None
    if vals is None or not np.isfinite(vals).any():
        return table["id"].head(n).tolist()
    ranked = table.assign(_v=vals).dropna(subset=["_v"]).sort_values("_v", ascending=False)
    pos = np.unique(np.round(np.linspace(0, len(ranked) - 1, min(n, len(ranked)))).astype(int))
    return ranked["id"].iloc[pos].tolist()


def strongest_features(
    corr: pd.DataFrame, target: str = "final_val_acc", n: int = 3, method: str = "spearman"
) -> list:
    """The ``n`` features with the largest |r| (pooled, or partial when present) with ``target``."""
    sub = corr[(corr["target"] == target) & (corr["scope"] == POOLED)]
    pref = sub[sub["method"] == "partial_spearman"]
    sub = pref if not pref.empty and pref["r"].notna().any() else sub[sub["method"] == method]
    sub = sub[np.isfinite(sub["r"].astype(float))]
    return sub.reindex(sub["r"].abs().sort_values(ascending=False).index)["feature"].head(n).tolist()


def describe_network(table: pd.DataFrame, network_id: str) -> pd.DataFrame:
    """One network's catalog row as a two-column table (what, value), labelled with units."""
    row = table[table["id"] == network_id]
    if row.empty:
        raise ParameterError(f"no network with id {network_id!r} in the catalog")
    r = row.iloc[0]
    return pd.DataFrame(
        {"what": [label(c) for c in row.columns], "value": [r[c] for c in row.columns]},
        index=list(row.columns),
    )


def seed_spread(table: pd.DataFrame, target: str = "final_val_acc") -> pd.DataFrame:
    """Per network trained with several seeds (the catalog's ``net_id``): seeds, mean, standard
    deviation and range (max - min) of ``target`` (points). Empty when no network has two."""
    cols = ["net_id", "seeds", "mean", "sd", "range"]
    if table is None or "net_id" not in table.columns or target not in table.columns:
        return pd.DataFrame(columns=cols)
    t = table[pd.to_numeric(table[target], errors="coerce").notna()]
    g = t.groupby("net_id")[target]
    out = pd.DataFrame(
        {"seeds": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "range": g.max() - g.min()}
    ).reset_index()
    return out[out["seeds"] >= 2][cols].sort_values("mean").reset_index(drop=True)


__all__ = [
    "FEATURE_LABELS",
    "STRUCTURE_COLUMNS",
    "CORRELATION_FEATURES",
    "TARGET_LABELS",
    "DEFAULT_TARGETS",
    "POOLED",
    "CORRELATION_COLUMNS",
    "label",
    "structure_features",
    "bh_adjust",
    "correlations",
    "correlation_matrix",
    "extremes",
    "spread_ids",
    "strongest_features",
    "describe_network",
    "seed_spread",
]
