"""The learned predictor's inputs, checked and looked up: curves, datasets, structure, groups.

Each function takes what a user passes to ``train_predictor`` or ``Predictor.predict`` (long-form
curves, a catalog table or ``Catalog``) and either returns the arrays the predictor computes on or
raises ``ParameterError`` naming the input and the fix. ``fold_of`` draws the folds grouped by
network that the calibration and the cross-validation share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import EPOCH, VAL_ACC
from ..errors import ParameterError

# catalog columns used as structure and hyperparameter features (numeric; nan when absent)
STRUCTURE_FEATURES = (
    "n_conv",
    "n_hidden_fc",
    "log10_params",
    "log10_flops",
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
    "log10_learning_rate",
    "momentum",
    "dampening",
    "weight_decay",
    "train_size",
)


def long_curves(curves, what: str) -> pd.DataFrame:
    """``curves`` in long form with string ids and numeric epochs (rows without an epoch
    dropped). Raises ParameterError naming ``what`` when it is empty or lacks epoch / val_acc."""
    from .long import as_long

    df = as_long(curves)
    if len(df) == 0:
        raise ParameterError(
            f"{what} is empty: pass learning curves in long form "
            "(id, epoch, val_acc, ...), e.g. nnlife.load_catalog(path).curves"
        )
    missing = [c for c in (EPOCH, VAL_ACC) if c not in df.columns]
    if missing:
        raise ParameterError(f"{what} lacks the columns {missing} (columns: {list(df.columns)})")
    df = df.assign(id=df["id"].astype(str))
    ep = pd.to_numeric(df[EPOCH], errors="coerce")
    return df.assign(**{EPOCH: ep})[np.isfinite(ep.to_numpy(dtype=float))]


def datasets_of(df: pd.DataFrame, catalog, what: str, known=None) -> pd.Series:
    """Dataset of every id (original spellings), from the curves or the catalog."""
    from ..datasets import canonical_name

    ids = pd.unique(df["id"])
    if "dataset" in df.columns and df["dataset"].notna().all():
        ds = df.groupby("id")["dataset"].first()
    elif catalog is not None and "dataset" in catalog.columns:
        ds = catalog.assign(id=catalog["id"].astype(str)).set_index("id")["dataset"].reindex(ids)
    elif known is not None and len(known) == 1:
        ds = pd.Series(known[0], index=ids)  # a predictor of one dataset: that one
    else:
        raise ParameterError(
            f"{what} has no 'dataset' column and no catalog gives one: add it "
            "(the catalog's long form has it)"
        )
    bad = ds.index[ds.isna()].tolist()
    if bad:
        raise ParameterError(f"{what}: no dataset known for {len(bad)} id(s), e.g. {bad[:3]}")
    out = {}
    for i, d in ds.items():
        try:
            out[i] = canonical_name(d)
        except ValueError as e:
            raise ParameterError(f"{what}: id {i}: {e}") from None
    return pd.Series(out).reindex(ids)


def structure_matrix(catalog, ids, what: str) -> np.ndarray:
    """(len(ids), len(STRUCTURE_FEATURES)) structure features from the catalog table."""
    catalog = catalog_table(catalog)
    if not isinstance(catalog, pd.DataFrame) or "id" not in catalog.columns:
        raise ParameterError(
            f"catalog must be the catalog table (Catalog.table) with an 'id' "
            f"column, got {type(catalog).__name__}"
        )
    t = catalog.assign(id=catalog["id"].astype(str)).drop_duplicates("id").set_index("id")
    missing = [i for i in ids if i not in t.index]
    if missing:
        raise ParameterError(
            f"{what}: {len(missing)} id(s) are not in the catalog, e.g. "
            f"{missing[:3]}; pass the catalog of these curves"
        )
    cols = {
        c: pd.to_numeric(t[c], errors="coerce") if c in t.columns else pd.Series(np.nan, index=t.index)
        for c in STRUCTURE_FEATURES
    }
    return pd.DataFrame(cols).reindex(list(ids)).to_numpy(dtype=float)


def groups_of(catalog, ids) -> np.ndarray:
    """Group of every id for grouped folds: the catalog's net_id (all seeds of one network
    together), else the id itself."""
    ids = [str(i) for i in ids]
    if catalog is not None:
        t = catalog_table(catalog)
        if isinstance(t, pd.DataFrame) and "net_id" in t.columns and "id" in t.columns:
            g = t.assign(id=t["id"].astype(str)).drop_duplicates("id").set_index("id")["net_id"]
            g = g.reindex(ids)
            return np.where(g.notna(), g.astype(str), np.asarray(ids, dtype=object)).astype(str)
    return np.asarray(ids, dtype=str)


def fold_of(groups, n_folds: int, seed=0) -> np.ndarray:
    """Fold (0 .. n_folds-1) of each entry of ``groups``: whole groups, drawn with ``seed``."""
    uniq = np.unique(np.asarray(groups, dtype=str))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    fold = {g: k % n_folds for k, g in enumerate(rng.permutation(uniq))}
    return np.array([fold[g] for g in np.asarray(groups, dtype=str)], dtype=int)


def catalog_table(catalog):
    """The catalog table of ``catalog`` (a ``Catalog`` or its table; None stays None)."""
    from .catalog import Catalog  # imported on use: it brings the Parquet cache with it

    return catalog.table if isinstance(catalog, Catalog) else catalog


__all__ = [
    "STRUCTURE_FEATURES",
    "catalog_table",
    "datasets_of",
    "fold_of",
    "groups_of",
    "long_curves",
    "structure_matrix",
]
