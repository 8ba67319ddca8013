"""Shape classes given by eye, and how well ``nnlife.analyse.shapes`` agrees with them.

``read_shape_labels(path)`` reads a labels file such as the reference corpus's
``data/reference/shape-labels.csv`` (``#`` comment lines, then the columns id, file, label,
collapse_epoch, note); ``shape_agreement(labels, classified)`` compares the labels with the
classifier's (``classify_shapes``' table or the catalog's ``shape`` column) and returns the share
of agreement, the agreement per class and the confusion table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .shapes import LABELS

LABEL_COLUMNS = ("id", "file", "label", "collapse_epoch", "note")
LABELS_NAME = "shape-labels.csv"  # the labels file's name beside the tables (data/reference/)


def read_shape_labels(path) -> pd.DataFrame:
    """The labels file at ``path`` as a DataFrame (columns ``LABEL_COLUMNS``; collapse_epoch in
    epochs, nan unless collapsed). Raises ParameterError when the file is missing, lacks a column,
    repeats an id or names a class that ``nnlife.analyse.shapes`` does not know."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            f"no shape-labels file at {path}: pass the path of a CSV such as data/reference/shape-labels.csv"
        )
    df = pd.read_csv(path, comment="#", dtype={"id": str, "file": str, "label": str, "note": str})
    missing = [c for c in LABEL_COLUMNS if c not in df.columns]
    if missing:
        raise ParameterError(f"{path} has no column(s) {missing}; its columns must be {list(LABEL_COLUMNS)}")
    bad = sorted(set(df["label"]) - set(LABELS))
    if bad:
        raise ParameterError(f"{path} names unknown shape classes {bad}; known: {list(LABELS)}")
    dup = df["id"][df["id"].duplicated()].tolist()
    if dup:
        raise ParameterError(f"{path} labels the ids {dup[:5]} more than once: keep one label per curve")
    df["collapse_epoch"] = pd.to_numeric(df["collapse_epoch"], errors="coerce")
    df["note"] = df["note"].fillna("")
    return df[list(LABEL_COLUMNS)]


@dataclass(frozen=True)
class ShapeAgreement:
    """The classifier against labels given by eye."""

    agreement: float  # share of the labelled curves where both agree (0-1)
    n: int  # labelled curves compared
    per_class: pd.DataFrame  # per label: labelled, agreed, agreement (0-1), classified as it
    confusion: pd.DataFrame  # rows: label by eye, columns: classifier's label, with totals
    pairs: pd.DataFrame  # per curve: id, label, classified, agree


def shape_agreement(labels: pd.DataFrame, classified: pd.DataFrame, column: str = "label") -> ShapeAgreement:
    """Compare labels by eye (``read_shape_labels``) with the classifier's.

    classified: a table with ``id`` and the classifier's class in ``column`` (``classify_shapes``'
    output: "label"; the catalog table: "shape"). Only ids in both are compared. Raises
    ParameterError when no labelled id is classified or a column is missing.
    """
    for name, t, cols in (("labels", labels, ("id", "label")), ("classified", classified, ("id", column))):
        missing = [c for c in cols if c not in t.columns]
        if missing:
            raise ParameterError(f"{name} has no column(s) {missing}")
    got = classified.set_index("id")[column]
    pairs = labels[labels["id"].isin(got.index)][["id", "label"]].copy()
    if pairs.empty:
        raise ParameterError(
            "none of the labelled ids is in the classified table: classify the "
            "labelled curves (their files are in the labels' 'file' column)"
        )
    pairs["classified"] = got.loc[pairs["id"]].to_numpy()
    pairs["agree"] = pairs["label"] == pairs["classified"]
    order = [c for c in LABELS if c in set(pairs["label"]) | set(pairs["classified"])]
    confusion = pd.crosstab(
        pd.Categorical(pairs["label"], order),
        pd.Categorical(pairs["classified"], order),
        rownames=["by eye"],
        colnames=["classifier"],
        margins=True,
        margins_name="all",
        dropna=False,
    )
    per = pairs.groupby("label").agg(labelled=("agree", "size"), agreed=("agree", "sum"))
    per["agreement"] = per["agreed"] / per["labelled"]
    per["classified_as_it"] = pairs["classified"].value_counts().reindex(per.index).fillna(0).astype(int)
    per = per.reindex([c for c in order if c in per.index])
    return ShapeAgreement(
        agreement=float(np.mean(pairs["agree"])),
        n=len(pairs),
        per_class=per,
        confusion=confusion,
        pairs=pairs.reset_index(drop=True),
    )


def find_shape_labels(paths) -> list[Path]:
    """The ``shape-labels.csv`` files in the folders among ``paths`` (table files, folders or
    globs, as ``load_catalog`` takes them) or in their parent folders (a batch folder of
    ``data/reference/`` finds ``data/reference/shape-labels.csv``); each file once."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    found = []
    for p in paths:
        p = Path(p)
        folder = p if p.is_dir() else p.parent
        for f in (folder / LABELS_NAME, folder.parent / LABELS_NAME):
            if f.is_file() and f.resolve() not in found:
                found.append(f.resolve())
    return found


def agreement_for(paths, table: pd.DataFrame, column: str = "shape") -> ShapeAgreement | None:
    """``shape_agreement`` of the labels files found for ``paths`` (``find_shape_labels``; or the
    labels files themselves) with the catalog ``table``'s ``column``; None when no labelled
    curve is in the table."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files = [Path(p) for p in paths if str(p).endswith(".csv")] or find_shape_labels(paths)
    if not files:
        return None
    labels = pd.concat([read_shape_labels(f) for f in files], ignore_index=True)
    labels = labels.drop_duplicates("id", keep="last")
    if not labels["id"].isin(table["id"]).any():
        return None
    return shape_agreement(labels, table, column=column)


def describe_agreement(a: ShapeAgreement) -> str:
    """The agreement in words (Markdown): overall, and the classes where the classifier and the
    labels part most."""
    text = f"The classifier agrees with the labels by eye on **{int(a.pairs['agree'].sum())} of {a.n}** "
    text += f"labelled curves (**{a.agreement:.0%}**)."
    off = a.pairs[~a.pairs["agree"]].groupby(["label", "classified"]).size().sort_values(ascending=False)
    if len(off):
        parts = [f"{n} labelled {lab} by eye, classified {got}" for (lab, got), n in off.head(3).items()]
        text += " Most disagreements: " + "; ".join(parts) + "."
    return text


__all__ = [
    "LABEL_COLUMNS",
    "LABELS_NAME",
    "ShapeAgreement",
    "agreement_for",
    "describe_agreement",
    "find_shape_labels",
    "read_shape_labels",
    "shape_agreement",
]
