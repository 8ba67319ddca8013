"""The learned early predictor: gradient-boosted trees on what the first epochs show.

``train_predictor(curves, catalog=None)`` learns, from complete curves, to predict the validation
accuracy at a target epoch (default: the last epoch of the training curves) from a curve cut
off at any epoch c from 1 to before the target; ``Predictor.predict(partial, catalog)`` returns
id, cutoff, predicted, lower, upper (an 80 % interval). This module is the one place to import
it from; the pieces live in small modules:

- ``prefix``: the features of a curve prefix (values, slopes, the fitted families'
  extrapolations, the losses and the generalization gap so far);
- ``predictor_input``: the checks of the curves and catalog a user passes, the structure and
  hyperparameter features (``STRUCTURE_FEATURES``) and the folds grouped by network;
- ``training_rows``: the training set (every complete curve cut at ``FEATURE_CUTOFFS``);
- ``trees``: scikit-learn's ``HistGradientBoostingRegressor`` as plain arrays, evaluated in numpy;
- ``conformal``: the interval calibration (conformalized quantile regression, Romano, Patterson
  & Candes 2019, out of fold and per cut-off);
- ``predictor``: ``Predictor``, ``fit_predictor``, ``train_predictor``;
- ``predictor_file``: ``Predictor.save`` / ``load_predictor``, a ``.npz`` of numeric arrays and a
  JSON header read with ``numpy.load(allow_pickle=False)``: loading cannot run code, and
  predicting needs neither scikit-learn nor pickle.

The method follows Baker et al. (2017, "Accelerating Neural Architecture Search using
Performance Prediction"), who regress the final accuracy on the partial curve, its slopes and
the hyperparameters (nu-SVR and others), with one model per cut-off; here one model over all
cut-offs (the cut-off is a feature) of gradient-boosted trees, fitted with the pinball loss for
the quantiles 0.1, 0.5 and 0.9.
"""

from __future__ import annotations

from ..errors import PredictorFileError
from .conformal import conformal_quantile
from .predictor import ANCHOR, CALIBRATION_FOLDS, LEVEL, QUANTILES, Predictor, fit_predictor, train_predictor
from .predictor_file import FORMAT, FORMAT_VERSION, load_predictor
from .predictor_input import STRUCTURE_FEATURES, fold_of, groups_of
from .prefix import (
    CURVE_FEATURES,
    ENSEMBLE_FAMILIES,
    FEATURE_FAMILIES,
    ONSET_POINTS,
    VALUE_EPOCHS,
    prefix_features,
)
from .training_rows import FEATURE_CUTOFFS, MIN_CUTOFF, MIN_NETWORKS, TrainingSet, training_set
from .trees import BOOSTING, TREE_ARRAYS

# the names nnlife.analyse.crossfit imported from here before the split
_conformal = conformal_quantile
_groups = groups_of


def nnlife_catalog_type():
    """The ``Catalog`` class (kept from before the split)."""
    from .catalog import Catalog

    return Catalog


__all__ = [
    "ANCHOR",
    "BOOSTING",
    "CALIBRATION_FOLDS",
    "CURVE_FEATURES",
    "ENSEMBLE_FAMILIES",
    "FEATURE_CUTOFFS",
    "FEATURE_FAMILIES",
    "FORMAT",
    "FORMAT_VERSION",
    "LEVEL",
    "MIN_CUTOFF",
    "MIN_NETWORKS",
    "ONSET_POINTS",
    "Predictor",
    "PredictorFileError",
    "QUANTILES",
    "STRUCTURE_FEATURES",
    "TREE_ARRAYS",
    "TrainingSet",
    "VALUE_EPOCHS",
    "fit_predictor",
    "fold_of",
    "load_predictor",
    "prefix_features",
    "train_predictor",
    "training_set",
]
