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


__all__ = [
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
