"""Structure of a network as features, and the catalog-table helpers that go with them.

``structure_features(net, train)``: one flat dict per lifespan (conv and FC layer counts,
parameters, FLOPs per image, receptive field, final feature-map size, pooling and dropout counts,
training hyperparameters, dataset); the catalog stores it, one row per lifespan. Their labels
with units (``label``), the best and worst networks (``extremes``), networks spread over the
fitness range (``spread_ids``), one network's row (``describe_network``) and the spread over
seeds (``seed_spread``). Their rank correlations with fitness: ``nnlife.analyse.correlations``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
POOLED = "pooled"  # the scope (the value of `by`) of statistics over all datasets together


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


# --- never learning against learning ------------------------------------------------------------
NEVER_LEARNING = "no_learning"  # the shape class of a network that stays at chance to the end
CONTRAST_COLUMNS = (
    "feature",
    "n_never",
    "n_learn",
    "median_never",
    "median_learn",
    "auc",
    "rank_biserial",
    "p",
    "p_bh",
    "significant",
    "note",
)


def never_learns(table: pd.DataFrame, shape_column: str = "shape") -> pd.Series:
    """Boolean Series: the networks of ``table`` whose shape class is ``no_learning`` (their best
    smoothed validation accuracy stays within a few points of chance to the end; nnlife.shapes).
    Raises ParameterError without the shape column."""
    if shape_column not in table.columns:
        raise ParameterError(
            f"the table has no column {shape_column!r}: pass a catalog "
            "(nnlife.catalog), whose 'shape' column holds the shape classes"
        )
    return table[shape_column].astype(str).eq(NEVER_LEARNING)


# neither group: training broke (diverged), or the network learned and then fell to chance
NEITHER = ("diverged", "collapsed")


def _learning_split(table, shape_column):
    never = never_learns(table, shape_column).to_numpy()
    keep = ~table[shape_column].astype(str).isin(NEITHER).to_numpy()
    return never, keep


def learning_contrast(
    table: pd.DataFrame, features=None, shape_column: str = "shape", alpha: float = 0.05
) -> pd.DataFrame:
    """Which structure features and hyperparameters separate networks that never learn from those
    that learn: one row per feature, strongest separation first.

    table: the catalog (``shape`` column and feature columns); diverged and collapsed
        networks (``NEITHER``) are left out.
    features: numeric columns; default the ``CORRELATION_FEATURES`` present.
    Per feature: networks in each group (``n_never``, ``n_learn``, finite values only), each
    group's median, ``auc`` = P(a never-learning network's value > a learning one's) + half the
    ties (the Mann-Whitney U statistic over n_never * n_learn; 0.5 = no separation, 1 or 0 =
    complete), ``rank_biserial`` = 2 auc - 1, the two-sided Mann-Whitney p-value, its
    Benjamini-Hochberg adjustment over the features (``p_bh``) and ``significant`` (p_bh <= alpha).
    A feature constant over both groups, or a group with no networks, has nan statistics and a
    ``note``. Raises ParameterError without the shape column or for missing feature columns.
    """
    never, keep = _learning_split(table, shape_column)
    if features is None:
        features = [f for f in CORRELATION_FEATURES if f in table.columns]
    features = list(features)
    missing = [c for c in features if c not in table.columns]
    if missing:
        raise ParameterError(
            f"the table has no column(s) {missing}; pass a catalog (nnlife.catalog) or name existing columns"
        )
    from scipy import stats

    from .correlations import bh_adjust  # (correlations imports this module)

    rows = []
    for f in features:
        x = pd.to_numeric(table[f], errors="coerce").to_numpy(dtype=float)
        ok = keep & np.isfinite(x)
        a, b = x[ok & never], x[ok & ~never]
        row = dict(
            feature=f,
            n_never=len(a),
            n_learn=len(b),
            median_never=float(np.median(a)) if len(a) else np.nan,
            median_learn=float(np.median(b)) if len(b) else np.nan,
            auc=np.nan,
            rank_biserial=np.nan,
            p=np.nan,
            note="",
        )
        if len(a) == 0 or len(b) == 0:
            row["note"] = "no never-learning network" if len(a) == 0 else "no learning network"
        elif np.all(np.concatenate([a, b]) == a[0]):
            row["note"] = "constant"
        else:
            res = stats.mannwhitneyu(a, b, alternative="two-sided")
            auc = float(res.statistic) / (len(a) * len(b))
            row.update(auc=auc, rank_biserial=2 * auc - 1, p=float(res.pvalue))
        rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in CONTRAST_COLUMNS if c not in ("p_bh", "significant")])
    out["p_bh"] = bh_adjust(out["p"].to_numpy())
    out["significant"] = out["p_bh"].to_numpy() <= alpha
    order = np.argsort(-np.abs(out["rank_biserial"].fillna(0).to_numpy()), kind="stable")
    return out.iloc[order].reset_index(drop=True)[list(CONTRAST_COLUMNS)]


@dataclass(frozen=True)
class LearningRules:
    """A shallow decision tree that tells never-learning networks from learning ones."""

    features: tuple  # the features the tree was offered (strongest separation first)
    rules: pd.DataFrame  # one row per leaf: rule (text), networks, never_learning, share (0-1)
    balanced_accuracy: float  # of the tree on the networks it was fitted to (0-1)
    cv_balanced_accuracy: float  # stratified k-fold cross-validated (0-1); nan with too few networks
    n_never: int  # never-learning networks fitted
    n_learn: int  # learning networks fitted

    def describe(self, contrast: pd.DataFrame | None = None, alpha: float = 0.05) -> str:
        """The finding in words (Markdown), computed from the numbers: how many never learn,
        the features that separate them most (from ``contrast``, ``learning_contrast``'s table),
        and the tree's rules with their accuracy."""
        n = self.n_never + self.n_learn
        lines = [
            f"{self.n_never} of {n} networks ({self.n_never / n:.0%}) never learn "
            "(diverged and collapsed networks left out)."
        ]
        if contrast is not None and len(contrast):
            sig = contrast[contrast["significant"]]
            if len(sig):
                parts = [
                    f"`{r.feature}` (median {r.median_never:.4g} vs {r.median_learn:.4g}, "
                    f"rank-biserial {r.rank_biserial:+.2f}, BH p {r.p_bh:.2g})"
                    for r in sig.head(3).itertuples()
                ]
                lines.append("They differ most, against the learning networks, in " + "; ".join(parts) + ".")
            else:
                lines.append(f"No feature separates them at a false discovery rate of {alpha:.0%}.")
        depth = int(self.rules["depth"].max()) if len(self.rules) else 0
        if depth == 0:
            lines.append("A decision tree finds no split: too few networks in one of the groups.")
            return "\n".join(lines)
        cv = (
            ""
            if np.isnan(self.cv_balanced_accuracy)
            else f" ({self.cv_balanced_accuracy:.0%} cross-validated)"
        )
        lines.append(
            f"A depth-{depth} tree on {', '.join(f'`{f}`' for f in self.features)} tells them apart with "
            f"balanced accuracy {self.balanced_accuracy:.0%} on these networks{cv}:"
        )
        for r in self.rules.sort_values("share", ascending=False).itertuples():
            lines.append(f"- {r.rule}: {r.never_learning} of {r.networks} never learn ({r.share:.0%})")
        return "\n".join(lines)


def learning_rules(
    table: pd.DataFrame,
    features=None,
    n_features: int = 4,
    max_depth: int = 2,
    shape_column: str = "shape",
    seed: int = 0,
) -> LearningRules:
    """A depth-``max_depth`` decision tree (scikit-learn, balanced class weights) that tells the
    networks that never learn from the others, on the ``n_features`` features that separate them
    most (``learning_contrast``; or ``features`` as given). ``NEITHER`` networks are left out, and
    networks with a missing value in one of the features. The cross-validated balanced accuracy
    uses stratified k-fold (k = min(5, smaller group); nan when a group has fewer than 2).
    Raises ParameterError when either group is empty.
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    if features is None:
        contrast = learning_contrast(table, shape_column=shape_column).dropna(subset=["auc"])
        features = list(contrast["feature"].head(n_features))
    features = list(features)
    never, keep = _learning_split(table, shape_column)
    X = table[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    ok = keep & np.isfinite(X).all(axis=1)
    X, y = X[ok], never[ok]
    n_never, n_learn = int(y.sum()), int((~y).sum())
    if n_never == 0 or n_learn == 0 or not features:
        raise ParameterError(
            f"{n_never} never-learning and {n_learn} learning networks with "
            f"finite {features}: a tree needs both groups; pass a larger catalog"
        )
    tree = DecisionTreeClassifier(
        max_depth=max_depth, class_weight="balanced", random_state=seed, min_samples_leaf=max(2, len(y) // 20)
    )
    tree.fit(X, y)
    bal = float(balanced_accuracy_score(y, tree.predict(X)))
    k = min(5, n_never, n_learn)
    cv = np.nan
    if k >= 2:
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        cv = float(balanced_accuracy_score(y, cross_val_predict(tree, X, y, cv=folds)))
    t = tree.tree_
    leaf = tree.apply(X)
    rows = []

    def walk(node, conds):
        if t.children_left[node] == -1:
            m = leaf == node
            rows.append((" and ".join(conds) or "all networks", len(conds), int(m.sum()), int(y[m].sum())))
            return
        f, thr = features[t.feature[node]], t.threshold[node]
        walk(t.children_left[node], conds + [f"{f} <= {thr:.4g}"])
        walk(t.children_right[node], conds + [f"{f} > {thr:.4g}"])

    walk(0, [])
    rules = pd.DataFrame(rows, columns=["rule", "depth", "networks", "never_learning"])
    rules["share"] = rules["never_learning"] / rules["networks"].where(rules["networks"] > 0)
    return LearningRules(tuple(features), rules, bal, cv, n_never, n_learn)


__all__ = [
    "NEVER_LEARNING",
    "NEITHER",
    "CONTRAST_COLUMNS",
    "LearningRules",
    "never_learns",
    "learning_contrast",
    "learning_rules",
    "FEATURE_LABELS",
    "STRUCTURE_COLUMNS",
    "CORRELATION_FEATURES",
    "TARGET_LABELS",
    "DEFAULT_TARGETS",
    "label",
    "structure_features",
    "extremes",
    "spread_ids",
    "describe_network",
    "seed_spread",
]
