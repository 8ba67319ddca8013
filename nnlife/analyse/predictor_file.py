"""The file of a saved predictor: one ``.npz`` of plain arrays and a JSON header, never a pickle.

``save_predictor(p, path)`` (``Predictor.save``) writes the header (``predictor_header``: format,
version, target epoch, feature names, datasets, conformal corrections, settings) as a string
array and every model's tree arrays (``nnlife.analyse.trees``) as ``<model>.<array>``;
``load_predictor(path)`` reads them with ``numpy.load(allow_pickle=False)``, so a file a user
receives cannot run code when loaded, and checks every array before it is used.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

import nnlife

from ..atomic import atomic_write
from ..errors import PredictorFileError
from .predictor import ANCHOR, QUANTILES, Predictor
from .trees import BOOSTING, TREE_ARRAYS

FORMAT = "nnlife-predictor"  # the "format" of a saved predictor's header
FORMAT_VERSION = 1  # bumped when a file of the previous version no longer reads


def predictor_header(p: Predictor) -> dict:
    """The JSON header of a saved predictor (everything but the tree arrays)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnlife_version": nnlife.__version__,
        "target_epoch": p.target_epoch,
        "features": list(p.features),
        "structure": p.structure,
        "datasets": list(p.datasets),
        "cutoffs": list(p.cutoffs),
        "corrections": list(p.corrections),
        "n_networks": p.n_networks,
        "n_groups": p.n_groups,
        "seed": p.seed,
        "calibration_folds": p.calibration_folds,
        "level": p.level,
        "quantiles": list(QUANTILES),
        "anchor": ANCHOR,
        "boosting": BOOSTING,
    }


def save_predictor(p: Predictor, path) -> Path:
    """Write ``p`` to ``path`` (a .npz file: a JSON header and numeric arrays only), atomically.
    Returns the path."""
    path = Path(path)
    arrays = {"header": np.array(json.dumps(predictor_header(p)))}
    for name, t in p.models.items():
        for k, v in t.items():
            arrays[f"{name}.{k}"] = np.asarray(v)
    return atomic_write(path, write=lambda fh: np.savez_compressed(fh, **arrays))


def load_predictor(path) -> Predictor:
    """Read a predictor written by ``Predictor.save``.

    The file is read with ``numpy.load(allow_pickle=False)``: only plain numeric and string
    arrays are accepted, so a crafted file cannot run code. Raises PredictorFileError (a
    ValueError) naming the file when it is not such a predictor (FileNotFoundError when absent).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no predictor file at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise PredictorFileError(f"{path}: not a saved nnlife predictor ({e})") from None
    try:
        head = json.loads(str(arrays.pop("header")))
    except (KeyError, ValueError) as e:
        raise PredictorFileError(f"{path}: no readable header ({e})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise PredictorFileError(
            f"{path}: not a saved nnlife predictor (format "
            f"{head.get('format') if isinstance(head, dict) else head!r})"
        )
    if head.get("format_version") != FORMAT_VERSION:
        raise PredictorFileError(
            f"{path}: predictor format {head.get('format_version')}, this "
            f"nnlife reads {FORMAT_VERSION}: train it again"
        )
    n_features = len(head.get("features") or [])
    models = {name: _tree_arrays(arrays, name, n_features, path) for name in ("lower", "median", "upper")}
    try:
        return Predictor(
            target_epoch=float(head["target_epoch"]),
            features=tuple(head["features"]),
            structure=bool(head["structure"]),
            datasets=tuple(head["datasets"]),
            cutoffs=tuple(float(c) for c in head["cutoffs"]),
            corrections=tuple(float(c) for c in head["corrections"]),
            n_networks=int(head["n_networks"]),
            n_groups=int(head["n_groups"]),
            seed=int(head["seed"]),
            models=models,
            level=float(head["level"]),
            calibration_folds=_optional_int(head.get("calibration_folds")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise PredictorFileError(f"{path}: header lacks or has a bad field ({e})") from None


def _optional_int(v):
    """An optional header field (absent in files written before it was recorded): int or None."""
    return None if v is None else int(v)


def _tree_arrays(arrays: dict, name: str, n_features: int, path) -> dict:
    """The arrays of model ``name``, checked: node arrays of one length and of the right kinds,
    child and root indices inside the model, feature indices below ``n_features``."""
    try:
        t = {k: arrays[f"{name}.{k}"] for k in TREE_ARRAYS + ("baseline",)}
    except KeyError as e:
        raise PredictorFileError(f"{path}: model {name!r} lacks the array {e}") from None
    n = t["value"].size
    kinds = {"threshold": "f", "value": "f", "baseline": "f", "missing_left": "b", "leaf": "b"}
    for k, kind in kinds.items():
        if t[k].dtype.kind != kind or (k != "baseline" and t[k].shape != (n,)):
            raise PredictorFileError(f"{path}: model {name!r} has a bad {k!r} array")
    for k, bound in (("left", n), ("right", n), ("roots", n), ("feature", n_features)):
        a = t[k]
        shape_ok = k == "roots" or a.shape == (n,)
        if a.dtype.kind not in "iu" or not shape_ok or (a.size and (a.min() < 0 or a.max() >= bound)):
            raise PredictorFileError(f"{path}: model {name!r} has a bad {k!r} array")
    return t


__all__ = ["FORMAT", "FORMAT_VERSION", "load_predictor", "predictor_header", "save_predictor"]
